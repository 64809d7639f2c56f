import { symmetricEigen } from "./eigen.js";
import { orthonormalizeColumns } from "./orthonormalize.js";

export interface SubspaceIterationOptions {
  /** Standard normal draws for the random start (a seeded generator: same seed, same result). */
  normal: () => number;
  /** Power iterations after the first product (Halko et al.'s q): q + 1 products before Rayleigh–Ritz. */
  iterations: number;
  /** Called before each product (cancellation checks, yielding to the event loop); may throw. */
  beforeProduct?: () => void | Promise<void>;
  /** Called after each of the q + 2 products with (done, total, what). */
  onProgress?: (done: number, total: number, message: string) => void;
}

/**
 * The leading eigenpairs of a symmetric positive semi-definite operator C (dim×dim) known only through
 * products `apply(Z) = C·Z` (Z: dim×cols row-major): randomized subspace iteration (Halko, Martinsson & Tropp
 * 2011, alg. 4.4) — Y ← orth(C·Y) from a Gaussian start, q + 1 times — then Rayleigh–Ritz on
 * M = Yᵀ(C·Y). Returns the orthonormal basis `y` (dim×cols), the Ritz values (largest first) and the Ritz
 * vectors in M's eigenbasis (`vectors`, cols×cols, column j for value j): Y·vectors are the eigenvectors.
 * PCA applies a covariance, truncated SVD A·Aᵀ, UMAP's projection a sampled covariance.
 */
export async function subspaceIteration(
  apply: (z: Float64Array, cols: number) => Float64Array | Promise<Float64Array>,
  dim: number,
  cols: number,
  opts: SubspaceIterationOptions,
): Promise<{ y: Float64Array; values: Float64Array; vectors: Float64Array }> {
  const total = opts.iterations + 2;
  let y = new Float64Array(dim * cols);
  for (let i = 0; i < y.length; i++) y[i] = opts.normal();
  orthonormalizeColumns(y, dim, cols);
  for (let it = 0; it <= opts.iterations; it++) {
    await opts.beforeProduct?.();
    y = Float64Array.from(await apply(y, cols));
    orthonormalizeColumns(y, dim, cols);
    opts.onProgress?.(it + 1, total, it === 0 ? "range" : "power iteration");
  }
  await opts.beforeProduct?.();
  const cy = await apply(y, cols);
  const m = new Float64Array(cols * cols);
  for (let r = 0; r < dim; r++) {
    for (let a = 0; a < cols; a++) {
      const ya = y[r * cols + a]!;
      if (ya === 0) continue;
      for (let b = 0; b < cols; b++) m[a * cols + b]! += ya * cy[r * cols + b]!;
    }
  }
  const { values, vectors } = symmetricEigen(m, cols);
  opts.onProgress?.(total, total, "rayleigh-ritz");
  return { y, values, vectors };
}
