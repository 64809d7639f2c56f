import { LatentflowError, type ModelArtifact, type Space, throwIfCancelled, type Encoder, type EncodeOptions } from "@latentflow/core";
import { assertLive, assertTexts, } from "../encoder.js";
import { csrToDense } from "./csr.js";
import { TfidfVectorizer, type TfidfOptions } from "./tfidf.js";

/**
 * Widest vocabulary {@link TfidfEncoder} turns into dense vectors. Past it a dense row is mostly zeros
 * (a document uses a few hundred terms), so memory, indexes and distances are wasted on them: keep the
 * matrix sparse (TfidfVectorizer.transform) or reduce it with LSA.
 */
export const TFIDF_DENSE_LIMIT = 16384;

/** Throws E_TOO_WIDE when a vocabulary is too wide for dense TF-IDF vectors. */
export function assertDenseVocabulary(size: number, where: string): void {
  if (size > TFIDF_DENSE_LIMIT) {
    throw new LatentflowError("E_TOO_WIDE", `${where}: dense TF-IDF vectors need a vocabulary of at most ${TFIDF_DENSE_LIMIT} terms, found ${size}`, {
      hint: `set maxFeatures (e.g. 4096) to keep the most frequent terms, or use LSA (LsaEncoder, step encoders-text/lsa) for dense low-dimensional document vectors`,
      data: { expected: `≤ ${TFIDF_DENSE_LIMIT} terms`, found: size, where },
    });
  }
}

/**
 * TF-IDF as a TextEncoder: a fitted {@link TfidfVectorizer} whose rows are returned dense (one dimension
 * per term). Only for vocabularies up to {@link TFIDF_DENSE_LIMIT}; an unknown-words-only text gives a zero vector.
 */
export class TfidfEncoder implements Encoder<string> {
  readonly vectorizer: TfidfVectorizer;
  private disposed = false;

  constructor(vectorizer: TfidfVectorizer) {
    if (!vectorizer.isFitted) throw new LatentflowError("E_NOT_FITTED", "TfidfEncoder: expected a fitted TfidfVectorizer, found an unfitted one", { hint: "use TfidfEncoder.fit(texts, options)" });
    assertDenseVocabulary(vectorizer.vocabulary.length, "TfidfEncoder");
    this.vectorizer = vectorizer;
  }

  /** Fits a vectorizer on a corpus and wraps it. */
  static fit(texts: readonly string[], options: TfidfOptions = {}): TfidfEncoder {
    return new TfidfEncoder(new TfidfVectorizer(options).fit(texts));
  }

  /** Reads an `encoders-text/tfidf` artifact. */
  static load(artifact: ModelArtifact): TfidfEncoder {
    return new TfidfEncoder(TfidfVectorizer.load(artifact));
  }

  get space(): Space {
    return this.vectorizer.space;
  }

  async encode(texts: readonly string[], opts: EncodeOptions = {}): Promise<Float32Array> {
    assertLive(this.disposed, "TfidfEncoder.encode");
    assertTexts(texts, "TfidfEncoder.encode");
    throwIfCancelled(opts.signal, "TfidfEncoder.encode");
    const m = this.vectorizer.transform(texts, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    return csrToDense(m);
  }

  save(): ModelArtifact {
    return this.vectorizer.save();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
