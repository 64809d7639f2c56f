import { describe, expect, it } from "vitest";
import { brown, mobyDickParagraphs } from "../test/corpora.js";
import { Analyzer, englishStopWords } from "./analyzer.js";
import { csrRow, csrToDense, type CsrMatrix } from "./csr.js";
import { TFIDF_DENSE_LIMIT, TfidfEncoder } from "./tfidf-encoder.js";
import { TfidfVectorizer, type TfidfOptions } from "./tfidf.js";

// The reference below is written from scikit-learn's documented definitions, not from our code:
// tokens = runs of ≥ 2 Unicode word characters of the lower-cased text; idf = ln((1 + n)/(1 + df)) + 1
// (smooth) or ln(n/df) + 1; tf = count (or 1 + ln(count) sublinear); rows divided by their l2 / l1 norm.
function reference(texts: string[], o: { smooth?: boolean; sublinear?: boolean; norm?: "l2" | "l1" | "none"; binary?: boolean } = {}) {
  const docs = texts.map((t) => {
    const c = new Map<string, number>();
    for (const w of t.toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu) ?? []) c.set(w, (c.get(w) ?? 0) + 1);
    return c;
  });
  const df = new Map<string, number>();
  for (const d of docs) for (const w of d.keys()) df.set(w, (df.get(w) ?? 0) + 1);
  const n = texts.length;
  const idf = new Map([...df].map(([w, k]) => [w, o.smooth === false ? Math.log(n / k) + 1 : Math.log((1 + n) / (1 + k)) + 1]));
  const rows = docs.map((d) => {
    const r = new Map<string, number>();
    for (const [w, c] of d) {
      const tf = o.binary ? 1 : o.sublinear ? 1 + Math.log(c) : c;
      r.set(w, tf * idf.get(w)!);
    }
    const norm = o.norm ?? "l2";
    const z = norm === "l2" ? Math.sqrt([...r.values()].reduce((a, v) => a + v * v, 0)) : norm === "l1" ? [...r.values()].reduce((a, v) => a + Math.abs(v), 0) : 1;
    for (const [w, v] of r) r.set(w, v / z);
    return r;
  });
  return { idf, df, rows };
}

function rowMap(m: CsrMatrix, i: number, vocab: readonly string[]): Map<string, number> {
  const [idx, val] = csrRow(m, i);
  return new Map(Array.from(idx, (j, p) => [vocab[j]!, val[p]!]));
}

const moby = mobyDickParagraphs(1);

