import { describe, expect, it } from "vitest";
import { brown, mobyDickParagraphs, sotu } from "../test/corpora.js";
import { csrTranspose, type CsrMatrix } from "../tfidf/csr.js";
import { TfidfVectorizer } from "../tfidf/tfidf.js";
import { LsaEncoder } from "./lsa.js";

/** n×n cosine similarities of dense rows. */
function denseCosines(x: Float32Array, n: number, d: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    norms[i] = Math.sqrt(s) || 1;
  }
  const sim = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let o = i; o < n; o++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * x[o * d + j]!;
      sim[i * n + o] = sim[o * n + i] = s / norms[i]! / norms[o]!;
    }
  }
  return sim;
}

/** n×n cosine similarities of sparse rows (one pass over the columns: Σ df² work). */
function sparseCosines(x: CsrMatrix): Float64Array {
  const n = x.rows;
  const t = csrTranspose(x);
  const sim = new Float64Array(n * n);
  for (let j = 0; j < t.rows; j++) {
    for (let p = t.indptr[j]!; p < t.indptr[j + 1]!; p++) {
      for (let q = t.indptr[j]!; q < t.indptr[j + 1]!; q++) sim[t.indices[p]! * n + t.indices[q]!]! += t.data[p]! * t.data[q]!;
    }
  }
  const norms = Float64Array.from({ length: n }, (_, i) => Math.sqrt(sim[i * n + i]!) || 1);
  for (let i = 0; i < n; i++) for (let o = 0; o < n; o++) sim[i * n + o]! /= norms[i]! * norms[o]!;
  return sim;
}

/** Leave-one-out k-NN accuracy (majority vote, ties to the nearer label) from a similarity matrix. */
function knnAccuracy(sim: Float64Array, labels: readonly string[], k: number): number {
  const n = labels.length;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const near = Array.from({ length: n }, (_, o) => o)
      .filter((o) => o !== i)
      .sort((a, b) => sim[i * n + b]! - sim[i * n + a]!)
      .slice(0, k);
    const votes = new Map<string, number>();
    for (const o of near) votes.set(labels[o]!, (votes.get(labels[o]!) ?? 0) + 1);
    const best = Math.max(...votes.values());
    if (labels[near.find((o) => votes.get(labels[o]!) === best)!] === labels[i]) ok++;
  }
  return ok / n;
}

function majorityShare(labels: readonly string[]): number {
  const c = new Map<string, number>();
  for (const l of labels) c.set(l, (c.get(l) ?? 0) + 1);
  return Math.max(...c.values()) / labels.length;
}

