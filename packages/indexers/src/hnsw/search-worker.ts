// Batch-search worker: holds its own copy of an HNSW index (read from the file the pool wrote) and
// searches the query rows it is sent. Filters arrive as a shared bitmap over labels, computed once.
import { parentPort } from "node:worker_threads";
import type { Metric } from "@latentflow/core";
import { createNative, type NativeHnsw } from "./native.js";

export type WorkerRequest =
  | { type: "load"; id: number; file: string; metric: Metric; dim: number }
  | { type: "search"; id: number; queries: Float32Array; k: number; ef: number; allowed?: Uint8Array };

export interface WorkerReply {
  id: number;
  error?: string;
  /** m×k labels, −1 where a query had fewer than k hits. */
  labels?: Float64Array;
  distances?: Float64Array;
}

let native: NativeHnsw | undefined;
let dim = 0;

function search(queries: Float32Array, k: number, ef: number, allowed: Uint8Array | undefined): WorkerReply {
  if (!native) throw new Error("search worker: no index loaded");
  if (native.getEf() !== ef) native.setEf(ef);
  const m = queries.length / dim;
  const labels = new Float64Array(m * k).fill(-1);
  const distances = new Float64Array(m * k);
  const buf = new Array<number>(dim).fill(0);
  const filter = allowed ? (label: number) => allowed[label] === 1 : undefined;
  for (let q = 0; q < m; q++) {
    for (let j = 0; j < dim; j++) buf[j] = queries[q * dim + j]!;
    const r = filter ? native.searchKnn(buf, k, filter) : native.searchKnn(buf, k);
    for (let j = 0; j < r.neighbors.length; j++) {
      labels[q * k + j] = r.neighbors[j]!;
      distances[q * k + j] = r.distances[j]!;
    }
  }
  return { id: 0, labels, distances };
}

parentPort!.on("message", (msg: WorkerRequest) => {
  try {
    if (msg.type === "load") {
      native = createNative(msg.metric, msg.dim);
      native.readIndexSync(msg.file);
      dim = msg.dim;
      parentPort!.postMessage({ id: msg.id });
    } else {
      const r = search(msg.queries, msg.k, msg.ef, msg.allowed);
      parentPort!.postMessage({ ...r, id: msg.id }, [r.labels!.buffer as ArrayBuffer, r.distances!.buffer as ArrayBuffer]);
    }
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
