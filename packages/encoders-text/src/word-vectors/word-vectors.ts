import { LatentflowError, createVectorSet, defineSpace, type ModelArtifact, type Space, type VectorSet } from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { tokenIndices, wordTokens } from "./tokenize.js";

/** What a WordVectors is made from. */
export interface WordVectorsInit {
  /** The vocabulary, most frequent first when frequencies are known. */
  words: string[];
  /** words.length × space.dim, row-major. */
  vectors: Float32Array;
  space: Space;
  /** Corpus counts per word (same order), when known: SIF weights and frequency cut-offs use them. */
  counts?: Float64Array;
}

/** What to do with a word the table does not hold: throw E_OOV, give a zero vector, or leave it out. */
export type OovPolicy = "error" | "zero" | "skip";

/** A word found by a similarity search. */
export interface WordNeighbour {
  word: string;
  /** Row in the table. */
  index: number;
  /** Cosine similarity (3CosMul: the 3CosMul objective). */
  score: number;
}

export interface MostSimilarOptions {
  /** Words never returned (the query word itself is always left out). */
  exclude?: Iterable<string>;
  /** Search only the first `restrict` rows (the most frequent words). */
  restrict?: number;
}

export interface AnalogyOptions {
  /** 3CosAdd (vector offset, Mikolov et al. 2013) or 3CosMul (Levy & Goldberg 2014). Default 3cosadd. */
  method?: "3cosadd" | "3cosmul";
  /** How many answers, best first. Default 10. */
  k?: number;
  /** Search only the first `restrict` rows. */
  restrict?: number;
}

export interface SentenceVectorOptions {
  /** SIF smoothing: word weight a / (a + p(w)). Default 1e-3. */
  a?: number;
  /**
   * Remove the common component (Arora et al.): `true` computes the first singular vector of these
   * sentence vectors and projects it out; a vector projects out that fixed direction (e.g. one from
   * `sifPrincipalComponent` over a reference corpus). Default false.
   */
  removePrincipalComponent?: boolean | Float32Array;
}

/** Kind of the model artifact `save` writes. */
export const WORD_VECTORS_KIND = "encoders-text/word-vectors";
const FORMAT = "1";

function oov(word: string, where: string, extra: Record<string, unknown> = {}): LatentflowError {
  return new LatentflowError("E_OOV", `${where}: expected a word of the vocabulary, found '${word}' (out of vocabulary)`, {
    hint: "check spelling and case (vocabularies such as GloVe are lower-case); use oov: 'zero' or 'skip' to go on without it",
    data: { expected: "a word of the vocabulary", found: word, where, word, ...extra },
  });
}

function positiveInt(v: number, name: string, where: string): void {
  if (!Number.isInteger(v) || v < 1) throw new LatentflowError("E_PARAM", `${where}: expected ${name} a positive integer, found ${v}`, { data: { expected: "a positive integer", found: v, where } });
}

/** Keeps the k best (score, index) pairs seen, best first. */
class TopK {
  readonly scores: Float64Array;
  readonly indices: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.indices = new Int32Array(k);
  }
  /** The score a candidate must beat. */
  get threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[this.k - 1]!;
  }
  push(score: number, index: number): void {
    let j = this.size < this.k ? this.size++ : this.k - 1;
    while (j > 0 && this.scores[j - 1]! < score) {
      this.scores[j] = this.scores[j - 1]!;
      this.indices[j] = this.indices[j - 1]!;
      j--;
    }
    this.scores[j] = score;
    this.indices[j] = index;
  }
}

/**
 * A table of word vectors (GloVe, word2vec, …): lookup, nearest words, analogies, sentence vectors.
 * The one type that every word-level model in this package produces and every evaluation consumes.
 */
export class WordVectors {
  readonly words: string[];
  readonly vectors: Float32Array;
  readonly space: Space;
  readonly counts: Float64Array | undefined;
  private readonly ix: Map<string, number>;
  private unit: Float32Array | undefined;
  private sif: { a: number; weights: Float32Array } | undefined;

