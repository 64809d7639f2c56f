// The leading principal components of the input by block power (subspace) iteration, enough to start
// t-SNE from the data's main directions. Only a handful of components are wanted, so this is a few
// passes over X rather than a full decomposition.
import { orthonormalizeRows, symmetricEigen } from "@latentflow/linalg";
import type { Rng } from "@latentflow/core";

/**
 * Scores of the rows of X (n×D, row-major) on its first `k` principal components (n×k, row-major),
 * each component's sign fixed so its largest-magnitude loading is positive (as scikit-learn's svd_flip).
 */
export function pcaScores(X: Float32Array, n: number, D: number, k: number, rng: Rng, iterations = 12): Float64Array {
  const r = Math.min(D, k + 6);
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let t = 0; t < D; t++) mean[t] += X[i * D + t];
  for (let t = 0; t < D; t++) mean[t] /= n;
  const V = new Float64Array(r * D);
  for (let i = 0; i < V.length; i++) V[i] = rng.normal();
  orthonormalizeRows(V, r, D, 1);
  const U = new Float64Array(n * r);
  const meanDot = new Float64Array(r);
  // U = (X − mean) V
  const project = (): void => {
    for (let a = 0; a < r; a++) {
      let s = 0;
      for (let t = 0; t < D; t++) s += mean[t] * V[a * D + t];
      meanDot[a] = s;
    }
    for (let i = 0; i < n; i++) {
      const row = i * D;
      for (let a = 0; a < r; a++) {
        const va = a * D;
        let s = 0;
        for (let t = 0; t < D; t++) s += X[row + t] * V[va + t];
        U[i * r + a] = s - meanDot[a];
      }
    }
  };
  for (let it = 0; it < iterations; it++) {
    project();
    // V = (X − mean)ᵀ U; the mean term is mean · Σ_i U_i.
    V.fill(0);
    const colSum = new Float64Array(r);
    for (let i = 0; i < n; i++) {
      const row = i * D;
      for (let a = 0; a < r; a++) {
        const u = U[i * r + a];
        if (u === 0) continue;
        colSum[a] += u;
        const va = a * D;
        for (let t = 0; t < D; t++) V[va + t] += u * X[row + t];
      }
    }
    for (let a = 0; a < r; a++) for (let t = 0; t < D; t++) V[a * D + t] -= mean[t] * colSum[a];
    orthonormalizeRows(V, r, D, 1);
  }
  project();
  // Rayleigh-Ritz: rotate the subspace onto the eigenvectors of Uᵀ U.
  const M = new Float64Array(r * r);
  for (let a = 0; a < r; a++) {
    for (let b = a; b < r; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += U[i * r + a] * U[i * r + b];
      M[a * r + b] = s;
      M[b * r + a] = s;
    }
  }
  const { vectors } = symmetricEigen(M, r);
  const out = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    const w = new Float64Array(r);
    for (let a = 0; a < r; a++) w[a] = vectors[a * r + c];
    // Sign: the loading (component in input coordinates) of largest magnitude is positive.
    let best = 0;
    let bestAbs = -1;
    for (let t = 0; t < D; t++) {
      let s = 0;
      for (let a = 0; a < r; a++) s += w[a] * V[a * D + t];
      if (Math.abs(s) > bestAbs) {
        bestAbs = Math.abs(s);
        best = s;
      }
    }
    const sign = best < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let a = 0; a < r; a++) s += U[i * r + a] * w[a];
      out[i * k + c] = sign * s;
    }
  }
  return out;
}
