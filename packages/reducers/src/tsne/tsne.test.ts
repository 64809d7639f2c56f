import { codecFor, createRng, defineSpace, type VectorSet } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { knnAccuracy, knnAccuracySplit, trustworthiness } from "../metrics/quality.js";
import { mnist, pixels } from "../test/data.js";
import { conditionalP, symmetrize } from "./affinities.js";
import { exactRepulsion, TsneGradient } from "./gradient.js";
import { ThreadedTsneGradient } from "./threads.js";
import { Tsne } from "./tsne.js";
import { exactKnn } from "@latentflow/core/kernels";
import { codeOf } from "@latentflow/core/testing";

/** P of a vector set as the fit computes it (k nearest, perplexity-calibrated, symmetrised). */
async function affinities(vs: VectorSet, perplexity: number) {
  const n = vs.ids.length;
  const k = Math.min(n - 1, Math.floor(3 * perplexity + 1));
  const r = await exactKnn(vs.data, vs.data, vs.space.dim, k + 1, { threads: 0 });
  const idx = new Int32Array(n * k);
  const dist = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      idx[i * k + j] = r.indices[i * (k + 1) + j + 1];
      dist[i * k + j] = r.distances[i * (k + 1) + j + 1];
    }
  }
  return symmetrize(conditionalP(dist, n, k, perplexity), idx, n, k);
}

describe("t-SNE on MNIST (10k test images, raw pixels)", () => {
  // 500 iterations instead of 1000 keep the test short; the full run is the benchmark's job.
  it("makes a map with 10-NN accuracy ≥ 0.90 and trustworthiness@15 ≥ 0.90, and places held-out digits near their class", async () => {
    const vs = mnist("t10k", 0, 10_000);
    const tsne = new Tsne({ nIter: 500, seed: 1 });
    let calls = 0;
    const map = await tsne.fitTransform(vs, { onProgress: () => calls++ });
    expect(calls).toBeGreaterThan(10);
    expect(tsne.info?.method).toBe("barnes_hut");
    expect(tsne.info?.klMethod).toBe("barnes_hut");
    expect(tsne.info?.klDivergence).toBeGreaterThan(0);
    expect(tsne.info?.klDivergence).toBeLessThan(2.5);
    const acc = await knnAccuracy(map, { knnK: 10, sample: 10_000 });
    const trust = await trustworthiness(vs, map, { k: 15, sample: 1000 });
    console.log(`t-SNE MNIST 10k: KL ${tsne.info?.klDivergence.toFixed(3)}, 10-NN accuracy ${acc.toFixed(4)}, trustworthiness@15 ${trust.toFixed(4)} (1000-point sample)`);
    expect(acc).toBeGreaterThanOrEqual(0.9);
    expect(trust).toBeGreaterThanOrEqual(0.9);

    const held = mnist("train", 0, 500);
    const placed = await tsne.transform(held);
    expect(placed.space).toEqual(map.space);
    const heldAcc = await knnAccuracySplit(map, placed, { knnK: 10 });
    console.log(`t-SNE transform of 500 training digits: 10-NN accuracy against the map ${heldAcc.toFixed(4)}`);
    expect(heldAcc).toBeGreaterThanOrEqual(0.9);
  });
});

