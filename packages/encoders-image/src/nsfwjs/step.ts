import { defineStep, type StepContext } from "@latentflow/core";
import { z } from "zod";
import { DEFAULT_LIMIT_INPUT_PIXELS } from "../decode/decode.js";
import { encodeItems } from "../encode-items.js";
import { NSFWJS_DEFAULT_BATCH_SIZE, InceptionV3Features, MobileNetV2Features, type NsfwjsFeatures } from "./features.js";
import type { NsfwjsModelName } from "./model-files.js";

const rgb = z.number().int().min(0).max(255);

const params = z.strictObject({
  batchSize: z.number().int().positive().max(1024).default(NSFWJS_DEFAULT_BATCH_SIZE).describe("images per model call"),
  backend: z.enum(["auto", "onnxruntime", "wasm", "tensorflow"]).default("auto").describe("auto: tfjs-node when installed, else onnxruntime (the same weights as an ONNX graph); wasm: tfjs wasm, one thread"),
  threads: z.number().int().positive().max(256).optional().describe("onnxruntime: intra-op threads (default: every core)"),
  limitInputPixels: z.number().int().positive().max(1_000_000_000).default(DEFAULT_LIMIT_INPUT_PIXELS).describe("an image file with more pixels fails as an item (E_IMAGE_TOO_LARGE) before it is decoded"),
  background: z.tuple([rgb, rgb, rgb]).default([255, 255, 255]).describe("RGB that transparent pixels are flattened onto (part of the space)"),
});

type Params = z.output<typeof params>;

/** Loads the backbone once per process and options (shared by every shard and step). */
function encoderFor(ctx: StepContext, model: NsfwjsModelName, p: Params): Promise<NsfwjsFeatures> {
  const opts = { backend: p.backend, limitInputPixels: p.limitInputPixels, background: p.background, ...(p.threads !== undefined ? { threads: p.threads } : {}) } as const;
  return ctx.resources.use(
    `encoders-image/${model}:${p.backend}:${p.threads ?? "all"}:${p.limitInputPixels}:${p.background.join(",")}`,
    () => (model === "mobilenet_v2" ? MobileNetV2Features.load(opts) : InceptionV3Features.load(opts)),
    (e) => e.dispose(),
  );
}

function featuresStep(name: "mobilenet" | "inception", model: NsfwjsModelName, what: string) {
  return defineStep({
    name,
    description: `${what} of nsfwjs (fine-tuned on nsfwjs's classes): image items (decoded, or image files) → features of layer flatten_1, with nsfwjs's own preprocessing; an image that cannot be decoded is an item failure under onError.`,
    inputs: { items: { type: "items", description: "image items or media items holding image files" } },
    outputs: { vectors: { type: "vectors", description: "one feature vector per image, ids and meta from the items" } },
    params,
    resources: { cpuBound: true, memoryMb: model === "inception_v3" ? 2048 : 1024 },
    shardable: "items",
    async run(ctx, { items }, p) {
      const enc = await encoderFor(ctx, model, p);
      return { vectors: await encodeItems(ctx, enc, items, p, `encoders-image/${name}`) };
    },
  });
}

/** `encoders-image/mobilenet`: MobileNetV2 (224 × 224) → 1280-d features. */
export const mobilenetStep = featuresStep("mobilenet", "mobilenet_v2", "MobileNetV2 at 224 × 224 → 1280-d");
/** `encoders-image/inception`: InceptionV3 (299 × 299) → 2048-d features. */
export const inceptionStep = featuresStep("inception", "inception_v3", "InceptionV3 at 299 × 299 → 2048-d");