  constructor(init: WordVectorsInit) {
    const { words, vectors, space } = init;
    if (vectors.length !== words.length * space.dim) {
      throw new LatentflowError("E_SHAPE", `word vectors: expected ${words.length} × ${space.dim} = ${words.length * space.dim} values, found ${vectors.length}`);
    }
    if (init.counts && init.counts.length !== words.length) {
      throw new LatentflowError("E_SHAPE", `word vectors: expected ${words.length} counts (one per word), found ${init.counts.length}`);
    }
    this.words = words;
    this.vectors = vectors;
    this.space = space;
    this.counts = init.counts;
    this.ix = new Map();
    for (let i = 0; i < words.length; i++) if (!this.ix.has(words[i]!)) this.ix.set(words[i]!, i);
  }

  get dim(): number {
    return this.space.dim;
  }
  get size(): number {
    return this.words.length;
  }
  /** Row of `word`, or -1. */
  indexOf(word: string): number {
    return this.ix.get(word) ?? -1;
  }
  has(word: string): boolean {
    return this.ix.has(word);
  }

  /** A copy of the vector of `word`; out-of-vocabulary words follow `oov` (default "error": E_OOV; "skip" gives undefined). */
  get(word: string, opts: { oov?: OovPolicy } = {}): Float32Array | undefined {
    const i = this.indexOf(word);
    if (i < 0) {
      const policy = opts.oov ?? "error";
      if (policy === "error") throw oov(word, "word vectors");
      return policy === "zero" ? new Float32Array(this.dim) : undefined;
    }
    return this.vectors.slice(i * this.dim, (i + 1) * this.dim);
  }

  /** Vectors of several words (n×dim); with oov "skip" the unknown words are left out of `words` and rows. */
  getMany(words: readonly string[], opts: { oov?: OovPolicy } = {}): { words: string[]; vectors: Float32Array } {
    const policy = opts.oov ?? "error";
    const d = this.dim;
    const kept: string[] = [];
    const rows: number[] = [];
    for (let j = 0; j < words.length; j++) {
      const i = this.indexOf(words[j]!);
      if (i < 0 && policy === "error") throw oov(words[j]!, "word vectors", { index: j });
      if (i < 0 && policy === "skip") continue;
      kept.push(words[j]!);
      rows.push(i);
    }
    const out = new Float32Array(rows.length * d);
    for (let r = 0; r < rows.length; r++) if (rows[r]! >= 0) out.set(this.vectors.subarray(rows[r]! * d, (rows[r]! + 1) * d), r * d);
    return { words: kept, vectors: out };
  }

