// The kNN graph UMAP starts from: exact kNN (core's wasm SIMD kernel) in the input space, or — when
// n²·d makes that too slow — exact kNN in a PCA projection of the data (randomized subspace iteration).
import { createRng } from "@latentflow/core";
import { exactKnn } from "@latentflow/core/kernels";
import { subspaceIteration } from "@latentflow/linalg";

/** An orthonormal basis of the leading principal subspace: `basis` is dim×l row-major, columns by decreasing variance. */
export interface Projection {
  mean: Float32Array;
  basis: Float32Array;
  l: number;
}

/** Y(m×l) = (X − mean)·B, skipping zeros of X (image pixels, counts, one-hot columns cost nothing). */
function projectRows(x: Float32Array, rows: Int32Array | null, m: number, dim: number, mean: Float64Array, basis: Float64Array | Float32Array, l: number): Float64Array {
  const y = new Float64Array(m * l);
  const shift = new Float64Array(l);
  for (let f = 0; f < dim; f++) {
    const mf = mean[f]!;
    if (mf === 0) continue;
    for (let c = 0; c < l; c++) shift[c] = shift[c]! + mf * basis[f * l + c]!;
  }
  for (let r = 0; r < m; r++) {
    const xo = (rows ? rows[r]! : r) * dim;
    const yo = r * l;
    for (let f = 0; f < dim; f++) {
      const v = x[xo + f]!;
      if (v === 0) continue;
      const bo = f * l;
      for (let c = 0; c < l; c++) y[yo + c] = y[yo + c]! + v * basis[bo + c]!;
    }
    for (let c = 0; c < l; c++) y[yo + c] = y[yo + c]! - shift[c]!;
  }
  return y;
}

/**
 * The leading `l` principal directions of the rows of x (n×dim), by randomized subspace iteration on up
 * to `sampleRows` evenly spaced rows, refined by Rayleigh–Ritz so columns come out ordered.
 */
export async function principalProjection(x: Float32Array, n: number, dim: number, l: number, seed: string, sampleRows = 10000, iterations = 3): Promise<Projection> {
  l = Math.min(l, dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let f = 0; f < dim; f++) mean[f] = mean[f]! + x[i * dim + f]!;
  for (let f = 0; f < dim; f++) mean[f] = mean[f]! / n;
  const s = Math.min(n, sampleRows);
  const rows = new Int32Array(s);
  for (let r = 0; r < s; r++) rows[r] = Math.floor((r * n) / s);
  const rng = createRng(`${seed}/umap-pca`);
  // A few extra columns make the leading l converge faster.
  const lp = Math.min(dim, l + 10);
  // The sampled rows' covariance times q: Xcᵀ(Xc q).
  const covTimes = (q: Float64Array): Float64Array => {
    const y = projectRows(x, rows, s, dim, mean, q, lp);
    const next = new Float64Array(dim * lp);
    const colSum = new Float64Array(lp);
    for (let r = 0; r < s; r++) {
      const xo = rows[r]! * dim;
      const yo = r * lp;
      for (let c = 0; c < lp; c++) colSum[c] = colSum[c]! + y[yo + c]!;
      for (let f = 0; f < dim; f++) {
        const v = x[xo + f]!;
        if (v === 0) continue;
        const no = f * lp;
        for (let c = 0; c < lp; c++) next[no + c] = next[no + c]! + v * y[yo + c]!;
      }
    }
    for (let f = 0; f < dim; f++) for (let c = 0; c < lp; c++) next[f * lp + c] = next[f * lp + c]! - mean[f]! * colSum[c]!;
    return next;
  };
  // Subspace iteration; the Ritz vectors rotate q onto the principal axes (largest first).
  const { y: q, vectors } = await subspaceIteration(covTimes, dim, lp, { normal: () => rng.normal(), iterations: iterations - 1 });
  const order = Array.from({ length: lp }, (_, i) => i);
  const basis = new Float32Array(dim * l);
  for (let f = 0; f < dim; f++) {
    for (let c = 0; c < l; c++) {
      const col = order[c]!;
      let v = 0;
      for (let j = 0; j < lp; j++) v += q[f * lp + j]! * vectors[j * lp + col]!;
      basis[f * l + c] = v;
    }
  }
  return { mean: Float32Array.from(mean), basis, l };
}

/** Projects rows onto a principal basis (n×l, float32). */
export function applyProjection(p: Projection, x: Float32Array, dim: number): Float32Array {
  const n = x.length / dim;
  return Float32Array.from(projectRows(x, null, n, dim, Float64Array.from(p.mean), p.basis, p.l));
}

/** Unit-length copy of the rows (cosine kNN is l2 kNN on them). */
export function normaliseRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let s = 0;
    for (let f = 0; f < dim; f++) s += x[o + f]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let f = 0; f < dim; f++) out[o + f] = x[o + f]! * inv;
  }
  return out;
}

/** kNN with true distances as UMAP uses them: Euclidean (not squared) or 1 − cos. */
export async function umapKnn(base: Float32Array, queries: Float32Array, dim: number, k: number, metric: "l2" | "cosine", threads?: number, signal?: AbortSignal): Promise<{ indices: Int32Array; distances: Float64Array; k: number }> {
  const r = await exactKnn(base, queries, dim, k, { metric, ...(threads !== undefined ? { threads } : {}), ...(signal ? { signal } : {}) });
  const d = r.distances;
  if (metric === "l2") for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(Math.max(0, d[i]!));
  else for (let i = 0; i < d.length; i++) d[i] = Math.max(0, d[i]!);
  return r;
}
