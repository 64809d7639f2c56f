import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeEncoderContract } from "@latentflow/contract-tests";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageInput, RgbImage } from "../decode/decode.js";
import { emojiPayloads } from "../test/images.js";
import { OnnxImageEncoder, type OnnxImageConfig } from "./onnx-image.js";
import { ATTR_INT, ATTR_INTS, ONNX_FLOAT, encodeOnnxModel, floatTensor, onnxNode, valueInfo } from "@latentflow/onnx-runtime";

// A tiny image model the test builds itself: Conv 3 → 8 channels (3 × 3, valid), ReLU; output the feature
// map [n, 8, 6, 6] (pooled by the encoder) or, in the second model, its global average [n, 8].
const C = 8;
const W = Float32Array.from({ length: C * 3 * 3 * 3 }, (_, i) => Math.sin(i * 0.7) * 0.5);
const B = Float32Array.from({ length: C }, (_, i) => (i - 3) * 0.05);

function tinyModel(pooled: boolean): Uint8Array {
  const nodes = [
    onnxNode("Conv", ["pixels", "W", "B"], ["conv"], [{ name: "kernel_shape", type: ATTR_INTS, ints: [3, 3] }]),
    onnxNode("Relu", ["conv"], [pooled ? "relu" : "fmap"]),
    ...(pooled ? [onnxNode("GlobalAveragePool", ["relu"], ["gap"]), onnxNode("Flatten", ["gap"], ["vec"], [{ name: "axis", type: ATTR_INT, i: 1 }])] : []),
  ];
  return encodeOnnxModel(
    {
      name: "tiny",
      node: nodes,
      initializer: [floatTensor("W", [C, 3, 3, 3], W), floatTensor("B", [C], B)],
      input: [valueInfo("pixels", ONNX_FLOAT, ["batch", 3, 8, 8])],
      output: [pooled ? valueInfo("vec", ONNX_FLOAT, ["batch", C]) : valueInfo("fmap", ONNX_FLOAT, ["batch", C, 6, 6])],
    },
    { opset: 13, producer: "latentflow-test" },
  );
}

/** The model by hand: conv + ReLU + mean over the 6 × 6 map, on NCHW input x. */
function reference(x: Float32Array): Float32Array {
  const out = new Float32Array(C);
  for (let o = 0; o < C; o++) {
    let sum = 0;
    for (let y = 0; y < 6; y++)
      for (let xx = 0; xx < 6; xx++) {
        let v = B[o]!;
        for (let i = 0; i < 3; i++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) v += W[((o * 3 + i) * 3 + ky) * 3 + kx]! * x[i * 64 + (y + ky) * 8 + xx + kx]!;
        sum += Math.max(0, v);
      }
    out[o] = sum / 36;
  }
  return out;
}

let dir: string;
const CONFIG: OnnxImageConfig = { size: 8, mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.5], pooling: "mean" };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-onnx-image-"));
  await writeFile(join(dir, "model.onnx"), tinyModel(false));
  await writeFile(join(dir, "preprocess.json"), JSON.stringify(CONFIG));
  await writeFile(join(dir, "pooled.onnx"), tinyModel(true));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const img: RgbImage = { kind: "image", width: 8, height: 8, channels: 3, data: Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256) };

