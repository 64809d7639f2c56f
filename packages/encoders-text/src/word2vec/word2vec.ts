import { createHash } from "node:crypto";
import { LatentflowError, createRng, hashParts, throwIfCancelled } from "@latentflow/core";
import { textSpace } from "../encoder.js";
import { VERSION } from "../version.js";
import { WordVectors } from "../word-vectors/word-vectors.js";
import type { Corpus } from "./corpus.js";
import { CHUNK_WORDS, Kernel, MAX_SENTENCE } from "./kernel.js";
import { defaultTokenize, type Tokenizer } from "./tokenize.js";

/** Options of word2vec training; defaults are gensim 4's. */
export interface Word2VecOptions {
  /** "cbow" (default, as gensim) or "skipgram". */
  model?: "cbow" | "skipgram";
  /** Dimensions of the vectors (default 100). */
  vectorSize?: number;
  /** Largest distance between the centre word and a context word (default 5); each centre word draws its own reduced window in 1..window. */
  window?: number;
  /** Words seen fewer times are dropped (default 5). */
  minCount?: number;
  /** Negative samples per positive one (default 5), drawn from the unigram distribution raised to `nsExponent`. */
  negative?: number;
  /** Exponent of the negative-sampling distribution (default 0.75). */
  nsExponent?: number;
  /** Frequent-word subsampling threshold (default 1e-3; 0 disables), word2vec.c's formula. */
  sample?: number;
  /** Passes over the corpus (default 5). */
  epochs?: number;
  /** Initial learning rate (default 0.025), decayed linearly to `minAlpha` (default 0.0001) over all epochs. */
  alpha?: number;
  minAlpha?: number;
  /** CBOW: average the context vectors (default true) rather than sum them. */
  cbowMean?: boolean;
  /** Seed of the initial vectors and of every thread's sampling (default 1). With threads: 1 the result is bit-for-bit reproducible. */
  seed?: number | string;
  /**
   * Worker threads (default 1: the same vectors on every machine). More update shared weights without locks, as
   * word2vec.c and gensim do: faster, not reproducible, and named in the space (`threads`, `deterministic: false`).
   */
  threads?: number;
  /** Text → tokens (default: NFKD, lower case, `[a-z]+('[a-z]+)*`). */
  tokenize?: Tokenizer;
  /**
   * MiB of word ids kept in memory after the first epoch so later epochs skip re-reading and
   * re-tokenising the corpus (default 256; 0: re-read every epoch). A corpus whose ids need more is
   * re-read from its stream each epoch.
   */
  cacheMb?: number;
  /** While counting, prune the rarest words whenever the vocabulary exceeds this size (word2vec.c's min-reduce; default: no limit). */
  maxVocabSize?: number;
}

/** Per-call options of training. */
export interface TrainOptions {
  signal?: AbortSignal;
  /** Called with (words done, words in all epochs) as training advances, and a message. */
  onProgress?: (done: number, total: number, message: string) => void;
}

/** What a finished training reports besides its vectors. */
export interface Word2VecStats {
  /** In-vocabulary words per epoch (after minCount, before subsampling). */
  corpusWords: number;
  /** Tokens per epoch, out-of-vocabulary ones included. */
  rawWords: number;
  sentences: number;
  /** Words actually trained on over all epochs (after subsampling): gensim's "effective words". */
  effectiveWords: number;
  /** Seconds spent in the training passes (vocabulary pass excluded). */
  trainSeconds: number;
  threads: number;
}

/** A trained model: its vectors (with corpus counts) and how the training went. */
export interface Word2VecResult {
  wordVectors: WordVectors;
  stats: Word2VecStats;
}

type Resolved = Required<Omit<Word2VecOptions, "tokenize" | "maxVocabSize">> & { maxVocabSize: number };

function bad(name: string, expected: string, found: unknown): never {
  throw new LatentflowError("E_PARAM", `word2vec: expected ${name} to be ${expected}, found ${JSON.stringify(found)}`, {
    data: { expected, found, where: `word2vec option '${name}'` },
  });
}