describe("TfidfVectorizer", () => {
  it("builds scikit-learn's vocabulary of its documentation example", () => {
    const corpus = ["This is the first document.", "This document is the second document.", "And this is the third one.", "Is this the first document?"];
    const v = new TfidfVectorizer();
    const x = v.fitTransform(corpus);
    // get_feature_names_out() in scikit-learn's TfidfVectorizer docstring.
    expect(v.vocabulary).toEqual(["and", "document", "first", "is", "one", "second", "the", "third", "this"]);
    expect([x.rows, x.cols]).toEqual([4, 9]);
    expect(v.idf[v.indexOf("document")]).toBeCloseTo(Math.log(5 / 4) + 1, 14);
    expect(v.idf[v.indexOf("and")]).toBeCloseTo(Math.log(5 / 2) + 1, 14);
  });

  for (const o of [{}, { smooth: false }, { sublinear: true }, { norm: "l1" as const }, { norm: "none" as const, binary: true }]) {
    it(`matches the documented formulas on Moby-Dick chapter 1 (${JSON.stringify(o)})`, () => {
      const ref = reference(moby, o);
      const opts: TfidfOptions = { smoothIdf: o.smooth ?? true, sublinearTf: o.sublinear ?? false, norm: o.norm ?? "l2", binary: o.binary ?? false };
      const v = new TfidfVectorizer(opts);
      const x = v.fitTransform(moby);
      expect(x.rows).toBe(moby.length);
      expect(new Set(v.vocabulary)).toEqual(new Set(ref.df.keys()));
      expect([...v.vocabulary]).toEqual([...ref.df.keys()].sort());
      for (let j = 0; j < v.vocabulary.length; j++) {
        expect(v.documentFrequency[j]).toBe(ref.df.get(v.vocabulary[j]!));
        expect(v.idf[j]).toBeCloseTo(ref.idf.get(v.vocabulary[j]!)!, 12);
      }
      let checked = 0;
      for (let i = 0; i < x.rows; i++) {
        const got = rowMap(x, i, v.vocabulary);
        expect(got.size).toBe(ref.rows[i]!.size);
        for (const [w, val] of ref.rows[i]!) {
          expect(got.get(w)).toBeCloseTo(val, 12);
          checked++;
        }
        // Column indices ascend within a row, as scipy's sorted CSR.
        const [idx] = csrRow(x, i);
        for (let p = 1; p < idx.length; p++) expect(idx[p]!).toBeGreaterThan(idx[p - 1]!);
      }
      expect(checked).toBeGreaterThan(500);
      // transform of the fit corpus gives the same matrix as fitTransform.
      const again = v.transform(moby);
      expect(Array.from(again.indptr)).toEqual(Array.from(x.indptr));
      expect(Array.from(again.data)).toEqual(Array.from(x.data));
    });
  }

  it("prunes by document frequency (counts and fractions) and keeps the most frequent terms", () => {
    const ref = reference(moby);
    const n = moby.length;
    const byDf = (keep: (df: number) => boolean) => [...ref.df].filter(([, d]) => keep(d)).map(([w]) => w).sort();
    expect(new TfidfVectorizer({ minDf: 2 }).fit(moby).vocabulary).toEqual(byDf((d) => d >= 2));
    expect(new TfidfVectorizer({ minDf: 0.2 }).fit(moby).vocabulary).toEqual(byDf((d) => d >= 0.2 * n));
    expect(new TfidfVectorizer({ maxDf: 0.5 }).fit(moby).vocabulary).toEqual(byDf((d) => d <= 0.5 * n));
    expect(new TfidfVectorizer({ maxDf: 3 }).fit(moby).vocabulary).toEqual(byDf((d) => d <= 3));
    const pruned = new TfidfVectorizer({ minDf: 2, maxDf: 0.5 });
    pruned.fit(moby);
    expect(pruned.vocabulary).toEqual(byDf((d) => d >= 2 && d <= 0.5 * n));
    // idf after pruning still uses all n documents.
    expect(pruned.idf[0]).toBeCloseTo(Math.log((1 + n) / (1 + ref.df.get(pruned.vocabulary[0]!)!)) + 1, 12);

    const total = new Map<string, number>();
    for (const t of moby) for (const w of t.toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu)!) total.set(w, (total.get(w) ?? 0) + 1);
    const top = new TfidfVectorizer({ maxFeatures: 40 }).fit(moby).vocabulary;
    expect(top.length).toBe(40);
    const kept = new Set(top);
    const minKept = Math.min(...top.map((w) => total.get(w)!));
    const maxDropped = Math.max(...[...total].filter(([w]) => !kept.has(w)).map(([, c]) => c));
    expect(minKept).toBeGreaterThanOrEqual(maxDropped);
    expect(kept.has("the")).toBe(true);
  });

  it("removes stop words before forming bigrams; ngramRange [1, 2] adds word pairs", () => {
    const a = new Analyzer({ stopWords: "english", ngramRange: [1, 2] });
    expect(a.analyze("The white whale and the sea!")).toEqual(["white", "whale", "sea", "white whale", "whale sea"]);
    expect(new Analyzer({ ngramRange: [2, 2] }).analyze("Call me Ishmael")).toEqual(["call me", "me ishmael"]);
    const v = new TfidfVectorizer({ stopWords: "english", ngramRange: [1, 2] }).fit(moby);
    const stop = new Set(englishStopWords());
    expect(stop.has("the") && stop.has("of")).toBe(true);
    for (const term of v.vocabulary) for (const w of term.split(" ")) expect(stop.has(w)).toBe(false);
    expect(v.indexOf("ishmael")).toBeGreaterThanOrEqual(0);
    expect(v.vocabulary.filter((t) => t.includes(" ")).length).toBeGreaterThan(500);
    // A user list works as well.
    expect(new TfidfVectorizer({ stopWords: ["whale", "sea"] }).fit(moby).indexOf("sea")).toBe(-1);
  });

  it("tokenises Unicode text like Python's (?u)\\b\\w\\w+\\b", () => {
    const a = new Analyzer();
    expect(a.tokens("Straße über 東京 naïve x1 a _b 3 Ω δδ ab-cd don't")).toEqual(["straße", "über", "東京", "naïve", "x1", "_b", "δδ", "ab", "cd", "don"]);
    expect(new Analyzer({ lowercase: false }).tokens("Über Alles")).toEqual(["Über", "Alles"]);
    // A custom pattern with one group uses the group; two groups are refused as scikit-learn does.
    expect(new Analyzer({ tokenPattern: "#(\\w+)" }).tokens("tags #whale and #sea")).toEqual(["whale", "sea"]);
    expect(() => new Analyzer({ tokenPattern: "(a)(b)" })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new Analyzer({ tokenPattern: "(" })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
  });

  it("ignores unknown terms in transform; a text with none gives a zero row", () => {
    const v = new TfidfVectorizer().fit(moby);
    const x = v.transform(["Queequeg harpooned the whale", "zzzz qqqq"]);
    expect(rowMap(x, 0, v.vocabulary).has("queequeg")).toBe(false);
    expect(rowMap(x, 0, v.vocabulary).get("whale")).toBeGreaterThan(0);
    expect(x.indptr[2]! - x.indptr[1]!).toBe(0);
  });

  it("saves and loads: same vocabulary, idf and rows", () => {
    const v = new TfidfVectorizer({ stopWords: "english", sublinearTf: true, ngramRange: [1, 2], minDf: 2 });
    const x = v.fitTransform(moby);
    const art = v.save();
    expect(art.kind).toBe("encoders-text/tfidf");
    const w = TfidfVectorizer.load(art);
    expect(w.vocabulary).toEqual(v.vocabulary);
    expect(Array.from(w.idf)).toEqual(Array.from(v.idf));
    expect(w.space).toEqual(v.space);
    expect(Array.from(w.transform(moby).data)).toEqual(Array.from(x.data));
    expect(() => TfidfVectorizer.load({ ...art, kind: "reducers/pca" })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_KIND" }));
    expect(() => TfidfVectorizer.load({ ...art, files: {} })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_FORMAT" }));
  });

  it("refuses bad input with clear errors", () => {
    expect(() => new TfidfVectorizer().fit(["whale", "   "])).toThrow(expect.objectContaining({ code: "E_EMPTY_TEXT" }));
    expect(() => new TfidfVectorizer().transform(["whale"])).toThrow(expect.objectContaining({ code: "E_NOT_FITTED" }));
    expect(() => new TfidfVectorizer({ minDf: 1.5 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TfidfVectorizer({ maxDf: 2.5 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TfidfVectorizer({ maxFeatures: 0 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TfidfVectorizer({ ngramRange: [2, 1] })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TfidfVectorizer({ norm: "max" as never })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TfidfVectorizer({ minDf: 10, maxDf: 0.1 }).fit(moby)).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TfidfVectorizer({ stopWords: "english" }).fit(["the of and", "a an"])).toThrow(expect.objectContaining({ code: "E_EMPTY_VOCABULARY" }));
  });
});

describe("TfidfEncoder", () => {
  it("gives the dense rows of the vectorizer, in a space named after the fit", async () => {
    const enc = TfidfEncoder.fit(moby, { stopWords: "english" });
    const out = await enc.encode(moby.slice(0, 3));
    expect(out).toEqual(csrToDense(enc.vectorizer.transform(moby.slice(0, 3))));
    expect(enc.space.dim).toBe(enc.vectorizer.vocabulary.length);
    expect(enc.space.normalized).toBe(true);
    const other = TfidfEncoder.fit(mobyDickParagraphs(2), { stopWords: "english" });
    expect(other.space.id).not.toBe(enc.space.id);
    await enc.dispose();
    await expect(enc.encode(["whale"])).rejects.toMatchObject({ code: "E_DISPOSED" });
  });

  it("refuses vocabularies too wide for dense vectors and points to maxFeatures or LSA", () => {
    const texts = brown().map((d) => d.text);
    const v = new TfidfVectorizer().fit(texts);
    expect(v.vocabulary.length).toBeGreaterThan(TFIDF_DENSE_LIMIT);
    try {
      new TfidfEncoder(v);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: "E_TOO_WIDE" });
      expect((e as { hint: string }).hint).toMatch(/maxFeatures.*LSA/);
    }
    expect(TfidfEncoder.fit(texts, { maxFeatures: 4096 }).space.dim).toBe(4096);
  });
});
