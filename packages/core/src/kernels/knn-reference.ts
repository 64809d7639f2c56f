import type { Metric } from "../space.js";
import { distance } from "./distance.js";

/** Result of a k-nearest-neighbour search: row-major m×k neighbour indices and distances. */
export interface KnnResult {
  k: number;
  indices: Int32Array;
  distances: Float64Array;
}

/**
 * Brute-force kNN in float64, one pair at a time: slow and obviously right. The reference the fast
 * kernel and every index are tested against. Ties go to the lower base index.
 */
export function knnReference(base: Float32Array, queries: Float32Array, dim: number, k: number, metric: Metric = "l2"): KnnResult {
  const n = base.length / dim;
  const m = queries.length / dim;
  const kk = Math.min(k, n);
  const indices = new Int32Array(m * kk);
  const distances = new Float64Array(m * kk);
  const d = new Float64Array(n);
  const order = new Int32Array(n);
  for (let q = 0; q < m; q++) {
    const qv = queries.subarray(q * dim, (q + 1) * dim);
    for (let i = 0; i < n; i++) {
      d[i] = distance(metric, qv, base.subarray(i * dim, (i + 1) * dim));
      order[i] = i;
    }
    order.sort((a, b) => d[a]! - d[b]! || a - b);
    for (let j = 0; j < kk; j++) {
      indices[q * kk + j] = order[j]!;
      distances[q * kk + j] = d[order[j]!]!;
    }
  }
  return { k: kk, indices, distances };
}
