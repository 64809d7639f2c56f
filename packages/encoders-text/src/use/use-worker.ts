// One USE lite model on the wasm backend, on a worker thread: embeds the batches the pool sends.
import { parentPort } from "node:worker_threads";
import { UseGraph } from "./graph.js";

interface Job {
  id: number;
  pieces: Int32Array;
  lengths: Int32Array;
}

const port = parentPort!;
const ready = UseGraph.load("wasm");
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
