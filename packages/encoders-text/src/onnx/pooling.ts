import type { OnnxPooling } from "./model-dir.js";

/**
 * Pools one row of token vectors (`hidden`, t×d starting at `offset`) into `out` (d values), as
 * sentence-transformers' Pooling module does: `mean` averages the tokens whose mask is 1, `cls` takes
 * the first token, `max` takes each dimension's largest value over the unmasked tokens.
 */
export function poolRow(hidden: Float32Array, offset: number, t: number, d: number, mask: ArrayLike<number>, maskOffset: number, pooling: OnnxPooling, out: Float32Array): void {
  if (pooling === "cls") {
    out.set(hidden.subarray(offset, offset + d));
    return;
  }
  const acc = new Float64Array(d).fill(pooling === "max" ? -Infinity : 0);
  let count = 0;
  for (let i = 0; i < t; i++) {
    if (!mask[maskOffset + i]) continue;
    count++;
    const base = offset + i * d;
    if (pooling === "max") for (let k = 0; k < d; k++) acc[k] = Math.max(acc[k]!, hidden[base + k]!);
    else for (let k = 0; k < d; k++) acc[k]! += hidden[base + k]!;
  }
  if (pooling === "mean") {
    const inv = 1 / Math.max(count, 1);
    for (let k = 0; k < d; k++) out[k] = acc[k]! * inv;
  } else {
    for (let k = 0; k < d; k++) out[k] = count > 0 ? acc[k]! : 0;
  }
}

/** Scales a vector to unit length in place; a zero vector stays zero. */
export function normalizeInPlace(v: Float32Array): void {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k]! * v[k]!;
  if (s === 0) return;
  const inv = 1 / Math.sqrt(s);
  for (let k = 0; k < v.length; k++) v[k]! *= inv;
}
