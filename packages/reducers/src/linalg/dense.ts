// Dense products of a centred data matrix X (n×d, float32 in a shared wasm memory) with thin float64
// matrices, on worker threads running the SIMD kernel of assembly/dense.ts. PCA keeps X resident for
// a whole fit: every power iteration of the randomized solver is one call here.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { workerUrl } from "@latentflow/core";

/** Rows transposed per step of Xᵀ·Y: float32 partial sums over this many rows, float64 across steps. */
export const CHUNK = 256;
const WASM_PAGE = 65536;
const MAX_PAGES = 65536;

export interface DenseExports {
  heapBase(): number;
  nt(A: number, lda: number, B: number, ldb: number, C: number, ldc: number, m: number, p: number, k: number, acc: number): void;
  transpose(src: number, lds: number, rows: number, cols: number, dst: number, ldd: number): void;
  centerRows(X: number, ldx: number, r0: number, r1: number, d: number, mean: number): void;
}

/** Byte offsets of one session's buffers (plain data: posted to workers). */
export interface DenseLayout {
  n: number;
  d: number;
  dp: number;
  /** Widest thin matrix of the session (columns), and its padded width. */
  l: number;
  lp: number;
  X: number;
  /** d float64: the mean subtracted from X. */
  mean: number;
  B: number;
  Y: number;
  /** Per thread: transposed X chunk (dp×CHUNK), transposed Y chunk (lp×CHUNK), float64 accumulator (d×max(l,d)). */
  scratch: number;
  scratchBytes: number;
  accOffset: number;
  ytOffset: number;
  end: number;
}

/** A task for one thread: rows [r0, r1) of X. */
export interface DenseTask {
  op: "center" | "nt" | "tn" | "gram";
  layout: DenseLayout;
  r0: number;
  r1: number;
  /** Columns of the thin matrix in this call. */
  p: number;
  slot: number;
}

const align = (x: number, a: number) => Math.ceil(x / a) * a;

let cachedModule: WebAssembly.Module | undefined;
export function denseModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(readFileSync(new URL("../../wasm/dense.wasm", import.meta.url)));
  return cachedModule;
}

export function instantiateDense(module: WebAssembly.Module, memory: WebAssembly.Memory): DenseExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DenseExports;
}

function planLayout(heapBase: number, n: number, d: number, l: number, threads: number, gram: boolean): DenseLayout {
  const dp = align(d, 4);
  const lp = align(Math.max(l, 1), 4);
  let p = align(heapBase, 64);
  const take = (bytes: number) => {
    const r = p;
    p = align(p + bytes, 64);
    return r;
  };
  const X = take(n * dp * 4);
  const mean = take(d * 8);
  const B = take(lp * dp * 4);
  const Y = take(n * lp * 4);
  const accCols = gram ? Math.max(d, lp) : lp;
  const ytOffset = align(dp * CHUNK * 4, 64);
  const accOffset = ytOffset + align(lp * CHUNK * 4, 64);
  const scratchBytes = align(accOffset + d * accCols * 8, 64);
  const scratch = take(scratchBytes * threads);
  if (p > MAX_PAGES * WASM_PAGE) {
    throw new RangeError(`dense products: ${(p / 2 ** 30).toFixed(2)} GiB needed, wasm32 memory is limited to 4 GiB`);
  }
  return { n, d, dp, l, lp, X, mean, B, Y, scratch, scratchBytes, accOffset, ytOffset, end: p };
}

