// Runs the UMAP SGD on the calling thread (bit-reproducible) or on worker threads sharing the embedding
// (lock-free, as umap-learn's parallel mode: threads may overwrite each other's updates of a point, so
// maps differ slightly from run to run). The workers run the very source of `sgdEpochs`.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LatentflowError, type Rng, throwIfCancelled } from "@latentflow/core";
import { sgdEpochs, type SgdTask } from "./layout.js";

/** Below this many edge visits (edges × epochs) threads cost more than they save. */
const MIN_PARALLEL_WORK = 20_000_000;
/** Epochs between progress reports and abort checks on the calling thread. */
const CHUNK_EPOCHS = 5;

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const sgdEpochs = ${sgdEpochs.toString()};
const { task, e0, e1, nEpochs, alpha, seed, barrier, threads, report } = workerData;
let s = seed;
for (let n = 0; n < nEpochs; n++) {
  s = sgdEpochs(task, e0, e1, n, n + 1, nEpochs, alpha, s);
  // Every thread finishes epoch n before any starts n + 1: the learning rate is per epoch.
  const target = (n + 1) * threads;
  if (Atomics.add(barrier, 0, 1) + 1 === target) Atomics.notify(barrier, 0);
  else for (;;) { const v = Atomics.load(barrier, 0); if (v >= target) break; Atomics.wait(barrier, 0, v); }
  if (report && (n + 1) % ${CHUNK_EPOCHS} === 0) parentPort.postMessage({ epoch: n + 1 });
  if (Atomics.load(barrier, 1) !== 0) break;
}
parentPort.postMessage({ done: true });
`;

function shared<T extends Float32Array | Float64Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** Runs `nEpochs` epochs of the task, updating `task.head` (and `task.tail` when moveOther) in place. */
export async function runSgd(task: SgdTask, nEpochs: number, alpha: number, rng: Rng, threads: number | undefined, signal: AbortSignal | undefined, onEpoch: (epoch: number) => void): Promise<void> {
  const m = task.edgeHead.length;
  const t = Math.max(1, Math.min(threads ?? availableParallelism(), Math.floor(m / 1000) || 1));
  if (t === 1 || m * nEpochs < MIN_PARALLEL_WORK) {
    let s = rng.int(0x7fffffff) + 1;
    for (let n = 0; n < nEpochs; n += CHUNK_EPOCHS) {
      throwIfCancelled(signal, "UMAP");
      const end = Math.min(nEpochs, n + CHUNK_EPOCHS);
      s = sgdEpochs(task, 0, m, n, end, nEpochs, alpha, s);
      onEpoch(end);
      // Let timers and abort signals run between chunks.
      await new Promise((r) => setImmediate(r));
    }
    return;
  }
  const head = shared(task.head);
  const tail = task.tail === task.head ? head : shared(task.tail);
  const sharedTask: SgdTask = {
    ...task,
    head,
    tail,
    edgeHead: shared(task.edgeHead),
    edgeTail: shared(task.edgeTail),
    epochsPerSample: shared(task.epochsPerSample),
    nextSample: shared(task.nextSample),
    nextNegative: shared(task.nextNegative),
  };
  // [0]: epochs finished × threads; [1]: stop flag.
  const barrier = new Int32Array(new SharedArrayBuffer(8));
  const workers: Worker[] = [];
  const onAbort = () => {
    Atomics.store(barrier, 1, 1);
    for (const w of workers) void w.terminate();
  };
  signal?.addEventListener("abort", onAbort);
  try {
    await Promise.all(
      Array.from({ length: t }, (_, w) => {
        // Edges are sorted by head point, so contiguous ranges give each thread mostly its own points.
        const e0 = Math.floor((w * m) / t);
        const e1 = Math.floor(((w + 1) * m) / t);
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { task: sharedTask, e0, e1, nEpochs, alpha, seed: rng.int(0x7fffffff) + 1, barrier, threads: t, report: w === 0 },
        });
        workers.push(worker);
        return new Promise<void>((resolve, reject) => {
          worker.on("message", (msg: { epoch?: number; done?: boolean }) => {
            if (msg.epoch !== undefined) onEpoch(msg.epoch);
            if (msg.done) resolve();
          });
          worker.on("error", reject);
          worker.on("exit", (code) => (code === 0 || signal?.aborted ? resolve() : reject(new LatentflowError("E_WORKER", `umap SGD worker exited with code ${code}`))));
        });
      }),
    );
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  throwIfCancelled(signal, "UMAP");
  task.head.set(head);
  if (task.moveOther && task.tail !== task.head) task.tail.set(tail);
  onEpoch(nEpochs);
}
