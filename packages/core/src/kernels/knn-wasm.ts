// Exact brute-force k-nearest-neighbours on Float32Array data, backed by a
// wasm SIMD kernel (assembly/knn.ts) that several worker threads run on one
// shared memory.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerUrl } from '../worker-url.js';
import { cancelledError } from '../contracts/cancel.js';
import type { LatentflowError } from '../errors.js';
import {
  QUERY_PANEL, collect, createMemory, ensureMemory, instantiate, planLayout, searchRange, stage, wasmModule,
  type KnnExports, type Layout, type Metric,
} from './engine.js';

export type { Metric } from './engine.js';

export interface KnnOptions {
  /** 'l2' (squared Euclidean, default), 'ip' (−q·x) or 'cosine' (1 − cos). */
  metric?: Metric;
  /** Worker threads for knn(); default os.availableParallelism(). */
  threads?: number;
  /** Aborting stops the search at once: the pool's workers are terminated (the next call starts new ones). */
  signal?: AbortSignal;
}

export interface KnnResult {
  /** m×k row-major base indices, best first; ties go to the lower index. −1 if k > n. */
  indices: Int32Array;
  /** m×k exact float64 distances matching `indices` (squared L2 for 'l2'). */
  distances: Float64Array;
}

function validate(base: Float32Array, queries: Float32Array, dim: number, k: number): { n: number; m: number } {
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError('knn: dim must be a positive integer');
  if (!Number.isInteger(k) || k <= 0) throw new RangeError('knn: k must be a positive integer');
  if (base.length % dim || queries.length % dim) throw new RangeError('knn: array length not a multiple of dim');
  return { n: base.length / dim, m: queries.length / dim };
}

// ---------------------------------------------------------------------------
// Single-threaded, synchronous

let syncCtx: { memory: WebAssembly.Memory; ex: KnnExports } | undefined;

/** Same result as knn(), computed on the calling thread. */
export function knnSync(base: Float32Array, queries: Float32Array, dim: number, k: number,
  opts: KnnOptions = {}): KnnResult {
  const { n, m } = validate(base, queries, dim, k);
  if (!syncCtx) {
    const memory = createMemory();
    syncCtx = { memory, ex: instantiate(wasmModule(), memory) };
  }
  const { memory, ex } = syncCtx;
  const L = planLayout(ex.heapBase(), n, m, dim, k, opts.metric ?? 'l2', 1);
  ensureMemory(memory, L.end);
  stage(ex, memory, L, base, queries);
  if (m > 0) searchRange(ex, L, 0, m, 0);
  return collect(memory, L);
}

// ---------------------------------------------------------------------------
// Worker pool


interface Pending { resolve: () => void; reject: (e: Error) => void }

class Pool {
  readonly memory = createMemory();
  readonly ex = instantiate(wasmModule(), this.memory); // main-thread instance: staging only
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Calls are serialised: they share one memory layout. */
  private queue: Promise<unknown> = Promise.resolve();

  private ensureWorkers(count: number): void {
    while (this.workers.length < count) {
      const w = new Worker(workerUrl(import.meta.url, 'knn-worker.js'), {
        workerData: { module: wasmModule(), memory: this.memory },
      });
      w.on('message', (msg: { id: number; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`knn worker: ${msg.error}`)); else p.resolve();
      });
      w.on('error', (err) => { for (const p of this.pending.values()) p.reject(err); this.pending.clear(); });
      w.unref(); // an idle pool must not keep the process alive
      this.workers.push(w);
    }
  }

  private dispatch(w: Worker, layout: Layout, qa: number, qb: number, slot: number): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref(); // keep the process alive while work is outstanding
      w.postMessage({ id, layout, qa, qb, slot });
    }).finally(() => w.unref());
  }

  run(base: Float32Array, queries: Float32Array, dim: number, k: number, opts: KnnOptions): Promise<KnnResult> {
    const job = this.queue.then(async () => {
      const { n, m } = validate(base, queries, dim, k);
      const panels = Math.ceil(m / QUERY_PANEL);
      const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), panels || 1));
      const L = planLayout(this.ex.heapBase(), n, m, dim, k, opts.metric ?? 'l2', threads);
      ensureMemory(this.memory, L.end);
      stage(this.ex, this.memory, L, base, queries);
      this.ensureWorkers(threads);
      // Contiguous query ranges on panel boundaries; every query costs the same.
      const jobs: Promise<void>[] = [];
      for (let t = 0; t < threads; t++) {
        const qa = Math.floor((panels * t) / threads) * QUERY_PANEL;
        const qb = Math.min(m, Math.floor((panels * (t + 1)) / threads) * QUERY_PANEL);
        if (qb > qa) jobs.push(this.dispatch(this.workers[t], L, qa, qb, t));
      }
      await Promise.all(jobs);
      return collect(this.memory, L);
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

let pool: Pool | undefined;

/**
 * Exact k nearest neighbours of each query row among the base rows (both
 * row-major, `dim` floats per row), computed by worker threads that share one
 * wasm memory. The pool is created lazily and reused across calls.
 */
export function knn(base: Float32Array, queries: Float32Array, dim: number, k: number,
  opts: KnnOptions = {}): Promise<KnnResult> {
  pool ??= new Pool();
  const p = pool;
  const signal = opts.signal;
  if (!signal) return p.run(base, queries, dim, k, opts);
  if (signal.aborted) return Promise.reject(cancelled(signal));
  // A search of a large base runs for minutes inside the workers, where no signal reaches: stop the workers.
  return new Promise<KnnResult>((resolve, reject) => {
    const onAbort = () => {
      if (pool === p) pool = undefined;
      void p.terminate();
      reject(cancelled(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.run(base, queries, dim, k, opts).then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function cancelled(signal: AbortSignal): LatentflowError {
  return cancelledError('exact kNN', signal.reason);
}

/** Terminates the worker pool and releases its memory; knn() recreates it on demand. */
export async function dispose(): Promise<void> {
  const p = pool;
  pool = undefined;
  syncCtx = undefined;
  if (p) await p.terminate();
}
