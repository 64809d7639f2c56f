import { LatentflowError, sha256, type Space, throwIfCancelled, type Encoder, type EncodeOptions } from "@latentflow/core";
import { assertLive, assertTexts, textSpace, } from "../encoder.js";
import { VERSION } from "../version.js";
import { tokenIndices, wordTokens } from "./tokenize.js";
import type { WordVectors } from "./word-vectors.js";

export interface WordVectorsEncoderOptions {
  /** SIF smoothing a in a / (a + p(w)). Default 1e-3. */
  a?: number;
  /**
   * A fixed common direction to project out of every sentence vector (from `wv.sifPrincipalComponent(corpus)`).
   * Fixed rather than recomputed per call, so a text's vector does not depend on the batch it comes in.
   */
  principalComponent?: Float32Array;
  /** Scale each sentence vector to unit length (the space is then `normalized`). Default true. */
  normalize?: boolean;
}

/**
 * A TextEncoder over a word-vector table: SIF sentence vectors (Arora et al. 2017) of lower-cased word
 * tokens. A text none of whose words the table knows is refused with E_OOV naming its index (a zero
 * vector would silently sit at the same place for every such text).
 */
export class WordVectorsEncoder implements Encoder<string> {
  readonly space: Space;
  private readonly a: number;
  private readonly pc: Float32Array | undefined;
  private readonly normalize: boolean;
  private disposed = false;

  constructor(
    readonly wordVectors: WordVectors,
    opts: WordVectorsEncoderOptions = {},
  ) {
    this.a = opts.a ?? 1e-3;
    if (!(this.a > 0)) throw new LatentflowError("E_PARAM", `word-vector encoder: expected a > 0, found ${this.a}`, { data: { expected: "a > 0", found: this.a, where: "WordVectorsEncoder" } });
    this.normalize = opts.normalize ?? true;
    this.pc = opts.principalComponent;
    if (this.pc && this.pc.length !== wordVectors.dim) {
      throw new LatentflowError("E_DIM_MISMATCH", `word-vector encoder: expected a principal component of dim ${wordVectors.dim}, found ${this.pc.length}`);
    }
    const base = wordVectors.space;
    this.space = textSpace({
      id: `${base.id}/sif`,
      dim: base.dim,
      normalized: this.normalize,
      producer: "encoders-text/sif",
      version: VERSION,
      params: {
        words: { id: base.id, producer: base.producer },
        // A head(n) of a table keeps its space, but its SIF weights (and known words) differ.
        vocabulary: wordVectors.size,
        a: this.a,
        normalize: this.normalize,
        principalComponent: this.pc ? sha256(new Uint8Array(this.pc.buffer, this.pc.byteOffset, this.pc.byteLength)).slice(0, 16) : null,
      },
    });
  }

  /** SIF vectors of the texts, n × dim; batchSize (default 512) only sets how often progress is reported and the signal checked. */
  async encode(texts: readonly string[], opts: EncodeOptions = {}): Promise<Float32Array> {
    const where = "word-vector encoder";
    assertLive(this.disposed, where);
    assertTexts(texts, where);
    throwIfCancelled(opts.signal, where);
    const wv = this.wordVectors;
    // Refuse before any work: the first text without a known word, by index.
    for (let i = 0; i < texts.length; i++) {
      if (tokenIndices(wordTokens(texts[i]!), (w) => wv.indexOf(w)).length === 0) {
        throw new LatentflowError("E_OOV", `${where}: expected text ${i} to hold at least one word of the vocabulary, found none in ${JSON.stringify(texts[i]!.slice(0, 80))}`, {
          hint: "the text has no word the model knows (another language? only numbers or symbols?); drop it, or use onError: skip in a pipeline",
          data: { index: i, expected: "at least one known word", found: texts[i]!.slice(0, 200), where: `text ${i}` },
        });
      }
    }
    const d = wv.dim;
    const batch = opts.batchSize ?? 512;
    const out = new Float32Array(texts.length * d);
    for (let s = 0; s < texts.length; s += batch) {
      throwIfCancelled(opts.signal, where);
      const e = Math.min(texts.length, s + batch);
      const part = wv.sentenceVectors(texts.slice(s, e), { a: this.a, ...(this.pc ? { removePrincipalComponent: this.pc } : {}) });
      if (this.normalize) {
        for (let o = 0; o < part.length; o += d) {
          let n = 0;
          for (let j = 0; j < d; j++) n += part[o + j]! * part[o + j]!;
          const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
          for (let j = 0; j < d; j++) part[o + j]! *= inv;
        }
      }
      out.set(part, s * d);
      opts.onProgress?.(e, texts.length);
      if (e < texts.length) await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  /** Nothing native to free; after it, encode fails with E_DISPOSED. */
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
