import { describeReducerContract } from "@latentflow/contract-tests";
import { mnist } from "@latentflow/contract-tests/mnist";
import type { VectorSet } from "@latentflow/core";
import { exactKnn } from "@latentflow/core/kernels";
import { describe, expect, it } from "vitest";
import { MetricHead } from "./metric-head.js";

describeReducerContract("MetricHead (triplet loss)", {
  create: (seed) => new MetricHead({ dimensions: 8, steps: 150, batchSize: 32, seed }),
  load: (a) => MetricHead.load(a),
  dimensions: 8,
  transformMatchesFit: true,
});

async function knnAccuracy(base: VectorSet, queries: VectorSet, k: number, metric: "l2" | "cosine"): Promise<number> {
  const dim = base.space.dim;
  const res = await exactKnn(base.data, queries.data, dim, k, { metric, threads: 0 });
  let right = 0;
  for (let q = 0; q < queries.ids.length; q++) {
    const votes = new Map<unknown, number>();
    let best: unknown;
    let top = 0;
    for (let j = 0; j < k; j++) {
      const l = base.meta![res.indices[q * res.k + j]!]!.label;
      const v = (votes.get(l) ?? 0) + 1;
      votes.set(l, v);
      if (v > top) {
        top = v;
        best = l;
      }
    }
    if (best === queries.meta![q]!.label) right++;
  }
  return right / queries.ids.length;
}

describe("MetricHead on real data", () => {
  it("MNIST pixels: training moves same-digit points together (held-out 10-NN far above the untrained head, near the raw 784-d pixels)", async () => {
    const train = mnist("train", 0, 2000);
    const test = mnist("t10k", 0, 1000);
    const raw = await knnAccuracy(train, test, 10, "l2");
    const untrained = new MetricHead({ dimensions: 32, steps: 1, learningRate: 1e-9, seed: 1 });
    const before = await knnAccuracy(await untrained.fitTransform(train), await untrained.transform(test), 10, "cosine");
    const head = new MetricHead({ dimensions: 32, steps: 600, learningRate: 0.001, seed: 1 });
    const after = await knnAccuracy(await head.fitTransform(train), await head.transform(test), 10, "cosine");
    console.log(`MNIST 2000 → 1000, 10-NN: raw pixels ${raw.toFixed(3)}, untrained 32-d head ${before.toFixed(3)}, trained ${after.toFixed(3)}`);
    expect(after).toBeGreaterThan(before + 0.03);
    expect(after).toBeGreaterThan(raw - 0.03);
    expect(head.finalLoss).toBeLessThan(0.2);
  });

  it("refuses points without labels (E_LABELS) and a single label", async () => {
    const train = mnist("train", 0, 50);
    const unlabelled: VectorSet = { ...train, meta: train.meta!.map(() => ({})) };
    await expect(new MetricHead({ steps: 5 }).fit(unlabelled)).rejects.toMatchObject({ code: "E_LABELS" });
    const one: VectorSet = { ...train, meta: train.meta!.map(() => ({ label: 1 })) };
    await expect(new MetricHead({ steps: 5 }).fit(one)).rejects.toMatchObject({ code: "E_LABELS" });
  });
});

describe("encoders-image/metric-head in a pipeline", () => {
  it("trains on labelled MNIST vectors, applies the head to other vectors, and outputs the model", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText } = await import("@latentflow/core");
    const { mnistDir } = await import("@latentflow/contract-tests/mnist");
    const { plugin } = await import("../plugin.js");
    const dir = await mkdtemp(join(tmpdir(), "latentflow-metric-head-"));
    try {
      const idx = (f: string) => JSON.stringify(join(mnistDir, f));
      const text = [
        "version: 1",
        "name: head",
        "steps:",
        `  train: { uses: core/read-idx, with: { images: ${idx("train-images-idx3-ubyte")}, labels: ${idx("train-labels-idx1-ubyte")}, limit: 300, scale: 255 } }`,
        `  test: { uses: core/read-idx, with: { images: ${idx("t10k-images-idx3-ubyte")}, labels: ${idx("t10k-labels-idx1-ubyte")}, limit: 50, scale: 255 } }`,
        "  head: { uses: encoders-image/metric-head, in: { vectors: train, apply: test }, with: { dimensions: 16, steps: 40 } }",
      ].join("\n");
      const store = new FsArtifactStore(join(dir, "store"));
      const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "p.yaml"), new PluginRegistry([corePlugin, plugin]), dir), { store });
      expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
      const out = (await loadArtifactValue(store, (await store.stat(rec.steps.head!.outputs.vectors!.key))!)) as VectorSet;
      expect(out.ids).toHaveLength(50);
      expect(out.space.dim).toBe(16);
      expect(out.space.id).toContain("metric-head-16d");
      const model = await loadArtifactValue(store, (await store.stat(rec.steps.head!.outputs.model!.key))!);
      const again = await MetricHead.load(model as never).transform(mnist("t10k", 0, 50));
      expect(again.data.length).toBe(out.data.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
