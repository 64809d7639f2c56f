// An onnxruntime-node session on a worker thread (see session-thread.ts): onnxruntime-node computes a run
// synchronously, so on the encoder's own thread a batch would stall its event loop for the whole run.
import { parentPort, workerData } from "node:worker_threads";
import type { InferenceSession, Tensor } from "onnxruntime-node";

/** What the worker is started with. */
export interface SessionWorkerData {
  modelPath: string;
  options: InferenceSession.SessionOptions;
}

/** A tensor crossing threads: its buffer is transferred. */
export interface WireTensor {
  type: Tensor.Type;
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
  dims: readonly number[];
}

const port = parentPort!;
const { modelPath, options } = workerData as SessionWorkerData;
const plain = (list: readonly InferenceSession.ValueMetadata[]) =>
  list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));

const ready = import("onnxruntime-node").then(async (ort) => ({ ort, session: await ort.InferenceSession.create(modelPath, options) }));
ready.then(
  ({ session }) =>
    port.postMessage({
      ready: true,
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      inputMetadata: plain(session.inputMetadata),
      outputMetadata: plain(session.outputMetadata),
    }),
  (e: Error) => port.postMessage({ ready: false, error: e.message }),
);

port.on("message", async (msg: { id: number; feeds: Record<string, WireTensor>; fetches: string[] } | { release: true }) => {
  if ("release" in msg) {
    const { session } = await ready;
    await session.release();
    port.postMessage({ released: true });
    return;
  }
  try {
    const { ort, session } = await ready;
    const feeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
    const result = await session.run(feeds, msg.fetches);
    const out: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const name of msg.fetches) {
      const t = result[name]!;
      // A copy that owns its buffer exactly: the tensor's data may be a view into native memory.
      const data = (t.data as Float32Array).slice();
      out[name] = { type: t.type, data, dims: [...t.dims] };
      transfer.push(data.buffer as ArrayBuffer);
      t.dispose();
    }
    for (const f of Object.values(feeds)) f.dispose();
    port.postMessage({ id: msg.id, out }, transfer);
  } catch (e) {
    port.postMessage({ id: msg.id, error: (e as Error).message });
  }
});