function resolve(o: Word2VecOptions): Resolved {
  const r: Resolved = {
    model: o.model ?? "cbow",
    vectorSize: o.vectorSize ?? 100,
    window: o.window ?? 5,
    minCount: o.minCount ?? 5,
    negative: o.negative ?? 5,
    nsExponent: o.nsExponent ?? 0.75,
    sample: o.sample ?? 1e-3,
    epochs: o.epochs ?? 5,
    alpha: o.alpha ?? 0.025,
    minAlpha: o.minAlpha ?? 0.0001,
    cbowMean: o.cbowMean ?? true,
    seed: o.seed ?? 1,
    threads: o.threads ?? 1,
    cacheMb: o.cacheMb ?? 256,
    maxVocabSize: o.maxVocabSize ?? Number.POSITIVE_INFINITY,
  };
  if (r.model !== "cbow" && r.model !== "skipgram") bad("model", "'cbow' or 'skipgram'", r.model);
  const posInt = (name: keyof Resolved, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) bad(name, `an integer ≥ ${min}`, v);
  };
  posInt("vectorSize", r.vectorSize);
  posInt("window", r.window);
  posInt("minCount", r.minCount);
  posInt("negative", r.negative);
  posInt("epochs", r.epochs);
  posInt("threads", r.threads);
  if (r.maxVocabSize !== Number.POSITIVE_INFINITY) posInt("maxVocabSize", r.maxVocabSize);
  if (!(r.cacheMb >= 0)) bad("cacheMb", "a number ≥ 0", r.cacheMb);
  if (!(r.sample >= 0 && r.sample < 1)) bad("sample", "a number in [0, 1)", r.sample);
  if (!(r.alpha > 0)) bad("alpha", "a positive number", r.alpha);
  if (!(r.minAlpha >= 0 && r.minAlpha <= r.alpha)) bad("minAlpha", `a number in [0, alpha = ${r.alpha}]`, r.minAlpha);
  if (!Number.isFinite(r.nsExponent)) bad("nsExponent", "a finite number", r.nsExponent);
  return r;
}

/**
 * Walker/Vose alias table of the distribution count^exponent, written as (threshold, alias) pairs:
 * bucket b keeps b when a uniform u32 draw is below threshold[b], else gives alias[b]. Exact, O(1)
 * per draw, and V entries instead of word2vec.c's 1e8 (which costs a cache miss per negative).
 */
export function fillAliasTable(out: Uint32Array, counts: ArrayLike<number>, exponent: number): void {
  const n = counts.length;
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (p[i] = counts[i]! ** exponent);
  for (let i = 0; i < n; i++) p[i] = (p[i]! * n) / sum;
  const small: number[] = [];
  const large: number[] = [];
  for (let i = n - 1; i >= 0; i--) (p[i]! < 1 ? small : large).push(i);
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large[large.length - 1]!;
    out[2 * s] = Math.floor(p[s]! * 2 ** 32);
    out[2 * s + 1] = l;
    p[l] = p[l]! + p[s]! - 1;
    if (p[l]! < 1) small.push(large.pop()!);
  }
  // What is left has probability 1 up to rounding.
  for (const i of [...small, ...large]) {
    out[2 * i] = 0xffffffff;
    out[2 * i + 1] = i;
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  throwIfCancelled(signal, "word2vec");
}

interface Vocab {
  words: string[];
  counts: Float64Array;
  index: Map<string, number>;
  rawWords: number;
  sentences: number;
}

