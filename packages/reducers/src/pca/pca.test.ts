import { createVectorSet } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { irisSet, mnist } from "../test/data.js";
import { Pca } from "./pca.js";

// scikit-learn's PCA on the same 150 rows (DATA.md, "reference figures").
const IRIS_RATIOS = [0.92461872, 0.05306648, 0.01710261, 0.00521218];

/** Mean squared distance between rows of two equal-shape arrays. */
function mse(a: Float32Array, b: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / n;
}

describe("Pca on iris", () => {
  it("gives scikit-learn's explained-variance ratios to 1e-6, and ratios sum to 1 with all components", async () => {
    const pca = await new Pca({ components: 4 }).fit(irisSet());
    expect(pca.solverUsed).toBe("exact");
    pca.explainedVarianceRatio.forEach((r, i) => {
      expect(Math.abs(r - IRIS_RATIOS[i]!)).toBeLessThan(1e-6);
    });
    expect(pca.explainedVarianceRatio.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    // scikit-learn's explained_variance_[0] on iris (divided by n − 1).
    expect(pca.explainedVariance[0]).toBeCloseTo(4.22824171, 6);
  });

  it("the randomized solver finds the same ratios on iris", async () => {
    const pca = await new Pca({ components: 2, solver: "randomized", seed: 1 }).fit(irisSet());
    expect(pca.solverUsed).toBe("randomized");
    expect(Math.abs(pca.explainedVarianceRatio[0]! - IRIS_RATIOS[0]!)).toBeLessThan(1e-6);
    expect(Math.abs(pca.explainedVarianceRatio[1]! - IRIS_RATIOS[1]!)).toBeLessThan(1e-6);
  });

  it("transform equals fitTransform, components are orthonormal, whitening gives unit variance", async () => {
    const iris = irisSet();
    const pca = new Pca({ components: 3, whiten: true });
    const y = await pca.fitTransform(iris);
    const again = await pca.transform(iris);
    expect(Array.from(again.data)).toEqual(Array.from(y.data));
    expect(y.space.dim).toBe(3);
    expect(y.meta).toEqual(iris.meta);
    const c = pca.components;
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        let s = 0;
        for (let j = 0; j < 4; j++) s += c[a * 4 + j]! * c[b * 4 + j]!;
        expect(s).toBeCloseTo(a === b ? 1 : 0, 10);
      }
      let v = 0;
      for (let i = 0; i < 150; i++) v += y.data[i * 3 + a]! ** 2;
      expect(v / 149).toBeCloseTo(1, 5);
    }
    // Whitening is undone by inverseTransform: all 4 components reconstruct exactly.
    const full = new Pca({ components: 4, whiten: true });
    const back = full.inverseTransform(await full.fitTransform(iris));
    expect(mse(back.data, iris.data, 150)).toBeLessThan(1e-10);
    expect(back.space).toEqual(iris.space);
  });
});

describe("Pca on MNIST", () => {
  const train = mnist("train", 0, 5000);

  it("reconstruction error of inverseTransform(transform(x)) falls as components grow", async () => {
    const test = mnist("t10k", 0, 1000);
    const errors: number[] = [];
    for (const k of [2, 10, 30, 60, 120]) {
      const pca = await new Pca({ components: k, seed: 3 }).fit(train);
      errors.push(mse(pca.inverseTransform(await pca.transform(test)).data, test.data, 1000));
    }
    for (let i = 1; i < errors.length; i++) expect(errors[i]!).toBeLessThan(errors[i - 1]!);
    // The mean digit alone leaves ~52 (sum of squared pixel deviations); 120 components keep most of it.
    expect(errors.at(-1)!).toBeLessThan(0.15 * errors[0]!);
  });

  it("randomized (wasm kernel, threads) agrees with exact: top-10 ratios within 1e-5, subspaces aligned", async () => {
    const exact = await new Pca({ components: 20, solver: "exact" }).fit(train);
    const rand = await new Pca({ components: 20, solver: "randomized", seed: 7 }).fit(train);
    const one = await new Pca({ components: 20, solver: "randomized", seed: 7, threads: 0 }).fit(train);
    expect(exact.solverUsed).toBe("exact");
    expect(rand.solverUsed).toBe("randomized");
    for (let i = 0; i < 10; i++) {
      expect(Math.abs(rand.explainedVarianceRatio[i]! - exact.explainedVarianceRatio[i]!)).toBeLessThan(1e-5);
      expect(Math.abs(one.explainedVarianceRatio[i]! - rand.explainedVarianceRatio[i]!)).toBeLessThan(1e-9);
      // |cos| between the i-th components of the two solvers.
      let dot = 0;
      for (let j = 0; j < 784; j++) dot += rand.components[i * 784 + j]! * exact.components[i * 784 + j]!;
      expect(Math.abs(dot)).toBeGreaterThan(0.999);
    }
    // The exact ratios of 5000 MNIST digits (numpy float64 on the same rows: 0.0970, 0.0710, …).
    expect(exact.explainedVarianceRatio[0]).toBeGreaterThan(0.09);
    expect(exact.explainedVarianceRatio[0]).toBeLessThan(0.11);
  });

  it("the wasm path and the float64 JavaScript path project alike; save/load keeps the transform", async () => {
    const pca = await new Pca({ components: 50, seed: 1 }).fit(train);
    const big = mnist("t10k", 0, 2000); // 2000·784·50 multiply-adds: the wasm kernel
    const y = await pca.transform(big);
    const small = await pca.transform({ ...big, ids: big.ids.slice(0, 10), data: big.data.subarray(0, 10 * 784), meta: big.meta!.slice(0, 10) });
    for (let i = 0; i < 500; i++) expect(Math.abs(y.data[i]! - small.data[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(small.data[i]!)));
    const loaded = Pca.load(pca.save());
    expect(Array.from((await loaded.transform(big)).data)).toEqual(Array.from(y.data));
    expect(loaded.outputSpace).toEqual(pca.outputSpace);
    expect(Array.from(loaded.explainedVarianceRatio)).toEqual(Array.from(pca.explainedVarianceRatio));
  });

  it("refuses a NaN and too many components with clear codes", async () => {
    const bad = createVectorSet({ space: train.space, data: train.data.slice(0, 10 * 784) });
    bad.data[3 * 784 + 5] = Number.NaN;
    await expect(new Pca({ components: 2 }).fit(bad)).rejects.toMatchObject({ code: "E_NOT_FINITE" });
    const few = { ...train, ids: train.ids.slice(0, 5), data: train.data.subarray(0, 5 * 784), meta: train.meta!.slice(0, 5) };
    await expect(new Pca({ components: 6 }).fit(few)).rejects.toMatchObject({ code: "E_TOO_FEW_POINTS" });
    expect(() => new Pca({ components: 0 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
  });
});