/** Runs one task on an instance (main thread or worker). */
export function runDenseTask(ex: DenseExports, t: DenseTask): void {
  const L = t.layout;
  const rows = t.r1 - t.r0;
  if (rows <= 0) return;
  // Calls stay short (CHUNK rows): V8 tiers a wasm function up to optimised code between calls only.
  if (t.op === "center") {
    for (let r = t.r0; r < t.r1; r += CHUNK) ex.centerRows(L.X, L.dp, r, Math.min(t.r1, r + CHUNK), L.d, L.mean);
    return;
  }
  if (t.op === "nt") {
    // Y[r0:r1, :p] = Xc[r0:r1] · Bᵀ
    for (let r = t.r0; r < t.r1; r += CHUNK) {
      ex.nt(L.X + r * L.dp * 4, L.dp, L.B, L.dp, L.Y + r * L.lp * 4, L.lp, Math.min(CHUNK, t.r1 - r), t.p, L.dp, 0);
    }
    return;
  }
  const s = L.scratch + t.slot * L.scratchBytes;
  const xt = s;
  const yt = s + L.ytOffset;
  const acc = s + L.accOffset;
  const cols = t.op === "gram" ? L.d : t.p;
  for (let r = t.r0; r < t.r1; r += CHUNK) {
    const m = Math.min(CHUNK, t.r1 - r);
    ex.transpose(L.X + r * L.dp * 4, L.dp, m, L.d, xt, CHUNK);
    if (t.op === "gram") {
      ex.nt(xt, CHUNK, xt, CHUNK, acc, cols, L.d, L.d, CHUNK, 1);
    } else {
      ex.transpose(L.Y + r * L.lp * 4, L.lp, m, t.p, yt, CHUNK);
      ex.nt(xt, CHUNK, yt, CHUNK, acc, cols, L.d, t.p, CHUNK, 1);
    }
  }
}


interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

class DensePool {
  readonly memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  readonly ex = instantiateDense(denseModule(), this.memory);
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  queue: Promise<unknown> = Promise.resolve();

  ensureWorkers(count: number): void {
    while (this.workers.length < count) {
      const w = new Worker(workerUrl(import.meta.url, "dense-worker.js"), { workerData: { module: denseModule(), memory: this.memory } });
      w.on("message", (msg: { id: number; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`dense worker: ${msg.error}`));
        else p.resolve();
      });
      w.on("error", (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      w.unref();
      this.workers.push(w);
    }
  }

  dispatch(slot: number, task: DenseTask): Promise<void> {
    const w = this.workers[slot]!;
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, task });
    }).finally(() => w.unref());
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

let pool: DensePool | undefined;

export interface DenseOptions {
  /** Worker threads; default os.availableParallelism(). 0 computes on the calling thread. */
  threads?: number;
}

/**
 * Centred data held in wasm memory for the duration of `withCentered`'s callback. Results for a fixed
 * thread count are reproducible bit for bit; another thread count changes the float64 summation order of
 * Xᵀ·Y (differences near 1e-16 relative).
 */
export interface CenteredData {
  readonly n: number;
  readonly d: number;
  /** Xcᵀ·(Xc·Z) for Z d×p row-major float64 (p ≤ the session's width): d×p float64. */
  covTimes(z: Float64Array, p: number): Promise<Float64Array>;
  /** Xc·Bᵀ for B p×d row-major: n×p float32. */
  project(b: Float64Array, p: number): Promise<Float32Array>;
  /** Xcᵀ·Xc: d×d float64. Needs the session opened with `gram: true`. */
  gram(): Promise<Float64Array>;
}

/**
 * Copies X − mean (n×d row-major) into shared wasm memory and calls `fn` with products over it. Calls are
 * serialised: sessions share one memory.
 */
