import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { LatentflowError, type Metric, workerUrl } from "@latentflow/core";
import type { NativeHnsw } from "./native.js";
import type { WorkerReply, WorkerRequest } from "./search-worker.js";


interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

/** Result of one chunk of queries: m×k labels (−1 = none) and hnswlib distances. */
export interface ChunkResult {
  labels: Float64Array;
  distances: Float64Array;
}

/**
 * Worker threads that each hold a copy of one HNSW index, for batch search on every core. hnswlib-node
 * searches synchronously on the calling thread, so parallel search needs one index copy per thread:
 * memory grows by one index per worker. The copies are refreshed when the index changed since the last
 * batch (`version`).
 */
export class SearchPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly dir = mkdtempSync(join(tmpdir(), "latentflow-hnsw-pool-"));
  private nextId = 0;
  private loaded = -1;
  private busy = 0;

  constructor(
    private readonly metric: Metric,
    private readonly dim: number,
  ) {}

  get threads(): number {
    return this.workers.length;
  }

  /** Searches `queries` split over `threads` workers holding the index at `version`. */
  async search(native: NativeHnsw, version: number, threads: number, queries: Float32Array, k: number, ef: number, allowed: Uint8Array | undefined): Promise<ChunkResult> {
    this.ensureWorkers(threads);
    this.busy++;
    for (const w of this.workers) w.ref();
    try {
      if (this.loaded !== version) {
        const file = join(this.dir, "index.hnsw");
        native.writeIndexSync(file);
        await Promise.all(this.workers.map((w) => this.call(w, { type: "load", id: 0, file, metric: this.metric, dim: this.dim })));
        this.loaded = version;
      }
      const m = queries.length / this.dim;
      const per = Math.ceil(m / this.workers.length);
      const parts = await Promise.all(
        this.workers.map((w, i) => {
          const chunk = queries.slice(i * per * this.dim, Math.min(m, (i + 1) * per) * this.dim);
          return chunk.length === 0 ? undefined : this.call(w, { type: "search", id: 0, queries: chunk, k, ef, ...(allowed ? { allowed } : {}) });
        }),
      );
      const labels = new Float64Array(m * k);
      const distances = new Float64Array(m * k);
      parts.forEach((p, i) => {
        if (!p) return;
        labels.set(p.labels!, i * per * k);
        distances.set(p.distances!, i * per * k);
      });
      return { labels, distances };
    } finally {
      // Idle workers must not keep the process alive when the user forgets dispose().
      if (--this.busy === 0) for (const w of this.workers) w.unref();
    }
  }

  /** Stops the workers and removes the index copy on disk. */
  dispose(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    for (const p of this.pending.values()) p.reject(new LatentflowError("E_DISPOSED", "HNSW search pool disposed during a search"));
    this.pending.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ensureWorkers(count: number): void {
    if (this.workers.length === count) return;
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    this.loaded = -1;
    for (let i = 0; i < count; i++) {
      const w = new Worker(workerUrl(import.meta.url, "search-worker.js"));
      w.on("message", (r: WorkerReply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if (r.error) p.reject(new LatentflowError("E_WORKER", `HNSW search worker: ${r.error}`));
        else p.resolve(r);
      });
      w.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      w.unref();
      this.workers.push(w);
    }
  }

  private call(w: Worker, req: WorkerRequest): Promise<WorkerReply> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...req, id });
    });
  }
}
