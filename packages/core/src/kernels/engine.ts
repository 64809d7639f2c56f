// Shared driver for the wasm kernels: memory layout, packing, and the tile
// loop. Used both on the main thread (knnSync) and inside pool workers.
import { readFileSync } from 'node:fs';

export type Metric = 'l2' | 'cosine' | 'ip';
export const METRIC_CODE: Record<Metric, number> = { l2: 0, ip: 1, cosine: 2 };

/** Rows per query panel / base panel; must match assembly/knn.ts. */
export const QUERY_PANEL = 4;
export const BASE_PANEL = 2;
/**
 * Base rows per tile. 128 rows × 784 floats ≈ 400 KB sits in the 512 KiB L2
 * while the query panels stream through it; measured best among 32..1024.
 * For other d the tile is scaled to the same byte budget.
 */
const TILE_BYTES = 128 * 784 * 4;
/** Queries per searchTile call: keeps calls short so V8 tiers the function up
 * to TurboFan early (no on-stack replacement for wasm). */
const QUERY_CHUNK = 512;
/** Rows copied per staging round when packing input into wasm memory. */
const STAGE_BYTES = 4 << 20;
/** Extra f32 candidates re-ranked exactly (see assembly/knn.ts). */
export const EXTRA_CANDIDATES = 16;

const WASM_PAGE = 65536;
const MAX_PAGES = 65536; // wasm32 limit: 4 GiB

export interface KnnExports {
  heapBase(): number;
  packRows(src: number, rows: number, d: number, dst: number, dp: number, P: number, j0: number): void;
  prepBase(X: number, j0: number, j1: number, n: number, dp: number, metric: number, bias: number, scale: number): void;
  initHeaps(heapD: number, heapI: number, count: number): void;
  searchTile(Q: number, q0: number, q1: number, X: number, j0: number, j1: number, dp: number,
    bias: number, scale: number, heapD: number, heapI: number, kp: number): void;
  rerank(Q: number, X: number, qa: number, qb: number, dp: number, d: number, metric: number,
    heapI: number, kp: number, k: number, outI: number, outD: number, scratch: number): void;
}

/** Byte offsets of one call's data inside the shared memory (plain data, so
 * it can be posted to workers). */
export interface Layout {
  d: number; dp: number; n: number; npad: number; m: number; mpad: number;
  k: number; kp: number; metric: number; tileRows: number;
  X: number; Q: number; bias: number; scale: number; heapD: number; heapI: number;
  outI: number; outD: number; stage: number; scratch: number; scratchBytes: number;
  end: number;
}

let cachedModule: WebAssembly.Module | undefined;
export function wasmModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(readFileSync(new URL('../../wasm/knn.wasm', import.meta.url)));
  return cachedModule;
}

export function createMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KnnExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KnnExports;
}

const align = (x: number, a: number) => Math.ceil(x / a) * a;

export function planLayout(heapBase: number, n: number, m: number, d: number, k: number,
  metric: Metric, threads: number): Layout {
  const dp = align(d, 4);
  const tileRows = Math.max(BASE_PANEL, align(Math.floor(TILE_BYTES / (dp * 4)), BASE_PANEL) || BASE_PANEL);
  const npad = align(n, tileRows);
  const mpad = align(m, QUERY_PANEL);
  const kp = k + EXTRA_CANDIDATES;
  let p = align(heapBase, 64);
  const take = (bytes: number) => { const r = p; p = align(p + bytes, 64); return r; };
  const X = take(npad * dp * 4), Q = take(mpad * dp * 4);
  const bias = take(npad * 4), scale = take(npad * 4);
  const heapD = take(mpad * kp * 4), heapI = take(mpad * kp * 4);
  const outI = take(m * k * 4), outD = take(m * k * 8);
  const stage = take(Math.max(STAGE_BYTES, d * 4));
  const scratchBytes = align(kp * 12, 64);
  const scratch = take(scratchBytes * threads);
  if (p > MAX_PAGES * WASM_PAGE) {
    throw new RangeError(`knn: ${(p / 2 ** 30).toFixed(2)} GiB needed, wasm32 memory is limited to 4 GiB`);
  }
  return { d, dp, n, npad, m, mpad, k, kp, metric: METRIC_CODE[metric], tileRows,
    X, Q, bias, scale, heapD, heapI, outI, outD, stage, scratch, scratchBytes, end: p };
}

export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength / WASM_PAGE, need = Math.ceil(bytes / WASM_PAGE);
  if (need > have) memory.grow(need - have);
}

// Copies row-major `src` (rows × d) into panel layout via a small staging area,
// so the 188 MB base is never duplicated inside wasm memory.
function packMatrix(ex: KnnExports, memory: WebAssembly.Memory, L: Layout, src: Float32Array,
  rows: number, paddedRows: number, dst: number, P: number): void {
  const f32 = new Float32Array(memory.buffer);
  // zero the padding rows/columns that packRows does not write
  const firstPadPanel = Math.floor(rows / P) * P;
  f32.fill(0, (dst >> 2) + firstPadPanel * L.dp, (dst >> 2) + paddedRows * L.dp);
  const perRound = Math.max(1, Math.floor(STAGE_BYTES / (L.d * 4)));
  for (let r0 = 0; r0 < rows; r0 += perRound) {
    const r1 = Math.min(rows, r0 + perRound);
    f32.set(src.subarray(r0 * L.d, r1 * L.d), L.stage >> 2);
    ex.packRows(L.stage, r1 - r0, L.d, dst, L.dp, P, r0);
  }
}

/** Copies inputs in and prepares per-row terms and heaps. Single-threaded. */
export function stage(ex: KnnExports, memory: WebAssembly.Memory, L: Layout,
  base: Float32Array, queries: Float32Array): void {
  packMatrix(ex, memory, L, base, L.n, L.npad, L.X, BASE_PANEL);
  packMatrix(ex, memory, L, queries, L.m, L.mpad, L.Q, QUERY_PANEL);
  // chunked so the function tiers up instead of running once in Liftoff
  for (let j0 = 0; j0 < L.npad; j0 += L.tileRows) {
    ex.prepBase(L.X, j0, j0 + L.tileRows, L.n, L.dp, L.metric, L.bias, L.scale);
  }
  ex.initHeaps(L.heapD, L.heapI, L.mpad * L.kp);
}

/**
 * Searches queries [qa, qb) (qa multiple of QUERY_PANEL) against the whole
 * base and writes their final k results. `slot` selects private scratch.
 */
export function searchRange(ex: KnnExports, L: Layout, qa: number, qb: number, slot: number): void {
  const qbPad = Math.min(align(qb, QUERY_PANEL), L.mpad);
  for (let c0 = qa; c0 < qbPad; c0 += QUERY_CHUNK) {
    const c1 = Math.min(qbPad, c0 + QUERY_CHUNK);
    for (let j0 = 0; j0 < L.npad; j0 += L.tileRows) {
      ex.searchTile(L.Q, c0, c1, L.X, j0, j0 + L.tileRows, L.dp, L.bias, L.scale, L.heapD, L.heapI, L.kp);
    }
    ex.rerank(L.Q, L.X, c0, Math.min(c1, qb), L.dp, L.d, L.metric, L.heapI, L.kp, L.k, L.outI, L.outD,
      L.scratch + slot * L.scratchBytes);
  }
}

export function collect(memory: WebAssembly.Memory, L: Layout): { indices: Int32Array; distances: Float64Array } {
  const len = L.m * L.k;
  return {
    indices: new Int32Array(memory.buffer, L.outI, len).slice(),
    distances: new Float64Array(memory.buffer, L.outD, len).slice(),
  };
}
