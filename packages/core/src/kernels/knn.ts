import type { Metric } from "../space.js";
import { knnReference, type KnnResult } from "./knn-reference.js";

export interface ExactKnnOptions {
  metric?: Metric;
  /** Worker threads to use; defaults to the machine's available parallelism. */
  threads?: number;
}

/** Exact k nearest neighbours of each query row among the base rows (row-major, `dim` columns). */
export async function exactKnn(base: Float32Array, queries: Float32Array, dim: number, k: number, opts: ExactKnnOptions = {}): Promise<KnnResult> {
  return knnReference(base, queries, dim, k, opts.metric ?? "l2");
}
