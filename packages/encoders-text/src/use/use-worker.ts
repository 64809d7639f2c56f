// One USE lite model on a worker thread (tfjs wasm, or an onnxruntime session with `intraOp` threads):
// embeds the batches the encoder sends, so the calling thread's event loop never waits on a batch.
import { parentPort, workerData } from "node:worker_threads";
import { UseGraph } from "./graph.js";
import { OnnxUseGraph } from "./onnx-graph.js";

interface Job {
  id: number;
  pieces: Int32Array;
  lengths: Int32Array;
}

/** What the encoder starts a worker with. */
export interface UseWorkerData {
  backend: "wasm" | "onnxruntime";
  /** onnxruntime's intra-op threads. */
  intraOp?: number;
}

const port = parentPort!;
const { backend, intraOp } = (workerData ?? { backend: "wasm" }) as UseWorkerData;
const ready: Promise<UseGraph | OnnxUseGraph> = backend === "onnxruntime" ? OnnxUseGraph.load(intraOp ?? 1) : UseGraph.load("wasm");
ready.then(
  () => port.postMessage({ ready: true }),
  (e: Error) => port.postMessage({ ready: false, error: e.message }),
);
port.on("message", async (job: Job) => {
  try {
    const graph = await ready;
    const out = await graph.embedPieces(job.pieces, job.lengths);
    // Transfer a buffer holding exactly the result.
    const data = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
    port.postMessage({ id: job.id, data }, [data.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: job.id, error: (e as Error).message });
  }
});
