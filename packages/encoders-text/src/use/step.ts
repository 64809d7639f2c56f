import { createVectorSet, defineStep } from "@latentflow/core";
import { z } from "zod";
import { textsFromRecords } from "../records.js";
import { USE_DEFAULT_BATCH_SIZE, UniversalSentenceEncoder } from "./use.js";

/** `encoders-text/use`: Universal Sentence Encoder lite vectors of a records input's texts. */
export const useStep = defineStep({
  name: "use",
  description: "Universal Sentence Encoder lite (onnxruntime-node by default; tfjs-node when installed; tfjs wasm on worker threads): each record's text → a 512-d unit vector in the space use-lite/512.",
  inputs: { records: { type: "records" } },
  outputs: { vectors: { type: "vectors", description: "one 512-d unit vector per record, ids and meta from the records" } },
  params: z.strictObject({
    field: z.string().min(1).default("text").describe("record field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
    batchSize: z.number().int().positive().max(4096).default(USE_DEFAULT_BATCH_SIZE).describe("texts per model call (texts of similar length are batched together)"),
    threads: z.number().int().min(0).max(256).optional().describe("onnxruntime: intra-op threads of its session on a worker thread; wasm: worker threads, one model each (default: all cores; 0: the step's own thread)"),
    backend: z.enum(["auto", "onnxruntime", "wasm", "tensorflow"]).default("auto").describe("auto: tfjs-node when installed, else onnxruntime (native, the same weights as an ONNX graph), else tfjs wasm"),
  }),
  resources: { cpuBound: true },
  shardable: "records",
  async run(ctx, { records }, p) {
    const rows = textsFromRecords(ctx, records, p.field, p.idField);
    // One model per process, shared by every shard and step that asks for the same backend and threads.
    const encoder = await ctx.resources.use(
      `encoders-text/use:${p.backend}:${p.threads ?? "all"}`,
      () => UniversalSentenceEncoder.load({ backend: p.backend, ...(p.threads !== undefined ? { threads: p.threads } : {}) }),
      (e) => e.dispose(),
    );
    const data = await encoder.encode(rows.texts, { batchSize: p.batchSize, signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, "texts") });
    return { vectors: createVectorSet({ space: encoder.space, ids: rows.ids, data, meta: rows.meta }) };
  },
});
