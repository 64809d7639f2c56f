import { loadTf } from "@latentflow/tfjs-runtime";
import { load as loadNsfwjs } from "nsfwjs/core";
import { InceptionV3Model } from "nsfwjs/models/inception_v3";
import { MobileNetV2Model } from "nsfwjs/models/mobilenet_v2";
import { afterAll, describe, expect, it } from "vitest";
import { decodeImage } from "../decode/decode.js";
import { emojiPayloads } from "../test/images.js";
import { InceptionV3Features, MobileNetV2Features, type NsfwjsFeatures } from "./features.js";
import { cosineDistance } from "@latentflow/core/kernels";

const cosine = (a: Float32Array, b: Float32Array): number => 1 - cosineDistance(a, b);

const disposers: Array<() => unknown> = [];
afterAll(async () => {
  for (const d of disposers) await d();
});

/**
 * Our features (batched, our preprocessing) against the plain reference: nsfwjs's own `infer(tensor,
 * 'flatten_1')` on the same decoded pixels, one image at a time, as its README shows.
 */
async function compare(enc: NsfwjsFeatures, name: "MobileNetV2" | "InceptionV3", n: number, from: number): Promise<number[]> {
  const files = emojiPayloads(n, from);
  const ours = await enc.encode(files, { batchSize: 16 });
  const tf = await loadTf();
  // Silence nsfwjs's banner about hosting the model.
  const info = console.info;
  console.info = () => {};
  const ref = await loadNsfwjs(name, { modelDefinitions: [name === "MobileNetV2" ? MobileNetV2Model : InceptionV3Model] }).finally(() => {
    console.info = info;
  });
  disposers.push(() => {
    try {
      ref.dispose();
    } catch {
      // nsfwjs 4.4 disposes its intermediate model, then the model whose layers it shares: the second throws.
    }
  });
  const dim = enc.space.dim;
  const cos: number[] = [];
  for (let i = 0; i < files.length; i++) {
    const rgb = await decodeImage(files[i]!.bytes!);
    const pixels = tf.tensor3d(rgb.data, [rgb.height, rgb.width, 3], "int32");
    const out = ref.infer(pixels, "flatten_1");
    const theirs = (await out.data()) as Float32Array;
    pixels.dispose();
    out.dispose();
    expect(theirs.length).toBe(dim);
    cos.push(cosine(ours.subarray(i * dim, (i + 1) * dim), theirs));
  }
  return cos;
}

describe("features match nsfwjs called directly on the same pixels", () => {
  for (const backend of ["onnxruntime", "wasm"] as const) {
    it(`MobileNetV2 (${backend}): 50 real images (emoji), cosine ≥ 0.9999 each`, async () => {
      const enc = await MobileNetV2Features.load({ backend });
      disposers.push(() => enc.dispose());
      expect(enc.backendName).toBe(backend);
      const cos = await compare(enc, "MobileNetV2", 50, 500);
      expect(cos).toHaveLength(50);
      expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.9999);
    });
  }

  it("InceptionV3 (default backend: onnxruntime): 12 real images, cosine ≥ 0.9999 each", async () => {
    const enc = await InceptionV3Features.load();
    expect(enc.backendName).toBe("onnxruntime");
    disposers.push(() => enc.dispose());
    const cos = await compare(enc, "InceptionV3", 12, 1200);
    expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.9999);
  });
});
