// Spectral initialisation (umap-learn's `spectral_layout`): the eigenvectors of the normalised graph
// Laplacian I − D^-1/2 W D^-1/2 with the smallest nonzero eigenvalues, found here as the largest of
// D^-1/2 W D^-1/2 by Lanczos with full reorthogonalisation, the trivial vector D^1/2·1 deflated.
import type { Rng } from "@latentflow/core";
import type { Csr } from "./fuzzy-set.js";
import { symmetricEigen } from "@latentflow/linalg";

/** Number of connected components of a symmetric graph (union–find). */
export function connectedComponents(g: Csr): number {
  const parent = new Int32Array(g.n);
  for (let i = 0; i < g.n; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  let count = g.n;
  for (let i = 0; i < g.n; i++) {
    for (let p = g.indptr[i]!; p < g.indptr[i + 1]!; p++) {
      const a = find(i), b = find(g.indices[p]!);
      if (a !== b) {
        parent[a] = b;
        count--;
      }
    }
  }
  return count;
}

/**
 * The `dim` leading nontrivial eigenvectors of D^-1/2 W D^-1/2 (row-major n×dim), scaled as umap-learn
 * does (max |x| = 10, plus N(0, 1e-4) noise). `steps` Lanczos vectors are kept.
 */
export function spectralLayout(g: Csr, dim: number, rng: Rng, steps = 64): Float32Array {
  const n = g.n;
  const isd = new Float64Array(n);
  const u0 = new Float64Array(n);
  let norm0 = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let p = g.indptr[i]!; p < g.indptr[i + 1]!; p++) s += g.data[p]!;
    isd[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
    u0[i] = Math.sqrt(s);
    norm0 += s;
  }
  norm0 = Math.sqrt(norm0);
  for (let i = 0; i < n; i++) u0[i] = u0[i]! / norm0;
  const m = Math.max(dim + 1, Math.min(steps, n - 1));
  const V: Float64Array[] = [];
  const alpha = new Float64Array(m);
  const beta = new Float64Array(m);
  const w = new Float64Array(n);
  const orthogonalise = (v: Float64Array, upto: number): void => {
    // Twice, against the trivial vector and every earlier Lanczos vector: classical Gram–Schmidt re-run keeps them orthogonal.
    for (let pass = 0; pass < 2; pass++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += v[i]! * u0[i]!;
      for (let i = 0; i < n; i++) v[i] = v[i]! - d * u0[i]!;
      for (let j = 0; j < upto; j++) {
        const vj = V[j]!;
        let dj = 0;
        for (let i = 0; i < n; i++) dj += v[i]! * vj[i]!;
        for (let i = 0; i < n; i++) v[i] = v[i]! - dj * vj[i]!;
      }
    }
  };
  let v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  orthogonalise(v, 0);
  let nv = 0;
  for (let i = 0; i < n; i++) nv += v[i]! * v[i]!;
  nv = Math.sqrt(nv);
  for (let i = 0; i < n; i++) v[i] = v[i]! / nv;
  let steps2 = m;
  for (let j = 0; j < m; j++) {
    V.push(v);
    // w = D^-1/2 W D^-1/2 v
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let p = g.indptr[i]!; p < g.indptr[i + 1]!; p++) {
        const c = g.indices[p]!;
        s += g.data[p]! * isd[c]! * v[c]!;
      }
      w[i] = s * isd[i]!;
    }
    let a = 0;
    for (let i = 0; i < n; i++) a += w[i]! * v[i]!;
    alpha[j] = a;
    const next = Float64Array.from(w);
    orthogonalise(next, j + 1);
    let b = 0;
    for (let i = 0; i < n; i++) b += next[i]! * next[i]!;
    b = Math.sqrt(b);
    if (j === m - 1 || b < 1e-10) {
      steps2 = j + 1;
      break;
    }
    beta[j] = b;
    for (let i = 0; i < n; i++) next[i] = next[i]! / b;
    v = next;
  }
  const k = steps2;
  const T = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    T[j * k + j] = alpha[j]!;
    if (j + 1 < k) {
      T[j * k + j + 1] = beta[j]!;
      T[(j + 1) * k + j] = beta[j]!;
    }
  }
  const { values, vectors } = symmetricEigen(T, k);
  const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => values[y]! - values[x]!);
  const out = new Float64Array(n * dim);
  for (let d = 0; d < Math.min(dim, k); d++) {
    const col = order[d]!;
    for (let j = 0; j < k; j++) {
      const c = vectors[j * k + col]!;
      if (c === 0) continue;
      const vj = V[j]!;
      for (let i = 0; i < n; i++) out[i * dim + d] = out[i * dim + d]! + c * vj[i]!;
    }
  }
  let max = 0;
  for (let i = 0; i < out.length; i++) max = Math.max(max, Math.abs(out[i]!));
  const scale = max > 0 ? 10 / max : 1;
  const res = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) res[i] = out[i]! * scale + rng.normal() * 1e-4;
  return res;
}
