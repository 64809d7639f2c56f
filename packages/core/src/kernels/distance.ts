import { LatentflowError } from "../errors.js";
import type { Metric } from "../space.js";

/** Squared Euclidean distance, accumulated in float64. */
export function l2sq(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

/** Inner product, accumulated in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** 1 − cos(a, b); 1 when either vector is zero (no direction to compare). */
export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  const den = Math.sqrt(aa * bb);
  return den === 0 ? 1 : 1 - ab / den;
}

/**
 * The distance Latentflow ranks by for each metric (smaller is nearer): squared L2 for "l2",
 * 1 − cosine for "cosine", negative inner product for "ip".
 */
export function distance(metric: Metric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  switch (metric) {
    case "l2":
      return l2sq(a, b);
    case "cosine":
      return cosineDistance(a, b);
    case "ip":
      return -dot(a, b);
    default:
      throw new LatentflowError("E_METRIC", `expected metric l2, cosine or ip, found '${metric as string}'`);
  }
}
