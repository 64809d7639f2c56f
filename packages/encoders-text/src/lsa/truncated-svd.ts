import { LatentflowError, createRng, throwIfCancelled } from "@latentflow/core";
import { assertCsr, csrTimesDense, csrTranspose, csrTransposeTimesDense, gramTimesDense, type CsrMatrix } from "../tfidf/csr.js";
import { subspaceIteration } from "@latentflow/linalg";

/** Options of {@link TruncatedSvd}; defaults are scikit-learn's TruncatedSVD(algorithm="randomized"). */
export interface TruncatedSvdOptions {
  /** Number of singular triplets to keep. Default 100. */
  components?: number;
  /** Power (subspace) iterations of the range finder. Default 5. */
  powerIterations?: number;
  /** Extra sampled directions beyond `components`. Default 10. */
  oversampling?: number;
  /** Seed of the Gaussian test matrix. Default 0. */
  seed?: string | number;
}

/** Per-call options of fit. */
export interface SvdRunOptions {
  onProgress?: (done: number, total: number, message?: string) => void;
  signal?: AbortSignal;
}

/** A fitted truncated SVD's numbers. */
export interface TruncatedSvdState {
  /** k×d row-major right singular vectors (scikit-learn's components_), unit rows. */
  components: Float64Array;
  singularValues: Float64Array;
  /** Variance (ddof 0) of each output column over the fit rows. */
  explainedVariance: Float64Array;
  /** explainedVariance divided by the total variance of the input columns. */
  explainedVarianceRatio: Float64Array;
  nSamples: number;
  nFeatures: number;
}

function param(message: string, found: unknown, where: string): never {
  throw new LatentflowError("E_PARAM", message, { data: { found, where } });
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Σ_j var(column j) of a sparse matrix (ddof 0), as scikit-learn's mean_variance_axis(X, 0) summed. */
export function totalColumnVariance(x: CsrMatrix): number {
  const sum = new Float64Array(x.cols);
  const sq = new Float64Array(x.cols);
  for (let p = 0; p < x.indptr[x.rows]!; p++) {
    const v = x.data[p]!;
    sum[x.indices[p]!]! += v;
    sq[x.indices[p]!]! += v * v;
  }
  let total = 0;
  for (let j = 0; j < x.cols; j++) {
    const mean = sum[j]! / x.rows;
    total += sq[j]! / x.rows - mean * mean;
  }
  return total;
}

/** Column variances (ddof 0) of an n×k row-major matrix. */
function columnVariances(y: Float64Array, n: number, k: number): Float64Array {
  const mean = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) mean[c]! += y[i * k + c]!;
  for (let c = 0; c < k; c++) mean[c]! /= n;
  const v = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) v[c]! += (y[i * k + c]! - mean[c]!) ** 2;
  for (let c = 0; c < k; c++) v[c]! /= n;
  return v;
}

/**
 * Truncated SVD of a sparse matrix by randomized subspace iteration (Halko, Martinsson & Tropp 2011,
 * algorithms 4.4 + 5.1), computed on the CSR matrix itself: only sparse×dense products, never a dense
 * copy of X. As scikit-learn's TruncatedSVD: `fitTransform` gives U·Σ, `transform` X·Vᵀ, components_
 * with the largest |coordinate| of each row positive.
 */
export class TruncatedSvd {
  readonly options: Required<TruncatedSvdOptions>;
  private st: TruncatedSvdState | undefined;
  private componentsT: Float64Array | undefined;

  constructor(options: TruncatedSvdOptions = {}) {
    const components = options.components ?? 100;
    const powerIterations = options.powerIterations ?? 5;
    const oversampling = options.oversampling ?? 10;
    if (!Number.isInteger(components) || components < 1) param(`truncated SVD: expected components a positive integer, found ${components}`, components, "components");
    if (!Number.isInteger(powerIterations) || powerIterations < 0) param(`truncated SVD: expected powerIterations a non-negative integer, found ${powerIterations}`, powerIterations, "powerIterations");
    if (!Number.isInteger(oversampling) || oversampling < 0) param(`truncated SVD: expected oversampling a non-negative integer, found ${oversampling}`, oversampling, "oversampling");
    this.options = { components, powerIterations, oversampling, seed: options.seed ?? 0 };
  }

  /** The fitted numbers (throws E_NOT_FITTED before fit). */
  get state(): TruncatedSvdState {
    if (!this.st) throw new LatentflowError("E_NOT_FITTED", "truncated SVD: needs a fitted model", { hint: "call fit(x) first" });
    return this.st;
  }
  get isFitted(): boolean {
    return this.st !== undefined;
  }

