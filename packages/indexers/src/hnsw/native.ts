import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { LatentflowError, type Metric } from "@latentflow/core";
import type * as Hnswlib from "hnswlib-node";

// The seam to hnswlib-node: its class, and moving a native index to and from bytes through a temp file
// (the addon only reads and writes files).

export type NativeHnsw = InstanceType<typeof Hnswlib.HierarchicalNSW>;

let addon: typeof Hnswlib | undefined;

/**
 * The hnswlib-node addon, loaded on first use: a missing build (pnpm 10 skips dependency builds unless
 * allowed) must not make `import "@latentflow/indexers"` fail, nor ExactIndex, only HNSW.
 */
export function hnswlib(): typeof Hnswlib {
  if (addon) return addon;
  try {
    const mod = createRequire(import.meta.url)("hnswlib-node") as typeof Hnswlib & { default?: typeof Hnswlib };
    addon = mod.HierarchicalNSW ? mod : mod.default!;
    return addon;
  } catch (cause) {
    const message = (cause as Error).message.split("\n")[0];
    const missing = (cause as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && /hnswlib-node'/.test(message ?? "");
    throw new LatentflowError("E_NATIVE_ADDON", `HNSW needs the native addon hnswlib-node, which ${missing ? "is not installed" : `is not built (${message})`}`, {
      hint: missing
        ? "install it beside @latentflow/indexers: npm install hnswlib-node (it builds with node-gyp; a C++ compiler is needed)"
        : "allow its build and rebuild it — pnpm: `pnpm approve-builds` (or add hnswlib-node to onlyBuiltDependencies in pnpm-workspace.yaml) then `pnpm rebuild hnswlib-node`; npm: `npm rebuild hnswlib-node`; yarn: `yarn rebuild hnswlib-node`. ExactIndex needs no addon.",
      cause,
    });
  }
}

/** hnswlib's space for a Latentflow metric: the same names, with 'ip' giving 1 − q·x instead of −q·x. */
export function createNative(metric: Metric, dim: number): NativeHnsw {
  return new (hnswlib().HierarchicalNSW)(metric, dim);
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
