import { readFile } from "node:fs/promises";
import { canonicalJson, createVectorSet, defineStep, inputFile, sha256 } from "@latentflow/core";
import { z } from "zod";
import { textsFromRecords } from "../records.js";
import { modelDirFiles } from "./model-dir.js";
import { OnnxSentenceEncoder } from "./onnx-encoder.js";

/** `encoders-text/onnx`: records → sentence vectors from an ONNX sentence-transformer model directory. */
export const onnxStep = defineStep({
  name: "onnx",
  description:
    "Sentence embeddings from an ONNX sentence-transformer (all-MiniLM-L6-v2, BGE, E5, …): a model directory with model.onnx (or onnx/model.onnx) and tokenizer.json, run on onnxruntime-node.",
  inputs: { records: { type: "records" } },
  outputs: { vectors: { type: "vectors", description: "one vector per record with a text, the record kept as meta" } },
  params: z.strictObject({
    model: inputFile(z.string().min(1)).describe("the model directory (model.onnx or onnx/model.onnx, tokenizer.json), relative to the pipeline file"),
    field: z.string().min(1).default("text").describe("record field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
    pooling: z.enum(["mean", "cls", "max"]).optional().describe("default: the model's own pooling (a sentence_embedding output), else the directory's 1_Pooling/config.json, else mean"),
    normalize: z.boolean().default(true).describe("scale vectors to unit length"),
    maxLength: z.number().int().positive().max(32_768).optional().describe("tokens per text; longer texts are truncated (default: the model's max_seq_length)"),
    batchSize: z.number().int().positive().max(4096).default(32).describe("texts per model call"),
    threads: z.number().int().positive().max(256).optional().describe("ONNX Runtime intra-op threads (default: one per core)"),
    modelFile: z.string().min(1).optional().describe("ONNX file inside the directory, e.g. onnx/model_quantized.onnx"),
  }),
  resources: { cpuBound: true },
  shardable: "records",
  async fingerprint(p, env) {
    const files = await modelDirFiles(env.resolvePath(p.model), p.modelFile);
    const parts: string[] = [];
    for (const f of files) parts.push(`${f.slice(env.resolvePath(p.model).length)}:${sha256(await readFile(f))}`);
    return parts.join(",");
  },
  async run(ctx, { records }, p) {
    const rows = textsFromRecords(ctx, records, p.field, p.idField);
    const dir = ctx.resolvePath(p.model);
    const options = {
      ...(p.pooling ? { pooling: p.pooling } : {}),
      normalize: p.normalize,
      ...(p.maxLength ? { maxLength: p.maxLength } : {}),
      batchSize: p.batchSize,
      ...(p.threads ? { threads: p.threads } : {}),
      ...(p.modelFile ? { modelFile: p.modelFile } : {}),
    };
    // One session per process and model directory + options, shared by every shard and step.
    const encoder = await ctx.resources.use(
      `encoders-text/onnx:${dir}:${canonicalJson(options)}`,
      async () => {
        const e = await OnnxSentenceEncoder.load(dir, options);
        ctx.log.info("onnx model loaded", { space: e.space.id, dim: e.space.dim, pooling: e.pooling, maxLength: e.tokenizer.maxLength, output: e.outputName });
        return e;
      },
      (e) => e.dispose(),
    );
    const data = await encoder.encode(rows.texts, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, "texts") });
    return { vectors: createVectorSet({ space: encoder.space, ids: rows.ids, data, meta: rows.meta }) };
  },
});