  /** The table with each row scaled to unit length (zero rows stay zero); computed once, then cached. */
  normalized(): Float32Array {
    if (this.unit) return this.unit;
    const d = this.dim;
    const v = this.vectors;
    const u = new Float32Array(v.length);
    for (let i = 0; i < this.size; i++) {
      const o = i * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += v[o + j]! * v[o + j]!;
      if (s === 0) continue;
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < d; j++) u[o + j] = v[o + j]! * inv;
    }
    this.unit = u;
    return u;
  }

  /** The unit vector of a known word (a view into the normalised table). */
  private unitRow(word: string, where: string): Float32Array {
    const i = this.indexOf(word);
    if (i < 0) throw oov(word, where);
    return this.normalized().subarray(i * this.dim, (i + 1) * this.dim);
  }

  private limit(restrict: number | undefined, where: string): number {
    if (restrict === undefined) return this.size;
    positiveInt(restrict, "restrict", where);
    return Math.min(restrict, this.size);
  }

  /**
   * The k words most cosine-similar to a word or a vector, best first, in one pass over the normalised
   * table. A query word is left out of its own answers (as gensim's most_similar does).
   */
  mostSimilar(query: string | Float32Array, k = 10, opts: MostSimilarOptions = {}): WordNeighbour[] {
    const where = "mostSimilar";
    positiveInt(k, "k", where);
    const d = this.dim;
    const excluded = new Set<number>();
    let q: Float32Array;
    if (typeof query === "string") {
      q = this.unitRow(query, where);
      excluded.add(this.indexOf(query));
    } else {
      if (query.length !== d) throw new LatentflowError("E_DIM_MISMATCH", `${where}: expected a query vector of dim ${d}, found ${query.length}`, { data: { expected: d, found: query.length, where } });
      q = query;
    }
    for (const w of opts.exclude ?? []) {
      const i = this.indexOf(w);
      if (i >= 0) excluded.add(i);
    }
    let qn = 0;
    for (let j = 0; j < d; j++) qn += q[j]! * q[j]!;
    const scale = qn > 0 ? 1 / Math.sqrt(qn) : 0;
    const n = this.limit(opts.restrict, where);
    return this.top(n, k, excluded, (u, o) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += u[o + j]! * q[j]!;
      return s * scale;
    });
  }

  private top(n: number, k: number, excluded: Set<number>, score: (unit: Float32Array, offset: number) => number): WordNeighbour[] {
    const u = this.normalized();
    const d = this.dim;
    const best = new TopK(Math.max(1, Math.min(k, n)));
    for (let i = 0; i < n; i++) {
      const s = score(u, i * d);
      if (s > best.threshold && !excluded.has(i)) best.push(s, i);
    }
    const out: WordNeighbour[] = [];
    for (let r = 0; r < best.size; r++) out.push({ word: this.words[best.indices[r]!]!, index: best.indices[r]!, score: best.scores[r]! });
    return out;
  }

  /**
   * Answers "a is to b as c is to ?": the words nearest to b − a + c (3CosAdd, gensim's
   * most_similar(positive=[b, c], negative=[a])) or maximising cos(x,b)·cos(x,c)/(cos(x,a)+ε) with
   * cosines shifted to [0, 1] (3CosMul, gensim's most_similar_cosmul). a, b and c are never answers.
   * `analogy("man", "king", "woman")[0].word` is "queen" with GloVe.
   */
  analogy(a: string, b: string, c: string, opts: AnalogyOptions = {}): WordNeighbour[] {
    const where = "analogy";
    const k = opts.k ?? 10;
    positiveInt(k, "k", where);
    const d = this.dim;
    const [ua, ub, uc] = [this.unitRow(a, where), this.unitRow(b, where), this.unitRow(c, where)];
    const excluded = new Set([this.indexOf(a), this.indexOf(b), this.indexOf(c)]);
    const n = this.limit(opts.restrict, where);
    const method = opts.method ?? "3cosadd";
    if (method === "3cosadd") {
      const q = new Float32Array(d);
      for (let j = 0; j < d; j++) q[j] = ub[j]! + uc[j]! - ua[j]!;
      return this.mostSimilar(q, k, { restrict: n, exclude: [a, b, c] });
    }
    if (method !== "3cosmul") throw new LatentflowError("E_PARAM", `${where}: expected method '3cosadd' or '3cosmul', found '${String(method)}'`);
    return this.top(n, k, excluded, (u, o) => {
      let sa = 0;
      let sb = 0;
      let sc = 0;
      for (let j = 0; j < d; j++) {
        const x = u[o + j]!;
        sa += x * ua[j]!;
        sb += x * ub[j]!;
        sc += x * uc[j]!;
      }
      return (((1 + sb) / 2) * ((1 + sc) / 2)) / ((1 + sa) / 2 + 1e-6);
    });
  }

  /**
   * SIF weight a / (a + p(w)) of every word. p(w) is the word's corpus frequency when `counts` are known;
   * otherwise it is estimated from the word's rank r (1 = most frequent) by Zipf's law with exponent 1,
   * p(r) = 1 / (r · H_N), H_N the N-th harmonic number — right for vocabularies stored most frequent
   * first (GloVe, word2vec) and a rough estimate at best for others.
   */
  sifWeights(a = 1e-3): Float32Array {
    if (!(a > 0)) throw new LatentflowError("E_PARAM", `SIF: expected a > 0, found ${a}`, { data: { expected: "a > 0", found: a, where: "SIF" } });
    if (this.sif?.a === a) return this.sif.weights;
    const n = this.size;
    const w = new Float32Array(n);
    if (this.counts) {
      let total = 0;
      for (let i = 0; i < n; i++) total += this.counts[i]!;
      for (let i = 0; i < n; i++) w[i] = a / (a + (total > 0 ? this.counts[i]! / total : 0));
    } else {
      let h = 0;
      for (let r = 1; r <= n; r++) h += 1 / r;
      for (let i = 0; i < n; i++) w[i] = a / (a + 1 / ((i + 1) * h));
    }
    this.sif = { a, weights: w };
    return w;
  }

  /**
   * SIF sentence vectors (Arora, Liang and Ma 2017): the SIF-weighted mean of the vectors of each text's
   * known words, optionally with the common component removed. A text is a string (split by
   * `wordTokens`) or a list of tokens. A text with no known word throws E_OOV naming its index.
   */
  sentenceVectors(texts: readonly (string | readonly string[])[], opts: SentenceVectorOptions = {}): Float32Array {
    const d = this.dim;
    const w = this.sifWeights(opts.a ?? 1e-3);
    const out = new Float32Array(texts.length * d);
    const acc = new Float64Array(d);
    for (let t = 0; t < texts.length; t++) {
      const text = texts[t]!;
      const rows = tokenIndices(typeof text === "string" ? wordTokens(text) : text, (x) => this.indexOf(x));
      if (rows.length === 0) {
        const shown = typeof text === "string" ? text : text.join(" ");
        throw new LatentflowError("E_OOV", `sentence vectors: expected text ${t} to hold at least one word of the vocabulary, found none in ${JSON.stringify(shown.slice(0, 80))}`, {
          hint: "the text has no word the model knows (other language? only numbers or symbols?); drop it, or use onError: skip in a pipeline",
          data: { index: t, expected: "at least one known word", found: shown.slice(0, 200), where: `text ${t}` },
        });
      }
      acc.fill(0);
      for (const i of rows) {
        const wi = w[i]!;
        const o = i * d;
        for (let j = 0; j < d; j++) acc[j]! += wi * this.vectors[o + j]!;
      }
      for (let j = 0; j < d; j++) out[t * d + j] = acc[j]! / rows.length;
    }
    const pc = opts.removePrincipalComponent;
    if (pc === true && texts.length > 0) removeComponent(out, d, firstSingularVector(out, d));
    else if (pc instanceof Float32Array) {
      if (pc.length !== d) throw new LatentflowError("E_DIM_MISMATCH", `sentence vectors: expected a principal component of dim ${d}, found ${pc.length}`);
      removeComponent(out, d, pc);
    }
    return out;
  }

  /** The common direction SIF removes, computed once from a reference corpus (a unit vector). */
  sifPrincipalComponent(texts: readonly (string | readonly string[])[], opts: { a?: number } = {}): Float32Array {
    return firstSingularVector(this.sentenceVectors(texts, { a: opts.a ?? 1e-3 }), this.dim);
  }

  /** The first `n` words (the most frequent ones, for frequency-ordered tables) as a table of their own. */
  head(n: number): WordVectors {
    positiveInt(n, "n", "word vectors head");
    if (n >= this.size) return this;
    return new WordVectors({
      words: this.words.slice(0, n),
      vectors: this.vectors.subarray(0, n * this.dim),
      space: this.space,
      ...(this.counts ? { counts: this.counts.subarray(0, n) } : {}),
    });
  }

  /** The words (all, or those given) as a vector set: ids are the words, meta holds word and rank. */
  toVectorSet(words?: readonly string[]): VectorSet {
    const d = this.dim;
    if (!words) {
      return createVectorSet({ space: this.space, data: this.vectors, ids: this.words.slice(), meta: this.words.map((word, rank) => ({ word, rank })) });
    }
    const data = new Float32Array(words.length * d);
    const meta = words.map((word, j) => {
      const i = this.indexOf(word);
      if (i < 0) throw oov(word, "word vectors to vector set", { index: j });
      data.set(this.vectors.subarray(i * d, (i + 1) * d), j * d);
      return { word, rank: i };
    });
    return createVectorSet({ space: this.space, data, ids: words.slice(), meta });
  }

  /** The table as a model artifact (kind encoders-text/word-vectors): vectors.npy, words.txt, counts.npy when known. */
  save(): ModelArtifact {
    for (let i = 0; i < this.size; i++) {
      if (this.words[i]!.includes("\n")) throw new LatentflowError("E_PARAM", `word vectors save: expected words without newlines, found one in word ${i} (${JSON.stringify(this.words[i])})`);
    }
    const files: Record<string, Uint8Array> = {
      "vectors.npy": encodeNpy({ dtype: "float32", shape: [this.size, this.dim], data: this.vectors }),
      "words.txt": new TextEncoder().encode(this.words.join("\n")),
    };
    if (this.counts) files["counts.npy"] = encodeNpy({ dtype: "float64", shape: [this.size], data: this.counts });
    return { kind: WORD_VECTORS_KIND, format: FORMAT, meta: { space: this.space, size: this.size, dim: this.dim }, files };
  }

  /** Reads a table written by `save` (by any model of this package: GloVe, word2vec, …). */
  static load(artifact: ModelArtifact): WordVectors {
    const bad = (found: string, expected: string): never => {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${WORD_VECTORS_KIND} artifact: expected ${expected}, found ${found}`, { data: { expected, found, where: WORD_VECTORS_KIND } });
    };
    if (artifact.kind !== WORD_VECTORS_KIND) {
      throw new LatentflowError("E_ARTIFACT_KIND", `expected a '${WORD_VECTORS_KIND}' model artifact, found '${artifact.kind}'`, {
        hint: "pass the model output of a word-vector step (encoders-text/glove, encoders-text/word2vec)",
        data: { expected: WORD_VECTORS_KIND, found: artifact.kind, where: "WordVectors.load" },
      });
    }
    if (artifact.format !== FORMAT) bad(`format ${artifact.format}`, `format ${FORMAT}`);
    const file = (name: string) => artifact.files[name] ?? bad(Object.keys(artifact.files).join(", ") || "no files", `a file '${name}'`);
    const space = defineSpace((artifact.meta as { space: Space }).space);
    const m = parseNpy(file("vectors.npy"), "vectors.npy");
    if (m.dtype !== "float32" || m.shape.length !== 2 || m.shape[1] !== space.dim) bad(`${m.dtype} [${m.shape}]`, `float32 [n, ${space.dim}] vectors`);
    const text = new TextDecoder().decode(file("words.txt"));
    const words = m.shape[0] === 0 ? [] : text.split("\n");
    if (words.length !== m.shape[0]) bad(`${words.length} words for ${m.shape[0]} vectors`, "one word per vector");
    let counts: Float64Array | undefined;
    if (artifact.files["counts.npy"]) {
      const c = parseNpy(artifact.files["counts.npy"], "counts.npy");
      if (c.data.length !== words.length) bad(`${c.data.length} counts for ${words.length} words`, "one count per word");
      counts = Float64Array.from(c.data as Float64Array);
    }
    return new WordVectors({ words, vectors: m.data as Float32Array, space, ...(counts ? { counts } : {}) });
  }
}

/** First right singular vector of an n×d matrix (uncentred, as the TruncatedSVD of Arora et al.'s code), sign fixed. */
function firstSingularVector(x: Float32Array, d: number): Float32Array {
  const n = x.length / d;
  const g = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let p = 0; p < d; p++) {
      const xp = x[o + p]!;
      if (xp === 0) continue;
      for (let q = p; q < d; q++) g[p * d + q]! += xp * x[o + q]!;
    }
  }
  for (let p = 0; p < d; p++) for (let q = 0; q < p; q++) g[p * d + q] = g[q * d + p]!;
  // Power iteration on XᵀX from a fixed start: deterministic, and d is small.
  let v = new Float64Array(d).fill(1 / Math.sqrt(d));
  for (let it = 0; it < 1000; it++) {
    const w = new Float64Array(d);
    for (let p = 0; p < d; p++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += g[p * d + q]! * v[q]!;
      w[p] = s;
    }
    let norm = 0;
    for (let p = 0; p < d; p++) norm += w[p]! * w[p]!;
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    let delta = 0;
    for (let p = 0; p < d; p++) {
      w[p]! /= norm;
      delta = Math.max(delta, Math.abs(w[p]! - v[p]!));
    }
    v = w;
    if (delta < 1e-12) break;
  }
  let big = 0;
  for (let p = 1; p < d; p++) if (Math.abs(v[p]!) > Math.abs(v[big]!)) big = p;
  const sign = v[big]! < 0 ? -1 : 1;
  return Float32Array.from(v, (t) => sign * t);
}

function removeComponent(x: Float32Array, d: number, u: Float32Array): void {
  let uu = 0;
  for (let j = 0; j < d; j++) uu += u[j]! * u[j]!;
  if (uu === 0) return;
  for (let o = 0; o < x.length; o += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[o + j]! * u[j]!;
    s /= uu;
    for (let j = 0; j < d; j++) x[o + j]! -= s * u[j]!;
  }
}