async function countVocab(corpus: Corpus, tokenize: Tokenizer, o: Resolved, signal?: AbortSignal): Promise<Vocab> {
  const counts = new Map<string, number>();
  let rawWords = 0;
  let sentences = 0;
  let minReduce = 1;
  for await (const s of corpus.sentences(signal)) {
    const toks = tokenize(s);
    if (toks.length === 0) continue;
    sentences++;
    rawWords += toks.length;
    for (const t of toks) counts.set(t, (counts.get(t) ?? 0) + 1);
    if (counts.size > o.maxVocabSize) {
      for (const [w, c] of counts) if (c <= minReduce) counts.delete(w);
      minReduce++;
    }
    if ((sentences & 1023) === 0) throwIfAborted(signal);
  }
  // Most frequent first; ties keep the order of first appearance (Map order, stable sort).
  const kept = [...counts].filter(([, c]) => c >= o.minCount).sort((a, b) => b[1] - a[1]);
  if (kept.length === 0) {
    throw new LatentflowError("E_EMPTY_VOCAB", `word2vec: expected at least one word seen ≥ minCount = ${o.minCount} times in ${corpus.where}, found ${counts.size} distinct words in ${rawWords} tokens, none frequent enough`, {
      hint: rawWords === 0 ? "the corpus has no tokens: check the path, the field, or the tokeniser" : "lower minCount or train on more text",
      data: { expected: `a word with count ≥ ${o.minCount}`, found: { distinctWords: counts.size, tokens: rawWords }, where: corpus.where },
    });
  }
  const words = kept.map(([w]) => w);
  return { words, counts: Float64Array.from(kept, ([, c]) => c), index: new Map(words.map((w, i) => [w, i])), rawWords, sentences };
}

/**
 * Trains word2vec (CBOW or skip-gram, negative sampling) on a corpus streamed twice or more: once to
 * count the vocabulary, then once per epoch. Returns the input vectors as a WordVectors with corpus
 * counts, most frequent word first. The worker threads end when training ends (or fails).
 */
