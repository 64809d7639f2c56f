import { LatentflowError, type Space } from "@latentflow/core";

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
}
