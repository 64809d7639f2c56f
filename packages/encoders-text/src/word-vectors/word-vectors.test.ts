import { cosineDistance } from "@latentflow/core/kernels";
import { describe, expect, it } from "vitest";
import { loadGlove } from "../glove/glove.js";
import { wordTokens } from "./tokenize.js";
import { WordVectors } from "./word-vectors.js";
import { errorOf } from "@latentflow/core/testing";

// The real GloVe 6B 100-d vectors (converted once into the user cache dir; later loads take < 1 s).
const wv = await loadGlove();

const cos = (a: Float32Array, b: Float32Array): number => 1 - cosineDistance(a, b);

describe("WordVectors on GloVe 6B 100-d", () => {
  it("keeps GloVe's frequency order", () => {
    expect(wv.size).toBe(341479);
    expect(wv.words.slice(0, 6)).toEqual(["the", ",", ".", "of", "to", "and"]);
    // Common words come long before rare ones.
    expect(wv.indexOf("government")).toBeLessThan(1000);
    expect(wv.indexOf("queen")).toBeLessThan(wv.indexOf("monarch"));
  });

  it("king − man + woman = queen (3CosAdd and 3CosMul), question words never answers", () => {
    const add = wv.analogy("man", "king", "woman", { k: 5 });
    expect(add[0]!.word).toBe("queen");
    expect(add.map((n) => n.word)).not.toContain("king");
    expect(add.map((n) => n.word)).not.toContain("woman");
    for (let i = 1; i < add.length; i++) expect(add[i]!.score).toBeLessThanOrEqual(add[i - 1]!.score);
    expect(wv.analogy("man", "king", "woman", { method: "3cosmul", k: 1 })[0]!.word).toBe("queen");
    expect(wv.analogy("france", "paris", "germany", { k: 1 })[0]!.word).toBe("berlin");
    // The 3CosAdd score is the cosine to unit(b − a + c).
    const q = new Float32Array(100);
    const [a, b, c] = ["man", "king", "woman"].map((w) => wv.get(w)!);
    const u = (v: Float32Array) => v.map((x) => x / Math.sqrt(v.reduce((s, y) => s + y * y, 0)));
    const [ua, ub, uc] = [u(a!), u(b!), u(c!)];
    for (let j = 0; j < 100; j++) q[j] = ub[j]! + uc[j]! - ua[j]!;
    expect(add[0]!.score).toBeCloseTo(cos(q, wv.get("queen")!), 5);
  });

  it("mostSimilar by word and by vector, with exclude and restrict", () => {
    const frog = wv.mostSimilar("frog", 10);
    expect(frog).toHaveLength(10);
    expect(frog.map((n) => n.word)).not.toContain("frog");
    expect(frog.map((n) => n.word)).toContain("toad");
    expect(frog[0]!.score).toBeCloseTo(cos(wv.get("frog")!, wv.get(frog[0]!.word)!), 5);
    const byVector = wv.mostSimilar(wv.get("frog")!, 11);
    expect(byVector[0]!.word).toBe("frog");
    expect(byVector[0]!.score).toBeCloseTo(1, 5);
    expect(byVector.slice(1).map((n) => n.word)).toEqual(frog.map((n) => n.word));
    const excl = wv.mostSimilar("frog", 3, { exclude: [frog[0]!.word, "not-a-word-here"] });
    expect(excl.map((n) => n.word)).toEqual(frog.slice(1, 4).map((n) => n.word));
    const restricted = wv.mostSimilar("frog", 10, { restrict: 5000 });
    for (const n of restricted) expect(n.index).toBeLessThan(5000);
    expect(errorOf(() => wv.mostSimilar("frog", 0)).code).toBe("E_PARAM");
    expect(errorOf(() => wv.mostSimilar(new Float32Array(3))).code).toBe("E_DIM_MISMATCH");
  });

  it("get follows the out-of-vocabulary policy", () => {
    const e = errorOf(() => wv.get("qwzxv"));
    expect(e.code).toBe("E_OOV");
    expect(e.message).toContain("qwzxv");
    expect(e.data?.word).toBe("qwzxv");
    expect(Array.from(wv.get("qwzxv", { oov: "zero" })!)).toEqual(new Array(100).fill(0));
    expect(wv.get("qwzxv", { oov: "skip" })).toBeUndefined();
    const v = wv.get("the")!;
    v[0] = 1234; // a copy: the table is untouched
    expect(wv.vectors[0]).not.toBe(1234);
    const many = wv.getMany(["cat", "qwzxv", "dog"], { oov: "skip" });
    expect(many.words).toEqual(["cat", "dog"]);
    expect(Array.from(many.vectors.subarray(100))).toEqual(Array.from(wv.get("dog")!));
    expect(wv.getMany(["cat", "qwzxv"], { oov: "zero" }).vectors.length).toBe(200);
    expect(errorOf(() => wv.getMany(["cat", "qwzxv"])).data?.index).toBe(1);
  });

  it("caches unit-length rows", () => {
    const u = wv.normalized();
    expect(wv.normalized()).toBe(u);
    for (const i of [0, 1000, 341478]) {
      let s = 0;
      for (let j = 0; j < 100; j++) s += u[i * 100 + j]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it("SIF: frequent words weigh less, the sentence vector is the weighted mean, unknown-only texts are refused", () => {
    const w = wv.sifWeights(1e-3);
    expect(w[wv.indexOf("the")]!).toBeLessThan(0.2);
    expect(w[wv.indexOf("queen")]!).toBeGreaterThan(0.9);
    const sent = wv.sentenceVectors(["The queen and the king."])!;
    const toks = wordTokens("The queen and the king.");
    expect(toks).toEqual(["the", "queen", "and", "the", "king"]);
    const manual = new Float64Array(100);
    for (const t of toks) {
      const i = wv.indexOf(t);
      for (let j = 0; j < 100; j++) manual[j]! += (w[i]! * wv.vectors[i * 100 + j]!) / toks.length;
    }
    for (let j = 0; j < 100; j++) expect(sent[j]!).toBeCloseTo(manual[j]!, 5);
    // Pre-tokenised input gives the same.
    expect(Array.from(wv.sentenceVectors([toks]))).toEqual(Array.from(sent));
    const e = errorOf(() => wv.sentenceVectors(["the cat", "zzqx qqzx 12345"]));
    expect(e.code).toBe("E_OOV");
    expect(e.data?.index).toBe(1);
  });

  it("SIF: related sentences are closer than unrelated ones; the common component can be removed", () => {
    const texts = [
      "Stock markets fell sharply after the bank raised interest rates.",
      "Shares dropped when the central bank increased borrowing costs.",
      "The children played football in the park until dark.",
      "Kids were playing soccer on the field all evening.",
    ];
    const v = wv.sentenceVectors(texts);
    const row = (x: Float32Array, i: number) => x.subarray(i * 100, (i + 1) * 100);
    expect(cos(row(v, 0), row(v, 1))).toBeGreaterThan(cos(row(v, 0), row(v, 2)));
    expect(cos(row(v, 2), row(v, 3))).toBeGreaterThan(cos(row(v, 1), row(v, 3)));
    const pc = wv.sifPrincipalComponent(texts);
    expect(Math.hypot(...pc)).toBeCloseTo(1, 5);
    const removed = wv.sentenceVectors(texts, { removePrincipalComponent: true });
    const fixed = wv.sentenceVectors(texts, { removePrincipalComponent: pc });
    for (let i = 0; i < 4; i++) {
      let dot = 0;
      for (let j = 0; j < 100; j++) dot += row(removed, i)[j]! * pc[j]!;
      expect(Math.abs(dot)).toBeLessThan(1e-4);
      for (let j = 0; j < 100; j++) expect(fixed[i * 100 + j]!).toBeCloseTo(removed[i * 100 + j]!, 5);
    }
  });

  it("SIF uses corpus counts when the table has them", () => {
    const small = wv.head(1000);
    // Counts that reverse the frequency order: "the" becomes the rarest word.
    const counts = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    const withCounts = new WordVectors({ words: small.words, vectors: small.vectors, space: small.space, counts });
    const w = withCounts.sifWeights();
    expect(w[0]!).toBeGreaterThan(w[999]!);
    const total = (1000 * 1001) / 2;
    expect(w[0]!).toBeCloseTo(1e-3 / (1e-3 + 1 / total), 6);
  });

  it("saves and loads as a model artifact; toVectorSet; head", async () => {
    const small = wv.head(2000);
    expect(small.size).toBe(2000);
    expect(small.words[1999]).toBe(wv.words[1999]);
    const art = small.save();
    expect(art.kind).toBe("encoders-text/word-vectors");
    const back = WordVectors.load(art);
    expect(back.words).toEqual(small.words);
    expect(Array.from(back.vectors)).toEqual(Array.from(small.vectors));
    expect(back.space).toEqual(wv.space);
    expect(back.analogy("man", "king", "woman", { k: 1 })[0]!.word).toBe(small.analogy("man", "king", "woman", { k: 1 })[0]!.word);
    const wrong = errorOf(() => WordVectors.load({ ...art, kind: "reducers/pca" }));
    expect(wrong.code).toBe("E_ARTIFACT_KIND");
    const broken = errorOf(() => WordVectors.load({ ...art, files: { "vectors.npy": art.files["vectors.npy"]! } }));
    expect(broken.code).toBe("E_ARTIFACT_FORMAT");

    const vs = wv.toVectorSet(["cat", "dog"]);
    expect(vs.ids).toEqual(["cat", "dog"]);
    expect(vs.meta).toEqual([
      { word: "cat", rank: wv.indexOf("cat") },
      { word: "dog", rank: wv.indexOf("dog") },
    ]);
    expect(Array.from(vs.data.subarray(100))).toEqual(Array.from(wv.get("dog")!));
    expect(vs.space).toEqual(wv.space);
    expect(errorOf(() => wv.toVectorSet(["cat", "qwzxv"])).code).toBe("E_OOV");
    const all = small.toVectorSet();
    expect(all.ids.length).toBe(2000);
    expect(all.ids[0]).toBe("the");
  });
});
