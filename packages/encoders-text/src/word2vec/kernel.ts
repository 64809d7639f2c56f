// Driver of the wasm training kernel (assembly/word2vec.ts): one shared memory holding the weights,
// the sampling tables and per-thread scratch, and worker threads that each instantiate the kernel on
// it and train on chunks of sentences the main thread posts (Hogwild: no locks on the weights).
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { LatentflowError } from "@latentflow/core";

/** Longest sentence the kernel trains on at once; longer ones are split (gensim's MAX_WORDS_IN_BATCH). */
export const MAX_SENTENCE = 10_000;
/** Words per chunk posted to a worker. */
export const CHUNK_WORDS = 10_000;
const EXP_TABLE_SIZE = 1000;
const SLOTS_PER_THREAD = 2;
const WASM_PAGE = 65536;

interface KernelExports {
  heapBase(): number;
  fillExpTable(t: number): void;
}

/** Byte offsets inside the shared memory; plain data, posted to the workers. */
export interface KernelLayout {
  dp: number;
  syn0: number;
  syn1: number;
  alias: number;
  vocab: number;
  keep: number;
  subsample: number;
  expT: number;
  work: number[];
  rng: number[];
  slotIds: number[];
  slotLens: number[];
  window: number;
  negative: number;
  sg: number;
  cbowMean: number;
  end: number;
}

export interface KernelConfig {
  vocabSize: number;
  dim: number;
  threads: number;
  window: number;
  negative: number;
  sg: boolean;
  cbowMean: boolean;
  subsample: boolean;
}

let cachedModule: WebAssembly.Module | undefined;
function wasmModule(): WebAssembly.Module {
  if (!cachedModule) {
    // From src/word2vec (tests) and from dist/word2vec (built) alike, the wasm sits in ../../wasm.
    const url = new URL("../../wasm/word2vec.wasm", import.meta.url);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(url));
    } catch {
      throw new LatentflowError("E_WASM_MISSING", `word2vec: expected the training kernel at ${url.pathname}, found nothing`, {
        hint: "build the package (pnpm --filter @latentflow/encoders-text run build:wasm)",
      });
    }
    cachedModule = new WebAssembly.Module(bytes);
  }
  return cachedModule;
}

const align = (x: number, a: number) => Math.ceil(x / a) * a;

// The worker is tiny and plain JavaScript, so it runs from an eval'd string: the same code whether
// this module was loaded from TypeScript sources (tests) or from dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, L, t } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
parentPort.on("message", (m) => {
  try {
    const effective = ex.trainChunk(L.syn0, L.syn1, L.dp, L.alias, L.vocab, L.keep, L.subsample, L.expT,
      L.slotIds[m.slot], L.slotLens[m.slot], m.nSent, L.work[t], L.rng[t], ${MAX_SENTENCE}, L.window, L.negative, L.sg, L.cbowMean,
      m.alpha0, m.alpha1);
    parentPort.postMessage({ slot: m.slot, effective });
  } catch (err) {
    parentPort.postMessage({ slot: m.slot, error: String((err && err.message) || err) });
  }
});
`;

/** The shared weights and the worker threads that train them. `close()` ends the threads. */
export class Kernel {
  readonly memory: WebAssembly.Memory;
  readonly L: KernelLayout;
  private readonly workers: Worker[] = [];
  private readonly freeSlots: number[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private inFlight = 0;
  /** Words trained on after subsampling, summed over finished chunks. */
  effectiveWords = 0;

  constructor(cfg: KernelConfig) {
    const module = wasmModule();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
    const dp = align(cfg.dim, 4);
    let p = align(ex.heapBase(), 64);
    const take = (bytes: number) => {
      const r = p;
      p = align(p + bytes, 64);
      return r;
    };
    const expT = take(EXP_TABLE_SIZE * 4);
    const keep = take(cfg.vocabSize * 4);
    const alias = take(cfg.vocabSize * 8);
    const syn0 = take(cfg.vocabSize * dp * 4);
    const syn1 = take(cfg.vocabSize * dp * 4);
    const work: number[] = [];
    const rng: number[] = [];
    for (let t = 0; t < cfg.threads; t++) {
      work.push(take(2 * dp * 4 + MAX_SENTENCE * 4 + 8 * (cfg.negative + 1)));
      rng.push(take(8));
    }
    const slotIds: number[] = [];
    const slotLens: number[] = [];
    for (let s = 0; s < cfg.threads * SLOTS_PER_THREAD; s++) {
      slotIds.push(take(CHUNK_WORDS * 4));
      slotLens.push(take(CHUNK_WORDS * 4));
    }
    if (p > 65536 * WASM_PAGE) {
      throw new LatentflowError("E_TOO_LARGE", `word2vec: expected the model to fit in 4 GiB of wasm memory, found ${(p / 2 ** 30).toFixed(1)} GiB needed`, {
        hint: "lower vectorSize, raise minCount or set maxVocabSize",
        data: { expected: "≤ 4 GiB", found: p, where: "word2vec" },
      });
    }
    memory.grow(Math.ceil(p / WASM_PAGE) - memory.buffer.byteLength / WASM_PAGE);
    ex.fillExpTable(expT);
    this.memory = memory;
    this.L = {
      dp, syn0, syn1, alias, vocab: cfg.vocabSize, keep, subsample: cfg.subsample ? 1 : 0, expT, work, rng, slotIds, slotLens,
      window: cfg.window, negative: cfg.negative, sg: cfg.sg ? 1 : 0, cbowMean: cfg.cbowMean ? 1 : 0, end: p,
    };
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, length);
  }

  /** Starts the worker threads (after the tables and weights are written). */
  start(): void {
    const module = wasmModule();
    const threads = this.L.work.length;
    for (let t = 0; t < threads; t++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory: this.memory, L: this.L, t } });
      w.on("message", (m: { slot: number; effective?: number; error?: string }) => {
        if (m.error) this.fail(new LatentflowError("E_WORKER", `word2vec worker ${t}: ${m.error}`));
        else this.effectiveWords += m.effective!;
        this.inFlight--;
        this.freeSlots.push(m.slot);
        this.wake();
      });
      w.on("error", (err) => this.fail(err));
      w.on("exit", (code) => {
        if (code !== 0 && this.inFlight > 0) this.fail(new LatentflowError("E_WORKER", `word2vec worker ${t} exited with code ${code}`));
      });
      this.workers.push(w);
    }
    for (let s = 0; s < threads * SLOTS_PER_THREAD; s++) this.freeSlots.push(s);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }
  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** A free chunk slot, waiting for a worker to finish one if none is. */
  async acquire(): Promise<number> {
    for (;;) {
      if (this.failure) throw this.failure;
      const s = this.freeSlots.shift();
      if (s !== undefined) return s;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /** Hands the chunk written into `slot` to the worker that owns the slot. */
  post(slot: number, nSent: number, alpha0: number, alpha1: number): void {
    this.inFlight++;
    this.workers[Math.floor(slot / SLOTS_PER_THREAD)]!.postMessage({ slot, nSent, alpha0, alpha1 });
  }

  /** Waits until every posted chunk is trained. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Ends the worker threads; idempotent. */
  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
