import { LatentflowError, sha256, type ModelArtifact, type Space, throwIfCancelled, type Encoder, type EncodeOptions } from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { assertLive, assertTexts, textSpace, } from "../encoder.js";
import { TfidfVectorizer, type TfidfOptions } from "../tfidf/tfidf.js";
import { VERSION } from "../version.js";
import { TruncatedSvd, type SvdRunOptions, type TruncatedSvdOptions, type TruncatedSvdState } from "./truncated-svd.js";

/** Options of {@link LsaEncoder}: the truncated SVD's, and the TF-IDF it runs on. */
export interface LsaOptions extends TruncatedSvdOptions {
  /** The TF-IDF weighting (scikit-learn TfidfVectorizer options). Default: its defaults. */
  tfidf?: TfidfOptions;
}

export const LSA_KIND = "encoders-text/lsa";
const FORMAT = "1";
const TFIDF_PREFIX = "tfidf.";

function f32(x: Float64Array): Float32Array {
  return Float32Array.from(x);
}

/**
 * Latent semantic analysis: TF-IDF then a truncated SVD of the (sparse) document × term matrix. Fitted
 * on a corpus with {@link LsaEncoder.fit}; `documentVectors` are the fit corpus in the LSA space (U·Σ),
 * `encode` places new texts there (TF-IDF × Vᵀ), as scikit-learn's TfidfVectorizer + TruncatedSVD.
 */
export class LsaEncoder implements Encoder<string> {
  readonly vectorizer: TfidfVectorizer;
  readonly svd: TruncatedSvd;
  readonly space: Space;
  /** U·Σ of the fit corpus (n × components); undefined on a loaded model. */
  readonly documentVectors: Float32Array | undefined;
  private disposed = false;

  private constructor(vectorizer: TfidfVectorizer, svd: TruncatedSvd, documentVectors: Float32Array | undefined) {
    this.vectorizer = vectorizer;
    this.svd = svd;
    this.documentVectors = documentVectors;
    const s = svd.state;
    const k = svd.options.components;
    const c = s.components;
    const fit = sha256([vectorizer.space.id, Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString("base64")].join("\n")).slice(0, 16);
    this.space = textSpace({
      id: `lsa-${k}-${fit}`,
      dim: k,
      metric: "cosine",
      normalized: false,
      producer: LSA_KIND,
      version: VERSION,
      params: { components: k, tfidf: vectorizer.space.id, fit },
    });
  }

  /** Fits TF-IDF and the truncated SVD on a corpus (which must have at least `components` documents). */
  static async fit(texts: readonly string[], options: LsaOptions = {}, run: SvdRunOptions = {}): Promise<LsaEncoder> {
    const { tfidf, ...svdOptions } = options;
    const svd = new TruncatedSvd(svdOptions);
    const vectorizer = new TfidfVectorizer(tfidf ?? {});
    const x = vectorizer.fitTransform(texts, run.signal ? { signal: run.signal } : {});
    const docs = await svd.fitTransform(x, run);
    return new LsaEncoder(vectorizer, svd, f32(docs));
  }

  /** Singular values, largest first. */
  get singularValues(): Float64Array {
    return this.svd.state.singularValues;
  }
  /** Share of the TF-IDF matrix's total variance each component explains (scikit-learn's definition). */
  get explainedVarianceRatio(): Float64Array {
    return this.svd.state.explainedVarianceRatio;
  }
  get explainedVariance(): Float64Array {
    return this.svd.state.explainedVariance;
  }
  /** components × terms row-major (the terms are vectorizer.vocabulary). */
  get components(): Float64Array {
    return this.svd.state.components;
  }

  /** The `top` terms weighing most (by |weight|) in component `c`, with their weights. */
  topTerms(c: number, top = 10): { term: string; weight: number }[] {
    const d = this.vectorizer.vocabulary.length;
    const row = this.components.subarray(c * d, (c + 1) * d);
    const order = Array.from(row.keys()).sort((a, b) => Math.abs(row[b]!) - Math.abs(row[a]!));
    return order.slice(0, top).map((j) => ({ term: this.vectorizer.vocabulary[j]!, weight: row[j]! }));
  }

