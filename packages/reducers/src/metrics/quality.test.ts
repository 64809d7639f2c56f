import { defineSpace, type VectorSet } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { Pca } from "../pca/pca.js";
import { irisSet, mnist } from "../test/data.js";
import { continuity, evaluateEmbedding, knnAccuracy, knnAccuracySplit, preservedNeighbors, trustworthiness } from "./quality.js";

/** Squared-L2 distance matrix in float64. */
function distances(vs: VectorSet): Float64Array[] {
  const n = vs.ids.length;
  const d = vs.space.dim;
  return Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (vs.data[i * d + t]! - vs.data[j * d + t]!) ** 2;
      row[j] = s;
    }
    return row;
  });
}

/** Independent slow trustworthiness, written from the formula as scikit-learn does: full argsort of every row. */
function slowTrustworthiness(high: VectorSet, low: VectorSet, k: number): number {
  const n = high.ids.length;
  const dh = distances(high);
  const dl = distances(low);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const byHigh = [...Array(n).keys()].filter((j) => j !== i).sort((a, b) => dh[i]![a]! - dh[i]![b]! || a - b);
    const rank = new Map(byHigh.map((j, r) => [j, r + 1]));
    const nnLow = [...Array(n).keys()].filter((j) => j !== i).sort((a, b) => dl[i]![a]! - dl[i]![b]! || a - b).slice(0, k);
    for (const j of nnLow) s += Math.max(0, rank.get(j)! - k);
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * s;
}

async function map(vs: VectorSet, k: number): Promise<VectorSet> {
  return new Pca({ components: k, seed: 0 }).fitTransform(vs);
}

describe("embedding quality", () => {
  it("trustworthiness equals an independent slow implementation on iris → 2-D PCA (float64 path)", async () => {
    const iris = irisSet();
    const low = await map(iris, 2);
    for (const k of [5, 12]) {
      expect(await trustworthiness(iris, low, { k })).toBeCloseTo(slowTrustworthiness(iris, low, k), 12);
    }
    // 4 → 4 components is a rotation: nothing changes rank but float32 rounding of iris' many exact ties.
    const full = await map(iris, 4);
    expect(await trustworthiness(iris, full, { k: 10 })).toBeGreaterThan(0.9999);
    expect(await continuity(iris, full, { k: 10 })).toBeGreaterThan(0.9999);
    expect(await preservedNeighbors(iris, full, { k: 10 })).toBeGreaterThan(0.99);
  });

  it("trustworthiness and continuity on 600 MNIST digits (wasm distance path) match the slow float64 ones", async () => {
    const high = mnist("t10k", 0, 600);
    const low = await map(high, 2);
    const t = await trustworthiness(high, low, { k: 15 });
    expect(Math.abs(t - slowTrustworthiness(high, low, 15))).toBeLessThan(1e-5);
    // Continuity is trustworthiness with the spaces swapped.
    expect(Math.abs((await continuity(high, low, { k: 15 })) - slowTrustworthiness(low, high, 15))).toBeLessThan(1e-5);
    // A 2-D PCA of digits is a poor map; 30 components a much better one.
    const better = await map(high, 30);
    expect(await trustworthiness(high, better, { k: 15 })).toBeGreaterThan(t + 0.1);
  });

  it("sampled estimates stay close to the full ones and are reproducible", async () => {
    const high = mnist("train", 0, 3000);
    const low = await map(high, 10);
    const full = await evaluateEmbedding(high, low, { k: 15, sample: 3000 });
    expect(full.sampled).toBe(false);
    const a = await evaluateEmbedding(high, low, { k: 15, sample: 600, seed: 4 });
    const b = await evaluateEmbedding(high, low, { k: 15, sample: 600, seed: 4 });
    expect(a).toEqual(b);
    expect(a.sampled).toBe(true);
    expect(a.queries).toBe(600);
    expect(Math.abs(a.trustworthiness - full.trustworthiness)).toBeLessThan(0.01);
    expect(Math.abs(a.continuity - full.continuity)).toBeLessThan(0.01);
    expect(Math.abs(a.preservedNeighbors - full.preservedNeighbors)).toBeLessThan(0.03);
    expect(Math.abs(a.knnAccuracy!.accuracy - full.knnAccuracy!.accuracy)).toBeLessThan(0.04);
    expect(full.trustworthiness).toBeCloseTo(await trustworthiness(high, low, { k: 15, sample: 3000 }), 12);
  });

  it("kNN accuracy: leave-one-out and train → test split on MNIST in 50 PCA dimensions", async () => {
    const train = mnist("train", 0, 4000);
    const test = mnist("t10k", 0, 500);
    const pca = await new Pca({ components: 50, seed: 0 }).fit(train);
    const loo = await knnAccuracy(await pca.transform(train), { knnK: 10, sample: 1000 });
    const split = await knnAccuracySplit(await pca.transform(train), await pca.transform(test), { knnK: 10 });
    // 10-NN on 50 PCA dimensions of 4000 digits lands near 0.93.
    expect(loo).toBeGreaterThan(0.88);
    expect(split).toBeGreaterThan(0.88);
  });

  it("refuses maps whose rows are not the input's, and too small sets", async () => {
    const iris = irisSet();
    const low = await map(iris, 2);
    const shuffled = { ...low, ids: [...low.ids].reverse() };
    await expect(trustworthiness(iris, shuffled)).rejects.toMatchObject({ code: "E_ID_MISMATCH" });
    await expect(trustworthiness(iris, low, { k: 80 })).rejects.toMatchObject({ code: "E_TOO_FEW_POINTS" });
    const space = defineSpace({ ...low.space, id: "x" });
    await expect(knnAccuracy({ space, ids: low.ids, data: low.data })).rejects.toMatchObject({ code: "E_LABEL" });
  });
});