export async function trainWord2Vec(corpus: Corpus, options: Word2VecOptions = {}, call: TrainOptions = {}): Promise<Word2VecResult> {
  const o = resolve(options);
  const tokenize = options.tokenize ?? defaultTokenize;
  const { signal, onProgress } = call;
  throwIfAborted(signal);
  const vocab = await countVocab(corpus, tokenize, o, signal);
  const V = vocab.words.length;
  const dim = o.vectorSize;
  let corpusWords = 0;
  for (const c of vocab.counts) corpusWords += c;
  onProgress?.(0, corpusWords * o.epochs, `vocabulary: ${V} words (${corpusWords} of ${vocab.rawWords} tokens)`);

  const kernel = new Kernel({
    vocabSize: V, dim, threads: o.threads, window: o.window, negative: o.negative,
    sg: o.model === "skipgram", cbowMean: o.cbowMean, subsample: o.sample > 0,
  });
  const { L } = kernel;
  const dp = L.dp;
  try {
    // Subsampling thresholds (gensim's sample_int): keep probability × 2^32.
    const keep = kernel.u32(L.keep, V);
    if (o.sample > 0) {
      const threshold = o.sample * corpusWords;
      for (let w = 0; w < V; w++) {
        const c = vocab.counts[w]!;
        const p = Math.min(1, (Math.sqrt(c / threshold) + 1) * (threshold / c));
        keep[w] = Math.min(0xffffffff, Math.round(p * 2 ** 32));
      }
    }
    fillAliasTable(kernel.u32(L.alias, 2 * V), vocab.counts, o.nsExponent);
    // Input vectors uniform in ±0.5/dim, output vectors zero, as word2vec.c and gensim.
    const rng = createRng(`word2vec/${o.seed}`);
    const syn0 = kernel.f32(L.syn0, V * dp);
    for (let i = 0; i < V; i++) for (let j = 0; j < dim; j++) syn0[i * dp + j] = (rng.next() - 0.5) / dim;
    for (let t = 0; t < o.threads; t++) {
      const r = rng.fork(`thread ${t}`);
      const s = kernel.u32(L.rng[t]!, 2);
      s[0] = Math.floor(r.next() * 2 ** 32);
      s[1] = Math.floor(r.next() * 2 ** 32);
    }
    kernel.start();

    const total = corpusWords * o.epochs;
    const ids = new Int32Array(CHUNK_WORDS);
    const lens = new Int32Array(CHUNK_WORDS);
    let nWords = 0;
    let nSent = 0;
    let done = 0;
    // Clamped: a corpus that grew between passes must not drive the rate below minAlpha.
    const alphaAt = (words: number) => Math.max(o.minAlpha, o.alpha - ((o.alpha - o.minAlpha) * words) / total);
    const post = async (chunkIds: Int32Array, chunkLens: Int32Array) => {
      const slot = await kernel.acquire();
      kernel.i32(L.slotIds[slot]!, chunkIds.length).set(chunkIds);
      kernel.i32(L.slotLens[slot]!, chunkLens.length).set(chunkLens);
      kernel.post(slot, chunkLens.length, alphaAt(done), alphaAt(done + chunkIds.length));
      done += chunkIds.length;
      throwIfAborted(signal);
    };
    // The first epoch's chunks of word ids, kept (within cacheMb) so later epochs need not re-read
    // and re-tokenise the corpus; dropped as soon as they outgrow the budget.
    let cache: [Int32Array, Int32Array][] | undefined = o.cacheMb > 0 && o.epochs > 1 ? [] : undefined;
    let cacheBytes = 0;
    // What was trained on, word by word (first epoch): part of the space id.
    const streamHash = createHash("sha256");
    let hashing = true;
    const flush = async () => {
      if (nSent === 0) return;
      const chunkIds = ids.slice(0, nWords);
      const chunkLens = lens.slice(0, nSent);
      if (hashing) streamHash.update(chunkIds).update(chunkLens);
      nWords = 0;
      nSent = 0;
      if (cache) {
        cacheBytes += 4 * (chunkIds.length + chunkLens.length);
        if (cacheBytes > o.cacheMb * 2 ** 20) cache = undefined;
        else cache.push([chunkIds, chunkLens]);
      }
      await post(chunkIds, chunkLens);
    };
    const t0 = performance.now();
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      if (epoch > 0 && cache) {
        for (const [chunkIds, chunkLens] of cache) await post(chunkIds, chunkLens);
      } else {
        for await (const s of corpus.sentences(signal)) {
          const toks = tokenize(s);
          let len = 0;
          for (const t of toks) {
            const id = vocab.index.get(t);
            if (id === undefined) continue;
            if (nWords === CHUNK_WORDS) {
              if (len > 0) lens[nSent++] = len;
              len = 0;
              await flush();
            }
            ids[nWords++] = id;
            if (++len === MAX_SENTENCE) {
              lens[nSent++] = len;
              len = 0;
            }
          }
          if (len > 0) lens[nSent++] = len;
          if (nWords === CHUNK_WORDS) await flush();
        }
        await flush();
        hashing = false;
      }
      onProgress?.(done, total, `words (epoch ${epoch + 1}/${o.epochs})`);
    }
    await kernel.drain();
    const trainSeconds = (performance.now() - t0) / 1000;

    const vectors = new Float32Array(V * dim);
    for (let i = 0; i < V; i++) vectors.set(syn0.subarray(i * dp, i * dp + dim), i * dim);
    const params = {
      model: o.model, vectorSize: dim, window: o.window, minCount: o.minCount, negative: o.negative, nsExponent: o.nsExponent,
      sample: o.sample, epochs: o.epochs, alpha: o.alpha, minAlpha: o.minAlpha, cbowMean: o.cbowMean, seed: o.seed,
    };
    // Two trainings share a space only when their vectors are the same: one thread, same settings, same
    // vocabulary and the same word stream. With more threads the result is not reproducible, so the id
    // gets a nonce.
    const vocabHash = hashParts("vocabulary", vocab.words.join("\n"));
    const nonce = o.threads > 1 ? `${Date.now()}-${Math.random()}` : "";
    const space = textSpace({
      id: `word2vec/${o.model}-${dim}d-${hashParts("word2vec", JSON.stringify(params), vocabHash, streamHash.digest("hex"), nonce).slice(0, 12)}`,
      dim,
      normalized: false,
      producer: "word2vec",
      version: VERSION,
      // Lock-free training on several threads is faster and not reproducible: the space says which it was.
      params: { ...params, corpus: corpus.where, vocabulary: V, threads: o.threads, deterministic: o.threads === 1 },
    });
    return {
      wordVectors: new WordVectors({ words: vocab.words, vectors, space, counts: vocab.counts }),
      stats: { corpusWords, rawWords: vocab.rawWords, sentences: vocab.sentences, effectiveWords: kernel.effectiveWords, trainSeconds, threads: o.threads },
    };
  } finally {
    await kernel.close();
  }
}