  async encode(texts: readonly string[], opts: EncodeOptions = {}): Promise<Float32Array> {
    assertLive(this.disposed, "LsaEncoder.encode");
    assertTexts(texts, "LsaEncoder.encode");
    throwIfCancelled(opts.signal, "LsaEncoder.encode");
    const x = this.vectorizer.transform(texts, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    return f32(this.svd.transform(x));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }

  /**
   * The fitted model as an `encoders-text/lsa` artifact: components.npy (k × terms float64),
   * singular_values.npy, the TF-IDF files under `tfidf.`, and the rest in meta.
   */
  save(): ModelArtifact {
    const s = this.svd.state;
    const t = this.vectorizer.save();
    const k = this.svd.options.components;
    const files: Record<string, Uint8Array> = {
      "components.npy": encodeNpy({ dtype: "float64", shape: [k, s.nFeatures], data: s.components }),
      "singular_values.npy": encodeNpy({ dtype: "float64", shape: [k], data: s.singularValues }),
    };
    for (const [name, bytes] of Object.entries(t.files)) files[TFIDF_PREFIX + name] = bytes;
    return {
      kind: LSA_KIND,
      format: FORMAT,
      meta: {
        options: { ...this.svd.options },
        space: this.space,
        nSamples: s.nSamples,
        explainedVariance: Array.from(s.explainedVariance),
        explainedVarianceRatio: Array.from(s.explainedVarianceRatio),
        tfidf: { kind: t.kind, format: t.format, meta: t.meta },
      },
      files,
    };
  }

  /** Reads a model written by `save`. */
  static load(artifact: ModelArtifact): LsaEncoder {
    if (artifact.kind !== LSA_KIND) {
      throw new LatentflowError("E_ARTIFACT_KIND", `expected a '${LSA_KIND}' model artifact, found '${artifact.kind}'`, { data: { expected: LSA_KIND, found: artifact.kind, where: "LsaEncoder.load" } });
    }
    if (artifact.format !== FORMAT) {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${LSA_KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`, {
        hint: "the artifact was written by another version of @latentflow/encoders-text",
        data: { expected: FORMAT, found: artifact.format, where: "LsaEncoder.load" },
      });
    }
    const file = (name: string): Uint8Array => {
      const f = artifact.files[name];
      if (!f) {
        throw new LatentflowError("E_ARTIFACT_FORMAT", `${LSA_KIND} artifact: expected a file '${name}', found ${Object.keys(artifact.files).join(", ") || "no files"}`, {
          data: { expected: name, found: Object.keys(artifact.files), where: "LsaEncoder.load" },
        });
      }
      return f;
    };
    const m = artifact.meta as {
      options: Required<TruncatedSvdOptions>;
      nSamples: number;
      explainedVariance: number[];
      explainedVarianceRatio: number[];
      tfidf: Omit<ModelArtifact, "files">;
    };
    const tfidfFiles: Record<string, Uint8Array> = {};
    for (const [name, bytes] of Object.entries(artifact.files)) if (name.startsWith(TFIDF_PREFIX)) tfidfFiles[name.slice(TFIDF_PREFIX.length)] = bytes;
    const vectorizer = TfidfVectorizer.load({ ...m.tfidf, files: tfidfFiles });
    const svd = new TruncatedSvd(m.options);
    const comps = parseNpy(file("components.npy"), "components.npy");
    const sv = parseNpy(file("singular_values.npy"), "singular_values.npy");
    const state: TruncatedSvdState = {
      components: Float64Array.from(comps.data as Float64Array),
      singularValues: Float64Array.from(sv.data as Float64Array),
      explainedVariance: Float64Array.from(m.explainedVariance),
      explainedVarianceRatio: Float64Array.from(m.explainedVarianceRatio),
      nSamples: m.nSamples,
      nFeatures: vectorizer.vocabulary.length,
    };
    svd.setState(state);
    return new LsaEncoder(vectorizer, svd, undefined);
  }
}
