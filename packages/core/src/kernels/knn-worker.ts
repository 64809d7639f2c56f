// Pool worker: instantiates the kernel on the pool's shared memory and serves
// query ranges. The wasm module and memory arrive once, via workerData.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiate, searchRange, type Layout } from './engine.js';

const { module, memory } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory };
const ex = instantiate(module, memory);

parentPort!.on('message', (msg: { id: number; layout: Layout; qa: number; qb: number; slot: number }) => {
  try {
    searchRange(ex, msg.layout, msg.qa, msg.qb, msg.slot);
    parentPort!.postMessage({ id: msg.id });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