describe("LsaEncoder", () => {
  it("Brown corpus: documents of one genre are nearer in 100-d LSA than in raw counts", async () => {
    const docs = brown();
    const texts = docs.map((d) => d.text);
    const genres = docs.map((d) => d.genre);
    expect(new Set(genres).size).toBe(15);
    const lsa = await LsaEncoder.fit(texts, { components: 100, tfidf: { stopWords: "english", sublinearTf: true, minDf: 2 } });
    expect(lsa.space.dim).toBe(100);
    const acc = knnAccuracy(denseCosines(lsa.documentVectors!, texts.length, 100), genres, 10);
    const raw = knnAccuracy(sparseCosines(new TfidfVectorizer({ useIdf: false, norm: "none" }).fitTransform(texts)), genres, 10);
    const chance = majorityShare(genres);
    console.log(`Brown genre 10-NN accuracy: LSA-100 ${acc.toFixed(3)}, raw counts ${raw.toFixed(3)}, majority class ${chance.toFixed(3)}`);
    expect(acc).toBeGreaterThan(2.5 * chance);
    expect(acc).toBeGreaterThan(raw + 0.1);
    // The variance LSA keeps: a share of the whole, decreasing along the components.
    const ratio = lsa.explainedVarianceRatio;
    const kept = ratio.reduce((a, b) => a + b, 0);
    expect(kept).toBeGreaterThan(0.1);
    expect(kept).toBeLessThan(1);
    for (let c = 1; c < 100; c++) expect(lsa.singularValues[c]!).toBeLessThanOrEqual(lsa.singularValues[c - 1]!);
  });

  it("State of the Union: a speech's nearest speech is mostly by the same president", async () => {
    const speeches = sotu();
    expect(speeches.length).toBe(233);
    const texts = speeches.map((s) => s.text);
    const names = speeches.map((s) => s.name);
    const lsa = await LsaEncoder.fit(texts, { components: 100, tfidf: { stopWords: "english", sublinearTf: true } });
    const acc = knnAccuracy(denseCosines(lsa.documentVectors!, texts.length, 100), names, 1);
    const raw = knnAccuracy(sparseCosines(new TfidfVectorizer({ useIdf: false, norm: "none" }).fitTransform(texts)), names, 1);
    console.log(`SOTU same-president 1-NN: LSA-100 ${acc.toFixed(3)}, raw counts ${raw.toFixed(3)}, majority ${majorityShare(names).toFixed(3)}`);
    expect(acc).toBeGreaterThan(0.8);
    expect(acc).toBeGreaterThan(raw + 0.1);
    // A new text lands near the speeches of its time: Washington's first address, re-encoded.
    const again = await lsa.encode([texts[0]!]);
    const sims = denseCosines(new Float32Array([...again, ...lsa.documentVectors!]), texts.length + 1, 100);
    const nearest = Array.from({ length: texts.length }, (_, i) => i).sort((a, b) => sims[b + 1]! - sims[a + 1]!)[0]!;
    expect(nearest).toBe(0);
  });

  it("encodes new texts as TF-IDF × Vᵀ; saves and loads to the same vectors", async () => {
    const paragraphs = [1, 2, 3].flatMap((c) => mobyDickParagraphs(c));
    const lsa = await LsaEncoder.fit(paragraphs, { components: 20, seed: 7 });
    const fresh = mobyDickParagraphs(4);
    const v = await lsa.encode(fresh);
    expect(v.length).toBe(fresh.length * 20);
    const x = lsa.vectorizer.transform(fresh);
    const d = lsa.vectorizer.vocabulary.length;
    for (let i = 0; i < fresh.length; i++) {
      for (const c of [0, 5, 19]) {
        let s = 0;
        for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) s += x.data[p]! * lsa.components[c * d + x.indices[p]!]!;
        expect(v[i * 20 + c]).toBeCloseTo(s, 5);
      }
    }
    const art = lsa.save();
    expect(art.kind).toBe("encoders-text/lsa");
    const back = LsaEncoder.load(art);
    expect(back.space).toEqual(lsa.space);
    expect(await back.encode(fresh)).toEqual(v);
    expect(Array.from(back.explainedVarianceRatio)).toEqual(Array.from(lsa.explainedVarianceRatio));
    expect(back.topTerms(0, 5)).toEqual(lsa.topTerms(0, 5));
    expect(() => LsaEncoder.load({ ...art, kind: "encoders-text/tfidf" })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_KIND" }));
    const { "components.npy": _drop, ...rest } = art.files;
    expect(() => LsaEncoder.load({ ...art, files: rest })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_FORMAT" }));
    // Another fit is another space.
    const other = await LsaEncoder.fit(paragraphs, { components: 20, seed: 8 });
    expect(other.space.id).not.toBe(lsa.space.id);
  });

  it("refuses too few documents, empty texts and use after dispose", async () => {
    const few = mobyDickParagraphs(1);
    await expect(LsaEncoder.fit(few, { components: 100 })).rejects.toMatchObject({ code: "E_TOO_FEW_POINTS" });
    await expect(LsaEncoder.fit([...few, ""], { components: 5 })).rejects.toMatchObject({ code: "E_EMPTY_TEXT" });
    const lsa = await LsaEncoder.fit(few, { components: 5 });
    await expect(lsa.encode(["whale", " "])).rejects.toMatchObject({ code: "E_EMPTY_TEXT" });
    await lsa.dispose();
    await expect(lsa.encode(["whale"])).rejects.toMatchObject({ code: "E_DISPOSED" });
  });
});