export function withCentered<T>(
  x: Float32Array,
  n: number,
  d: number,
  mean: Float64Array,
  width: number,
  opts: DenseOptions & { gram?: boolean },
  fn: (c: CenteredData) => Promise<T>,
): Promise<T> {
  pool ??= new DensePool();
  const P = pool;
  const job = P.queue.then(async () => {
    const threads = opts.threads === 0 ? 0 : Math.max(1, Math.min(opts.threads ?? availableParallelism(), Math.ceil(n / CHUNK)));
    const slots = Math.max(1, threads);
    const L = planLayout(P.ex.heapBase(), n, d, width, slots, opts.gram ?? false);
    const have = P.memory.buffer.byteLength / WASM_PAGE;
    const need = Math.ceil(L.end / WASM_PAGE);
    if (need > have) P.memory.grow(need - have);
    const f32 = () => new Float32Array(P.memory.buffer);
    {
      const mem = f32();
      if (L.dp === d) mem.set(x.subarray(0, n * d), L.X >> 2);
      else for (let i = 0; i < n; i++) mem.set(x.subarray(i * d, (i + 1) * d), (L.X >> 2) + i * L.dp);
      new Float64Array(P.memory.buffer, L.mean, d).set(mean);
    }
    if (threads > 0) P.ensureWorkers(threads);
    // Row ranges on CHUNK boundaries, so a thread's float32 partial sums are the same whatever the split.
    const chunks = Math.ceil(n / CHUNK);
    const ranges = Array.from({ length: slots }, (_, t) => [Math.min(n, Math.floor((chunks * t) / slots) * CHUNK), Math.min(n, Math.floor((chunks * (t + 1)) / slots) * CHUNK)] as const);
    const runAll = async (op: DenseTask["op"], p: number) => {
      const tasks = ranges.map(([r0, r1], slot) => ({ op, layout: L, r0, r1, p, slot }));
      if (threads === 0) for (const t of tasks) runDenseTask(P.ex, t);
      else await Promise.all(tasks.map((t) => P.dispatch(t.slot, t)));
    };
    await runAll("center", 0);
    const stageB = (b: Float64Array, p: number) => {
      const mem = f32();
      for (let r = 0; r < p; r++) {
        const dst = (L.B >> 2) + r * L.dp;
        for (let j = 0; j < d; j++) mem[dst + j] = b[r * d + j]!;
        for (let j = d; j < L.dp; j++) mem[dst + j] = 0;
      }
    };
    const clearAcc = (cols: number) => {
      const f64 = new Float64Array(P.memory.buffer);
      for (let s = 0; s < slots; s++) {
        const a = (L.scratch + s * L.scratchBytes + L.accOffset) >> 3;
        f64.fill(0, a, a + d * cols);
      }
    };
    const sumAcc = (cols: number): Float64Array => {
      const f64 = new Float64Array(P.memory.buffer);
      const out = new Float64Array(d * cols);
      for (let s = 0; s < slots; s++) {
        const a = (L.scratch + s * L.scratchBytes + L.accOffset) >> 3;
        for (let i = 0; i < out.length; i++) out[i]! += f64[a + i]!;
      }
      return out;
    };
    const checkWidth = (p: number) => {
      if (!Number.isInteger(p) || p < 1 || p > width) throw new RangeError(`dense products: expected 1..${width} columns, found ${p}`);
    };
    const session: CenteredData = {
      n,
      d,
      async project(b, p) {
        checkWidth(p);
        stageB(b, p);
        await runAll("nt", p);
        const mem = f32();
        const out = new Float32Array(n * p);
        for (let i = 0; i < n; i++) out.set(mem.subarray((L.Y >> 2) + i * L.lp, (L.Y >> 2) + i * L.lp + p), i * p);
        return out;
      },
      async covTimes(z, p) {
        checkWidth(p);
        // z is d×p; the kernel wants its columns as rows (p×d).
        const zt = new Float64Array(p * d);
        for (let i = 0; i < d; i++) for (let j = 0; j < p; j++) zt[j * d + i] = z[i * p + j]!;
        stageB(zt, p);
        await runAll("nt", p);
        clearAcc(p);
        await runAll("tn", p);
        return sumAcc(p);
      },
      async gram() {
        if (!opts.gram) throw new RangeError("dense products: open the session with gram: true");
        clearAcc(d);
        await runAll("gram", d);
        return sumAcc(d);
      },
    };
    return fn(session);
  });
  P.queue = job.catch(() => undefined);
  return job;
}

/** Stops the worker threads and frees the shared memory; the next product starts them again. */
export async function disposeDense(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await p.terminate();
}
