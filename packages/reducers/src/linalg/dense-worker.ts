// Pool worker: instantiates the dense kernel on the pool's shared memory and runs row ranges.
import { parentPort, workerData } from "node:worker_threads";
import { instantiateDense, runDenseTask, type DenseTask } from "./dense.js";

const { module, memory } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory };
const ex = instantiateDense(module, memory);

parentPort!.on("message", (msg: { id: number; task: DenseTask }) => {
  try {
    runDenseTask(ex, msg.task);
    parentPort!.postMessage({ id: msg.id });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