  /** Fits on X (n×d sparse) and returns U·Σ (n×k row-major). */
  async fitTransform(x: CsrMatrix, opts: SvdRunOptions = {}): Promise<Float64Array> {
    assertCsr(x, "truncated SVD fit");
    const k = this.options.components;
    const n = x.rows;
    const d = x.cols;
    if (k > Math.min(n, d)) {
      throw new LatentflowError("E_TOO_FEW_POINTS", `truncated SVD fit: expected components ≤ min(documents, terms) = ${Math.min(n, d)}, found ${k}`, {
        hint: "lower 'components' or fit on more documents",
        data: { expected: `≤ ${Math.min(n, d)}`, found: k, where: "truncated SVD fit", documents: n, terms: d },
      });
    }
    // Work on the smaller side: A = X when n ≤ d, else A = Xᵀ; A is m×p with m = min(n, d).
    const wide = n <= d;
    const m = wide ? n : d;
    const aTTimes = (b: Float64Array, l: number) => (wide ? csrTransposeTimesDense(x, b, l) : csrTimesDense(x, b, l));
    // AAᵀ = CᵀC with C = Xᵀ (wide: one term at a time) or C = X (one document at a time).
    const c = wide ? csrTranspose(x) : x;
    const gram = (b: Float64Array, l: number) => gramTimesDense(c, b, l);
    const l = Math.min(k + this.options.oversampling, m);
    const q = this.options.powerIterations;
    const rng = createRng(`truncated-svd:${this.options.seed}`);
    // The Gaussian test matrix lives on the small side (m×l) and enters through AAᵀ: Y = (AAᵀ)^(q+1)·G
    // spans the same kind of range as Halko's (AAᵀ)^q·A·Ω at a fraction of the random draws.
    // Rayleigh–Ritz: B = YᵀA, BBᵀ = Yᵀ(A·AᵀY) = R Λ Rᵀ; σ = √λ, left vectors Y·R, right Aᵀ·(Y·R)/σ.
    let first = true;
    const { y, ...e } = await subspaceIteration(gram, m, l, {
      normal: () => rng.normal(),
      iterations: q,
      beforeProduct: async () => {
        if (!first) await nextTick();
        first = false;
        throwIfCancelled(opts.signal, "truncated SVD");
      },
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    const s = Float64Array.from(e.values.subarray(0, k), (v) => Math.sqrt(Math.max(v, 0)));
    const rk = new Float64Array(l * k);
    for (let a = 0; a < l; a++) for (let c = 0; c < k; c++) rk[a * k + c] = e.vectors[a * l + c]!;
    const yr = mul(y, m, l, rk, k); // m×k: left singular vectors of A
    const wr = aTTimes(yr, k); // p×k: right singular vectors of A, times σ (sparse: cheaper than (AᵀY)·R)
    const comps = new Float64Array(k * d);
    const docs = new Float64Array(n * k);
    if (wide) {
      for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) comps[c * d + j] = s[c]! > 0 ? wr[j * k + c]! / s[c]! : 0;
      for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) docs[i * k + c] = yr[i * k + c]! * s[c]!;
    } else {
      for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) comps[c * d + j] = yr[j * k + c]!;
      docs.set(wr);
    }
    for (let c = 0; c < k; c++) {
      let big = 0;
      for (let j = 0; j < d; j++) if (Math.abs(comps[c * d + j]!) > Math.abs(big)) big = comps[c * d + j]!;
      if (big < 0) {
        for (let j = 0; j < d; j++) comps[c * d + j] = -comps[c * d + j]!;
        for (let i = 0; i < n; i++) docs[i * k + c] = -docs[i * k + c]!;
      }
    }
    const explainedVariance = columnVariances(docs, n, k);
    const total = totalColumnVariance(x);
    const explainedVarianceRatio = Float64Array.from(explainedVariance, (v) => (total > 0 ? v / total : 0));
    this.setState({ components: comps, singularValues: s, explainedVariance, explainedVarianceRatio, nSamples: n, nFeatures: d });
    return docs;
  }

  /** Fits on X (n×d sparse). */
  async fit(x: CsrMatrix, opts: SvdRunOptions = {}): Promise<this> {
    await this.fitTransform(x, opts);
    return this;
  }

  /** X·Vᵀ: rows of X (same columns as the fit) projected on the components, n×k row-major. */
  transform(x: CsrMatrix): Float64Array {
    const s = this.state;
    assertCsr(x, "truncated SVD transform");
    if (x.cols !== s.nFeatures) {
      throw new LatentflowError("E_DIM_MISMATCH", `truncated SVD transform: expected ${s.nFeatures} columns (as the fit), found ${x.cols}`, {
        data: { expected: s.nFeatures, found: x.cols, where: "truncated SVD transform" },
      });
    }
    return csrTimesDense(x, this.componentsT!, this.options.components);
  }

  /** Restores a state (as saved by the LSA model). */
  setState(st: TruncatedSvdState): void {
    const k = this.options.components;
    const d = st.nFeatures;
    if (st.components.length !== k * d || st.singularValues.length !== k) {
      throw new LatentflowError("E_SHAPE", `truncated SVD: expected components ${k}×${d} and ${k} singular values, found ${st.components.length} and ${st.singularValues.length} values`);
    }
    this.st = st;
    const t = new Float64Array(d * k);
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) t[j * k + c] = st.components[c * d + j]!;
    this.componentsT = t;
  }
}

/** (r×a)·(a×b) row-major. */
function mul(x: Float64Array, r: number, a: number, y: Float64Array, b: number): Float64Array {
  const out = new Float64Array(r * b);
  for (let i = 0; i < r; i++) {
    for (let t = 0; t < a; t++) {
      const v = x[i * a + t]!;
      if (v === 0) continue;
      for (let c = 0; c < b; c++) out[i * b + c]! += v * y[t * b + c]!;
    }
  }
  return out;
}