describe("t-SNE gradients", () => {
  it("Barnes-Hut agrees with the exact gradient (θ = 0 exactly, θ = 0.5 closely), threads or not", async () => {
    const vs = mnist("t10k", 0, 600);
    const n = 600;
    const P = await affinities(vs, 30);
    const rng = createRng("grad");
    const y = new Float64Array(n * 2);
    for (let i = 0; i < y.length; i++) y[i] = rng.normal() * 10;
    const exact = new Float64Array(n * 2);
    const e = await new TsneGradient(P, n, 2, "exact", 0).evaluate(y, 1, exact);
    const rel = (g: Float64Array) => {
      let a = 0;
      let b = 0;
      for (let i = 0; i < g.length; i++) {
        a += (g[i] - exact[i]) ** 2;
        b += exact[i] ** 2;
      }
      return Math.sqrt(a / b);
    };
    const g0 = new Float64Array(n * 2);
    const b0 = await new TsneGradient(P, n, 2, "barnes_hut", 0).evaluate(y, 1, g0);
    expect(rel(g0)).toBeLessThan(1e-9);
    expect(b0.z / e.z - 1).toBeLessThan(1e-9);
    const g5 = new Float64Array(n * 2);
    const b5 = await new TsneGradient(P, n, 2, "barnes_hut", 0.5).evaluate(y, 1, g5);
    expect(rel(g5)).toBeLessThan(0.02);
    expect(Math.abs(b5.z / e.z - 1)).toBeLessThan(0.01);
    expect(Math.abs(b5.kl - e.kl)).toBeLessThan(0.01);
    const threaded = await ThreadedTsneGradient.create(P, n, 0.5, 2);
    try {
      const gt = new Float64Array(n * 2);
      const bt = await threaded.evaluate(y, 1, gt);
      for (let i = 0; i < gt.length; i++) expect(gt[i]).toBeCloseTo(g5[i], 12);
      expect(bt.kl).toBeCloseTo(b5.kl, 10);
    } finally {
      await threaded.dispose();
    }
    // The exact repulsion is the O(n²) sum it claims to be.
    const rep = new Float64Array(4);
    const z = exactRepulsion(Float64Array.of(0, 0, 3, 4), 2, 2, rep);
    expect(z).toBeCloseTo(2 / 26, 15);
    expect(rep[0]).toBeCloseTo(-3 / 26 ** 2, 15);
  });

  it("the KL divergence falls as the optimisation runs (exact, 2-D and 3-D; Barnes-Hut)", async () => {
    const vs = mnist("t10k", 0, 250);
    for (const dimensions of [2, 3]) {
      const kls = [];
      for (const nIter of [260, 350, 500]) {
        const t = new Tsne({ nIter, dimensions, seed: 3 });
        await t.fit(vs);
        expect(t.info?.method).toBe("exact");
        expect(t.info?.klMethod).toBe("exact");
        kls.push(t.info!.klDivergence);
      }
      expect(kls[1]).toBeLessThan(kls[0]);
      expect(kls[2]).toBeLessThan(kls[1]);
    }
    const big = mnist("t10k", 0, 1000);
    const kls = [];
    for (const nIter of [260, 400]) {
      const t = new Tsne({ nIter, method: "barnes_hut", seed: 3 });
      await t.fit(big);
      // Up to 5000 points the reported KL is exact even after a Barnes-Hut run.
      expect(t.info?.klMethod).toBe("exact");
      kls.push(t.info!.klDivergence);
    }
    expect(kls[1]).toBeLessThan(kls[0]);
  });
});

describe("t-SNE model", () => {
  it("is reproducible from its seed, bit for bit, on worker threads too", async () => {
    const vs = mnist("t10k", 0, 1200);
    const run = (seed: number, init: "pca" | "random") => new Tsne({ nIter: 300, seed, init, threads: 2 }).fitTransform(vs);
    const a = await run(5, "random");
    const b = await run(5, "random");
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const c = await run(6, "random");
    expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
  });

  it("saves and loads as a model artifact: same map, same placements; without training data transform refuses", async () => {
    const vs = mnist("t10k", 0, 500);
    const t = new Tsne({ nIter: 300, perplexity: 20, seed: 2 });
    const map = await t.fitTransform(vs);
    const codec = codecFor("model");
    const art = codec.decode(codec.encode(t.save()));
    expect(art.kind).toBe("reducers/tsne");
    const loaded = Tsne.load(art);
    expect(loaded.outputSpace).toEqual(t.outputSpace);
    expect(loaded.info).toEqual(t.info);
    expect(Array.from(loaded.embedding!)).toEqual(Array.from(map.data));
    const q = mnist("train", 0, 50);
    expect(Array.from((await loaded.transform(q)).data)).toEqual(Array.from((await t.transform(q)).data));
    const slim = Tsne.load(t.save({ trainingData: false }));
    expect(await codeOf(slim.transform(q))).toBe("E_NOT_SUPPORTED");
    expect(() => Tsne.load({ ...art, kind: "reducers/umap" })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_KIND" }));
  });

  it("refuses bad input with clear errors", async () => {
    const vs = mnist("t10k", 0, 100);
    const t = new Tsne({ nIter: 50, perplexity: 10 });
    expect(await codeOf(t.transform(vs))).toBe("E_NOT_FITTED");
    await t.fit(vs);
    const otherSpace = defineSpace({ ...pixels, id: "pixels/other" });
    expect(await codeOf(t.transform({ ...vs, space: otherSpace }))).toBe("E_SPACE_MISMATCH");
    const nan = { ...vs, data: vs.data.slice() };
    nan.data[123] = Number.NaN;
    expect(await codeOf(new Tsne().fit(nan))).toBe("E_NOT_FINITE");
    expect(await codeOf(t.transform(nan))).toBe("E_NOT_FINITE");
    const tooBig = new Tsne({ perplexity: 100 }).fit(vs);
    await expect(tooBig).rejects.toThrow(/perplexity must be less than the number of points; expected perplexity < 100, found 100/);
    expect(await codeOf(new Tsne({ perplexity: 100 }).fit(vs))).toBe("E_TOO_FEW_POINTS");
    expect(() => new Tsne({ method: "barnes_hut", dimensions: 3 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new Tsne({ perplexity: -1 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    const ac = new AbortController();
    ac.abort();
    await expect(new Tsne().fit(vs, { signal: ac.signal })).rejects.toMatchObject({ code: "E_CANCELLED" });
  });
});
