import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, definePlugin, loadArtifactValue, loadPipelineText, type ModelArtifact, type VectorSet } from "@latentflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knnAccuracySplit } from "../metrics/quality.js";
import { Pca } from "../pca/pca.js";
import { pcaStep } from "../pca/step.js";
import { mnist, mnistDir } from "../test/data.js";
import { umapStep } from "../umap/step.js";
import { Umap } from "../umap/umap.js";
import { loadReducer, transformStep } from "./step.js";

const reducers = definePlugin({ name: "reducers", version: "0.1.0", steps: [pcaStep, umapStep, transformStep] });
const registry = new PluginRegistry([corePlugin, reducers]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-transform-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("reducers/transform", () => {
  it("pipeline: fit PCA and UMAP on training digits, place test digits in both maps (sharded), map PCA points back", async () => {
    const text = [
      "version: 1",
      "name: transform",
      "steps:",
      "  train: { uses: core/read-idx, with: { images: train-images-idx3-ubyte, labels: train-labels-idx1-ubyte, limit: 3000, scale: 255 } }",
      "  test: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, limit: 600, scale: 255, idPrefix: t- } }",
      "  pca: { uses: reducers/pca, in: { vectors: train }, with: { components: 30 } }",
      "  pcaTest: { uses: reducers/transform, in: { model: pca.model, vectors: test }, shard: { size: 250 } }",
      "  back: { uses: reducers/transform, in: { model: pca.model, vectors: pcaTest }, with: { inverse: true } }",
      "  umap: { uses: reducers/umap, in: { vectors: pca.vectors }, with: { nEpochs: 100, seed: 1 } }",
      "  umapTest: { uses: reducers/transform, in: { model: umap.model, vectors: pcaTest } }",
    ].join("\n");
    const store = new FsArtifactStore(join(dir, "store"));
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "p.yaml"), registry, mnistDir), { store });
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    const load = async (step: string, port: string) => loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!);

    // The step gives what the library gives, shards gathered in order.
    const model = (await load("pca", "model")) as ModelArtifact;
    const test = mnist("t10k", 0, 600, "t-");
    const pcaTest = (await load("pcaTest", "vectors")) as VectorSet;
    const direct = await Pca.load(model).transform(test);
    expect(pcaTest.ids).toEqual(test.ids);
    expect(pcaTest.space.id).toBe(direct.space.id);
    let maxDiff = 0;
    for (let i = 0; i < direct.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(direct.data[i]! - pcaTest.data[i]!));
    expect(maxDiff).toBeLessThan(1e-5);

    // Inverse: back in pixel space, closer to the digits than the mean image is.
    const back = (await load("back", "vectors")) as VectorSet;
    expect(back.space.id).toBe(test.space.id);
    let errBack = 0;
    let errMean = 0;
    const mean = new Float64Array(784);
    for (let i = 0; i < 600; i++) for (let j = 0; j < 784; j++) mean[j]! += test.data[i * 784 + j]! / 600;
    for (let i = 0; i < 600 * 784; i++) {
      errBack += (back.data[i]! - test.data[i]!) ** 2;
      errMean += (mean[i % 784]! - test.data[i]!) ** 2;
    }
    expect(errBack).toBeLessThan(0.5 * errMean);

    // New points land near training points of their digit: 10-NN accuracy train map → test placements.
    const umapTrain = (await load("umap", "vectors")) as VectorSet;
    const umapTest = (await load("umapTest", "vectors")) as VectorSet;
    expect(umapTest.space.id).toBe(umapTrain.space.id);
    expect(await knnAccuracySplit(umapTrain, umapTest, { knnK: 10 })).toBeGreaterThan(0.8);
    expect(Umap.load((await load("umap", "model")) as ModelArtifact).outputSpace!.id).toBe(umapTrain.space.id);
  });

  it("refuses a model that is not a reducer's, and inverse on a map that has none", async () => {
    expect(() => loadReducer({ kind: "indexers/hnsw", format: "1", meta: {}, files: {} })).toThrow(expect.objectContaining({ code: "E_ARTIFACT_KIND" }));
    const text = [
      "version: 1",
      "name: transform-bad",
      "steps:",
      "  train: { uses: core/read-idx, with: { images: train-images-idx3-ubyte, labels: train-labels-idx1-ubyte, limit: 300, scale: 255 } }",
      "  umap: { uses: reducers/umap, in: { vectors: train }, with: { nEpochs: 20, seed: 1 } }",
      "  back: { uses: reducers/transform, in: { model: umap.model, vectors: umap.vectors }, with: { inverse: true } }",
    ].join("\n");
    const store = new FsArtifactStore(join(dir, "store-bad"));
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "p.yaml"), registry, mnistDir), { store });
    expect(rec.status).toBe("failed");
    expect(rec.steps.back!.error).toMatchObject({ code: "E_PARAM" });
    // What was computed before the failure is kept.
    expect(rec.steps.umap!.status).toBe("succeeded");
  });
});
