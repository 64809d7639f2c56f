import { codecFor, defineSpace, type VectorSet } from "@latentflow/core";
import { beforeAll, describe, expect, it } from "vitest";
import { knnAccuracy, knnAccuracySplit, trustworthiness } from "../metrics/quality.js";
import { irisSet, mnist } from "../test/data.js";
import { findAbParams } from "./layout.js";
import { smoothKnnDist } from "./fuzzy-set.js";
import { Umap } from "./umap.js";

describe("umap pieces match umap-learn", () => {
  it("fits a, b from minDist and spread as find_ab_params", () => {
    // umap-learn 0.5: find_ab_params(1.0, 0.1) → (1.5769, 0.8951); (1.0, 0.5) → (0.5830, 1.3341)
    const c = findAbParams(1, 0.1);
    expect(c.a).toBeCloseTo(1.577, 2);
    expect(c.b).toBeCloseTo(0.895, 2);
    const d = findAbParams(1, 0.5);
    expect(d.a).toBeCloseTo(0.583, 2);
    expect(d.b).toBeCloseTo(1.334, 2);
  });

  it("calibrates sigma so the memberships sum to log2(k)", () => {
    const k = 5;
    const dists = Float64Array.from([0, 1, 2, 3, 4, 0, 0.5, 0.5, 2, 7]);
    const { sigma, rho } = smoothKnnDist(dists, k);
    expect(Array.from(rho)).toEqual([1, 0.5]);
    for (let i = 0; i < 2; i++) {
      let s = 0;
      for (let j = 1; j < k; j++) s += Math.exp(-Math.max(0, dists[i * k + j]! - rho[i]!) / sigma[i]!);
      expect(s).toBeCloseTo(Math.log2(k), 4);
    }
  });
});

describe("umap on 10k MNIST test images", () => {
  const data = mnist("t10k", 0, 10000);
  let umap: Umap;
  let map: VectorSet;
  const progress: number[] = [];
  const units = new Set<string>();
  const totals = new Set<number | undefined>();

  beforeAll(async () => {
    umap = new Umap({ seed: 7 });
    map = await umap.fitTransform(data, {
      onProgress: (done, total, message) => {
        progress.push(done);
        totals.add(total);
        units.add(message?.split(" ")[0] ?? "");
      },
    });
  });

  it("separates the digits: 10-NN accuracy ≥ 0.90, trustworthiness@15 ≥ 0.90", async () => {
    expect(map.ids).toEqual(data.ids);
    expect(map.space.dim).toBe(2);
    expect(map.space.id).toBe("pixels/28x28/umap-2d");
    const acc = await knnAccuracy(map, { knnK: 10, sample: 10000 });
    const trust = await trustworthiness(data, map, { k: 15, sample: 2000 });
    console.log(`umap 10k MNIST: 10-NN accuracy ${acc.toFixed(4)}, trustworthiness@15 ${trust.toFixed(4)}`);
    expect(acc).toBeGreaterThanOrEqual(0.9);
    expect(trust).toBeGreaterThanOrEqual(0.9);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.at(-1)).toBe(Math.max(...progress));
    // Progress counts layout epochs (500 for 10k points), and says so.
    expect([...totals]).toEqual([500]);
    expect([...units]).toEqual(["epochs"]);
  });

  it("transforms held-out images near their class, and a saved model transforms the same", async () => {
    const held = mnist("train", 0, 1000);
    const placed = await umap.transform(held);
    expect(placed.ids).toEqual(held.ids);
    const acc = await knnAccuracySplit(map, placed, { knnK: 10 });
    console.log(`umap transform of 1000 held-out train images: 10-NN accuracy against the map ${acc.toFixed(4)}`);
    expect(acc).toBeGreaterThanOrEqual(0.85);

    // Through the model port's codec, as a pipeline stores it.
    const codec = codecFor("model");
    const loaded = Umap.load(codec.decode(codec.encode(umap.save())));
    expect(loaded.outputSpace).toEqual(umap.outputSpace);
    expect(loaded.embedding).toEqual(umap.embedding);
    const again = await loaded.transform(held);
    expect(again.data).toEqual(placed.data);
  });

  it("refuses vectors of another space", async () => {
    const other = { ...mnist("train", 0, 20), space: defineSpace({ id: "other", dim: 784, metric: "l2", normalized: false, modality: "image", producer: { name: "x", version: "1" } }) };
    await expect(umap.transform(other)).rejects.toMatchObject({ code: "E_SPACE_MISMATCH" });
  });
});

describe("umap determinism and bad input", () => {
  it("gives the same map for the same seed (threads: 1) and another for another seed", async () => {
    const data = mnist("t10k", 0, 1200);
    const a = await new Umap({ seed: 1, threads: 1, nEpochs: 100 }).fitTransform(data);
    const b = await new Umap({ seed: 1, threads: 1, nEpochs: 100 }).fitTransform(data);
    const c = await new Umap({ seed: 2, threads: 1, nEpochs: 100 }).fitTransform(data);
    expect(b.data).toEqual(a.data);
    expect(c.data).not.toEqual(a.data);
  });

  it("maps iris with cosine too and keeps species apart", async () => {
    const iris = irisSet();
    const map = await new Umap({ nNeighbors: 10, metric: "cosine", threads: 1 }).fitTransform(iris);
    expect(await knnAccuracy(map, { knnK: 5 })).toBeGreaterThan(0.9);
  });

  it("rejects NaN, too few points and bad options with clear codes", async () => {
    const data = mnist("t10k", 0, 40);
    const bad: VectorSet = { ...data, data: Float32Array.from(data.data) };
    bad.data[5 * 784 + 3] = Number.NaN;
    await expect(new Umap().fit(bad)).rejects.toMatchObject({ code: "E_NOT_FINITE" });
    await expect(new Umap({ nNeighbors: 15 }).fit(mnist("t10k", 0, 12))).rejects.toMatchObject({ code: "E_TOO_FEW_POINTS" });
    expect(() => new Umap({ minDist: 2, spread: 1 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new Umap({ nNeighbors: 1 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    await expect(new Umap().transform(data)).rejects.toMatchObject({ code: "E_NOT_FITTED" });
    expect(() => Umap.load({ kind: "reducers/pca", format: "1", meta: {}, files: {} })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_KIND" }));
  });
});