describe("OnnxImageEncoder", () => {
  it("normalises as configured (NCHW, mean/std per channel), pools the named output, and matches the model by hand", async () => {
    const enc = await OnnxImageEncoder.load({ model: dir });
    try {
      expect(enc.space.dim).toBe(C);
      expect(enc.space.id).toMatch(/^onnx-image\/.+:[0-9a-f]{12}\/8$/);
      expect(enc.space.producer.params).toMatchObject({ size: 8, mean: [0.5, 0.4, 0.3], pooling: "mean", layout: "NCHW", resize: "crop" });
      const x = await enc.preprocess(img);
      // Channel c of pixel p sits at c × 64 + p.
      expect(x[1 * 64 + 5]).toBeCloseTo((img.data[5 * 3 + 1]! / 255 - 0.4) / 0.2, 6);
      const v = await enc.encode([img]);
      const want = reference(x);
      for (let i = 0; i < C; i++) expect(v[i]).toBeCloseTo(want[i]!, 5);
    } finally {
      await enc.dispose();
    }
  });

  it("honours BGR and NHWC, options over preprocess.json, and pooling 'none' on an output that is already a vector", async () => {
    const bgr = await OnnxImageEncoder.load({ model: dir, config: { channelOrder: "BGR" } });
    const x = await bgr.preprocess(img);
    expect(x[0 * 64 + 5]).toBeCloseTo((img.data[5 * 3 + 2]! / 255 - 0.3) / 0.5, 6);
    await bgr.dispose();
    const pooled = await OnnxImageEncoder.load({ model: join(dir, "pooled.onnx"), config: { ...CONFIG, pooling: "none", normalize: true } });
    const plain = await OnnxImageEncoder.load({ model: dir });
    try {
      const a = await pooled.encode([img]);
      const b = await plain.encode([img]);
      const norm = Math.hypot(...b);
      for (let i = 0; i < C; i++) expect(a[i]).toBeCloseTo(b[i]! / norm, 5);
      expect(pooled.space.normalized).toBe(true);
      expect(pooled.space.id).not.toBe(plain.space.id);
    } finally {
      await pooled.dispose();
      await plain.dispose();
    }
  });

  it("refuses a bad config, a missing model and a wrong output name with coded errors", async () => {
    const code = (p: Promise<unknown>) => p.then(() => "resolved", (e: { code?: string }) => e.code);
    expect(await code(OnnxImageEncoder.load({ model: join(dir, "pooled.onnx") }))).toBe("E_MODEL_CONFIG"); // no config at all
    expect(await code(OnnxImageEncoder.load({ model: dir, config: { std: [1, 0, 1] } }))).toBe("E_MODEL_CONFIG");
    expect(await code(OnnxImageEncoder.load({ model: dir, config: { output: "logits" } }))).toBe("E_MODEL_CONFIG");
    expect(await code(OnnxImageEncoder.load({ model: dir, config: { size: 16 } }))).toBe("E_MODEL_CONFIG"); // the model takes 8 × 8
    expect(await code(OnnxImageEncoder.load({ model: join(dir, "missing") }))).toBe("E_MODEL_MISSING");
  });
});

const inputs: ImageInput[] = emojiPayloads(7, 1500);
describeEncoderContract<ImageInput>({
  name: "OnnxImageEncoder (a tiny conv model built by the test)",
  modality: "image",
  create: () => OnnxImageEncoder.load({ model: dir, limitInputPixels: 10_000_000 }),
  inputs,
  refused: [
    { label: "a truncated PNG", input: { kind: "media", mediaType: "image/png", bytes: inputs[0]!.kind === "media" ? inputs[0]!.bytes!.subarray(0, 200) : new Uint8Array(0) }, code: "E_IMAGE_DECODE" },
    { label: "a text payload", input: { kind: "text", text: "a cat" }, code: "E_INPUT" },
  ],
  // A 3000 × 2000 JPEG made from a real emoji.
  large: { kind: "media", mediaType: "image/jpeg", bytes: new Uint8Array(await sharp((inputs[3] as { bytes: Uint8Array }).bytes).resize(3000, 2000).flatten({ background: "#ffffff" }).jpeg().toBuffer()) },
});

describe("encoders-image/onnx in a pipeline", () => {
  it("encodes a folder of images with the model folder's config; a file that is no image is skipped", async () => {
    const { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText } = await import("@latentflow/core");
    const { plugin } = await import("../plugin.js");
    const { copyFile, mkdir } = await import("node:fs/promises");
    const { EMOJI_DIR } = await import("../test/images.js");
    await mkdir(join(dir, "images"), { recursive: true });
    for (const f of ["1f600.png", "1f431.png", "1f34e.png"]) await copyFile(join(EMOJI_DIR, f), join(dir, "images", f));
    // A GIF header and nothing else: sniffed as an image by the reader, refused by the decoder.
    await writeFile(join(dir, "images", "zz-broken.gif"), new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0, 0, 0x3b]));
    const text = [
      "version: 1",
      "name: onnx-image",
      "steps:",
      "  images: { uses: core/read-files, with: { dir: images }, onError: skip }",
      "  embed: { uses: encoders-image/onnx, in: { items: images }, with: { model: '.', threads: 1 }, onError: skip }",
    ].join("\n");
    const store = new FsArtifactStore(join(dir, "store"));
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "pipeline.yaml"), new PluginRegistry([corePlugin, plugin]), dir), { store });
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    const vs = (await loadArtifactValue(store, (await store.stat(rec.steps.embed!.outputs.vectors!.key))!)) as { ids: string[]; data: Float32Array; space: { dim: number } };
    expect(vs.ids).toEqual(["1f34e.png", "1f431.png", "1f600.png"]);
    expect(vs.space.dim).toBe(C);
    const skipped = [...rec.steps.images!.skipped, ...rec.steps.embed!.skipped].map((s) => s.id);
    expect(skipped).toEqual(["zz-broken.gif"]);
  });
});
