import { Worker } from "node:worker_threads";
import type { InferenceSession, Tensor } from "onnxruntime-node";
import type { SessionWorkerData, WireTensor } from "./session-worker.js";
import { workerUrl } from "@latentflow/core";

/** The part of an onnxruntime-node InferenceSession the sentence encoder uses. */
export interface SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  run(feeds: Record<string, Tensor>, fetches: string[]): Promise<Record<string, Pick<Tensor, "type" | "data" | "dims" | "dispose">>>;
  release(): Promise<void>;
}

/** What the worker reports of its session once it is made. */
interface SessionMeta {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: InferenceSession.ValueMetadata[];
  outputMetadata: InferenceSession.ValueMetadata[];
}


/**
 * An InferenceSession living on a worker thread: `run` sends the feeds over (their buffers transferred,
 * not copied) and resolves with the outputs, while the calling thread's event loop keeps running.
 */
export class ThreadSession implements SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (o: Record<string, WireTensor>) => void; reject: (e: Error) => void }>();
  #next = 0;
  #broken: Error | undefined;

  private constructor(worker: Worker, meta: SessionMeta) {
    this.#worker = worker;
    this.inputNames = meta.inputNames;
    this.outputNames = meta.outputNames;
    this.inputMetadata = meta.inputMetadata;
    this.outputMetadata = meta.outputMetadata;
    worker.on("message", (msg: { id?: number; out?: Record<string, WireTensor>; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) worker.unref();
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.out!);
    });
    const fail = (e: Error) => {
      this.#broken ??= e;
      for (const p of this.#pending.values()) p.reject(this.#broken);
      this.#pending.clear();
    };
    worker.on("error", (e) => fail(new Error(`the ONNX Runtime worker thread failed: ${e.message}`)));
    worker.on("exit", (code) => fail(new Error(`the ONNX Runtime worker thread stopped (exit code ${code})`)));
  }

  /** Creates the session on a new worker thread; rejects with onnxruntime's own message if it cannot. */
  static create(modelPath: string, options: InferenceSession.SessionOptions): Promise<ThreadSession> {
    const data: SessionWorkerData = { modelPath, options };
    // --input-type (node -e scripts) is refused by workers started from a file.
    const worker = new Worker(workerUrl(import.meta.url, "session-worker.js"), { workerData: data, execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")) });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: { ready?: boolean; error?: string } & SessionMeta) => {
        if (msg.ready === undefined) return;
        worker.off("message", onMessage);
        worker.off("error", onError);
        if (msg.ready) {
          // An idle session must not keep the process alive; run() refs while a batch is out.
          worker.unref();
          resolve(new ThreadSession(worker, msg));
        } else {
          void worker.terminate();
          reject(new Error(msg.error));
        }
      };
      const onError = (e: Error) => {
        worker.off("message", onMessage);
        reject(e);
      };
      worker.on("message", onMessage);
      worker.once("error", onError);
    });
  }

  run(feeds: Record<string, Tensor>, fetches: string[]): Promise<Record<string, Pick<Tensor, "type" | "data" | "dims" | "dispose">>> {
    if (this.#broken) return Promise.reject(this.#broken);
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      // The encoder makes a fresh array per feed, so it can be handed over rather than copied.
      const data = t.data as WireTensor["data"];
      wire[name] = { type: t.type, data, dims: [...t.dims] };
      transfer.push(data.buffer as ArrayBuffer);
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (out) => resolve(Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { ...t, dispose() {} }])) as never),
        reject,
      });
      this.#worker.ref();
      this.#worker.postMessage({ id, feeds: wire, fetches }, transfer);
    });
  }

  /** Releases the session on its thread, then ends the thread. */
  async release(): Promise<void> {
    if (!this.#broken) {
      this.#broken = new Error("the session was released");
      this.#worker.ref();
      await new Promise<void>((resolve) => {
        const onMessage = (m: { released?: boolean }) => m.released && done();
        const timer = setTimeout(() => done(), 5000);
        const done = () => {
          clearTimeout(timer);
          this.#worker.off("message", onMessage);
          resolve();
        };
        this.#worker.on("message", onMessage);
        this.#worker.once("exit", done);
        this.#worker.postMessage({ release: true });
      });
    }
    await this.#worker.terminate();
  }
}
