import { describe, expect, it } from "vitest";
import { knnAccuracy } from "../metrics/quality.js";
import { mnist } from "../test/data.js";
import { Autoencoder } from "./autoencoder.js";

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

const EPOCHS = 8;

describe("Autoencoder on MNIST", () => {
  // 3000 MNIST test images, pixels in [0, 1].
  const train = mnist("t10k", 0, 3000);
  const held = mnist("t10k", 3000, 500);
  const ae = new Autoencoder({ dimensions: 2, layers: [128, 32], epochs: EPOCHS, batchSize: 32, learningRate: 0.003, seed: 1, backend: "wasm" });
  const progress: number[] = [];

  it("a 2-D code separates the digits (10-NN accuracy ≥ 0.5) and the reconstruction error falls with epochs", async () => {
    const codes = await ae.fitTransform(train, { onProgress: (done) => progress.push(done) });
    expect(codes.space.dim).toBe(2);
    expect(progress).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const h = ae.history;
    expect(h).toHaveLength(EPOCHS);
    expect(h.at(-1)!).toBeLessThan(h[0]! * 0.8);
    for (let i = 1; i < h.length; i++) expect(h[i]!).toBeLessThan(h[i - 1]! * 1.02);
    const acc = await knnAccuracy(codes, { knnK: 10 });
    console.log(`autoencoder 2-D: 10-NN accuracy ${acc.toFixed(3)}, loss by epoch ${h.map((v) => v.toFixed(4)).join(" ")}`);
    expect(acc).toBeGreaterThanOrEqual(0.5);
  });

  it("inverseTransform(transform(x)) has the input's shape and beats the mean image on held-out digits", async () => {
    const codes = await ae.transform(held);
    const rec = await ae.inverseTransform(codes);
    expect(rec.space).toEqual(held.space);
    expect(rec.ids).toEqual(held.ids);
    expect(rec.data.length).toBe(held.data.length);
    const mean = new Float32Array(784);
    for (let i = 0; i < 3000; i++) for (let j = 0; j < 784; j++) mean[j]! += train.data[i * 784 + j]! / 3000;
    const base = Float32Array.from(held.data, (_, i) => mean[i % 784]!);
    expect(mse(rec.data, held.data)).toBeLessThan(mse(base, held.data));
  });

  it("save → load gives identical codes and decodings", async () => {
    const art = ae.save();
    expect(art.kind).toBe("reducers/autoencoder");
    const loaded = Autoencoder.load(art, { backend: "wasm" });
    const a = await ae.transform(held);
    const b = await loaded.transform(held);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(Array.from((await loaded.inverseTransform(b)).data)).toEqual(Array.from((await ae.inverseTransform(a)).data));
    expect(loaded.history).toEqual(ae.history);
    await loaded.dispose();
    await ae.dispose();
    // Disposed models are rebuilt from the stored weights on demand.
    expect(Array.from((await ae.transform(held)).data)).toEqual(Array.from(a.data));
    await ae.dispose();
  });

  it("stops between batches when aborted", async () => {
    const ctl = new AbortController();
    const small = new Autoencoder({ layers: [32], epochs: 50, backend: "wasm" });
    const p = small.fit(train, { signal: ctl.signal, onProgress: (done) => done === 1 && ctl.abort() });
    await expect(p).rejects.toMatchObject({ code: "E_CANCELLED" });
    expect(small.outputSpace).toBeUndefined();
  });
});
