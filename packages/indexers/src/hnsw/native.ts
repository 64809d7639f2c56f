import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hnswlib from "hnswlib-node";
import type { Metric } from "@latentflow/core";

// The seam to hnswlib-node: its class, and moving a native index to and from bytes through a temp file
// (the addon only reads and writes files).

export type NativeHnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;

/** hnswlib's space for a Latentflow metric: the same names, with 'ip' giving 1 − q·x instead of −q·x. */
export function createNative(metric: Metric, dim: number): NativeHnsw {
  return new hnswlib.HierarchicalNSW(metric, dim);
}

/** A native index's file as bytes. */
export function nativeToBytes(native: NativeHnsw): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "latentflow-hnsw-"));
  try {
    const file = join(dir, "index.hnsw");
    native.writeIndexSync(file);
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A native index read back from bytes; deleted slots stay reusable when `allowReplaceDeleted`. */
export function nativeFromBytes(metric: Metric, dim: number, bytes: Uint8Array, allowReplaceDeleted: boolean): NativeHnsw {
  const dir = mkdtempSync(join(tmpdir(), "latentflow-hnsw-"));
  try {
    const file = join(dir, "index.hnsw");
    writeFileSync(file, bytes);
    const native = createNative(metric, dim);
    native.readIndexSync(file, allowReplaceDeleted);
    return native;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** hnswlib's distance converted to core's convention for the metric (−q·x for 'ip'; l2 and cosine agree already). */
export function toCoreDistance(metric: Metric): (d: number) => number {
  return metric === "ip" ? (d) => d - 1 : (d) => d;
}
