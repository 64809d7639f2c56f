import { LatentflowError } from "../errors.js";
import type { Metric } from "../space.js";
import { assertFinite } from "../vector-set.js";
import type { KnnResult } from "./knn-reference.js";
import { dispose, knn, knnSync } from "./knn-wasm.js";

export interface ExactKnnOptions {
  metric?: Metric;
  /** Worker threads to use; defaults to the machine's available parallelism. 0 runs on the calling thread. */
  threads?: number;
  /** Aborting rejects with E_CANCELLED at once (worker threads only; threads 0 runs to the end). */
  signal?: AbortSignal;
}

function check(base: Float32Array, queries: Float32Array, dim: number, k: number): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new LatentflowError("E_DIM", `exact kNN: expected a positive integer dim, found ${dim}`);
  if (!Number.isInteger(k) || k <= 0) throw new LatentflowError("E_PARAM", `exact kNN: expected a positive integer k, found ${k}`);
  for (const [name, a] of [["base", base], ["queries", queries]] as const) {
    if (a.length % dim !== 0) throw new LatentflowError("E_DIM_MISMATCH", `exact kNN: expected ${name} length a multiple of dim ${dim}, found ${a.length}`);
    assertFinite(a, dim, undefined, `exact kNN ${name}`);
  }
  const n = base.length / dim;
  if (n === 0) throw new LatentflowError("E_EMPTY", "exact kNN: the base set is empty");
  return Math.min(k, n);
}

/**
 * Exact k nearest neighbours of each query row among the base rows (row-major, `dim` columns): a wasm
 * SIMD kernel on worker threads sharing one memory, with candidates re-ranked in float64, so the result
 * equals float64 brute force (ties to the lower index). Distances: squared L2, 1 − cos, or −q·x.
 * `k` larger than the base set is clamped to its size (`result.k`).
 */
export async function exactKnn(base: Float32Array, queries: Float32Array, dim: number, k: number, opts: ExactKnnOptions = {}): Promise<KnnResult> {
  const kk = check(base, queries, dim, k);
  const metric = opts.metric ?? "l2";
  const r = opts.threads === 0 ? knnSync(base, queries, dim, kk, { metric }) : await knn(base, queries, dim, kk, { metric, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  return { k: kk, indices: r.indices, distances: r.distances };
}

/** Stops the kNN worker threads and frees their shared memory; the next search starts them again. */
export const disposeKnn = dispose;
