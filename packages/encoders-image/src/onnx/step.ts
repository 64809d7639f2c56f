import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalJson, defineStep, sha256 } from "@latentflow/core";
import { z } from "zod";
import { DEFAULT_LIMIT_INPUT_PIXELS } from "../decode/decode.js";
import { encodeItems } from "../encode-items.js";
import { OnnxImageEncoder, onnxImageConfigSchema } from "./onnx-image.js";

const rgb = z.number().int().min(0).max(255);

function modelFiles(model: string): string[] {
  return model.endsWith(".onnx") ? [model, model.replace(/\.onnx$/, ".preprocess.json")] : [join(model, "model.onnx"), join(model, "preprocess.json")];
}

/** `encoders-image/onnx`: a user's ONNX image model (folder with model.onnx + preprocess.json) → one vector per image item. */
export const onnxStep = defineStep({
  name: "onnx",
  description: "Encode image items with your own ONNX image model (ResNet, DINO, a CLIP image tower, …): a folder holding model.onnx and preprocess.json (size, resize, mean/std, layout, output, pooling), or an .onnx file with config given here; an image that cannot be decoded is an item failure under onError.",
  inputs: { items: { type: "items", description: "image items or media items holding image files" } },
  outputs: { vectors: { type: "vectors", description: "one vector per image, ids and meta from the items" } },
  params: z.strictObject({
    model: z.string().min(1).describe("folder with model.onnx (and preprocess.json), or an .onnx file (relative to the pipeline file)"),
    config: onnxImageConfigSchema.partial().optional().describe("preprocessing and pooling, merged over preprocess.json"),
    batchSize: z.number().int().positive().max(1024).default(32),
    threads: z.number().int().positive().max(256).optional().describe("intra-op threads (default: every core)"),
    limitInputPixels: z.number().int().positive().max(1_000_000_000).default(DEFAULT_LIMIT_INPUT_PIXELS),
    background: z.tuple([rgb, rgb, rgb]).default([255, 255, 255]),
  }),
  resources: { cpuBound: true, memoryMb: 2048 },
  shardable: "items",
  async fingerprint(p, env) {
    const parts = await Promise.all(modelFiles(env.resolvePath(p.model)).map(async (f) => readFile(f).then((b) => sha256(b), () => "missing")));
    return parts.join(",");
  },
  async run(ctx, { items }, p) {
    const model = ctx.resolvePath(p.model);
    const opts = { model, ...(p.config ? { config: p.config } : {}), ...(p.threads ? { threads: p.threads } : {}), limitInputPixels: p.limitInputPixels, background: p.background };
    const enc = await ctx.resources.use(`encoders-image/onnx:${model}:${sha256(canonicalJson({ ...p, batchSize: 0 }))}`, () => OnnxImageEncoder.load(opts), (e) => e.dispose());
    return { vectors: await encodeItems(ctx, enc, items, p, "encoders-image/onnx") };
  },
});
