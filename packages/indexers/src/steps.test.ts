import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsArtifactStore, type LatentflowAggregateError, LocalExecutor, PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText, type ModelArtifact, type RowMeta, type RunRecord } from "@latentflow/core";
import { HnswIndex } from "./hnsw/hnsw.js";
import { plugin } from "./plugin.js";
import { mnistDir } from "./test/mnist.js";
import { VERSION } from "./version.js";

const registry = new PluginRegistry([corePlugin, plugin]);
const executor = new LocalExecutor();
let dir: string;
let store: FsArtifactStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-indexers-"));
  store = new FsArtifactStore(join(dir, "store"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(lines: string[]): Promise<RunRecord> {
  const text = ["version: 1", "name: indexers-test", "steps:", ...lines.map((l) => `  ${l}`)].join("\n");
  return executor.run(loadPipelineText(text, join(dir, "pipeline.yaml"), registry, mnistDir), { store, concurrency: 2 });
}

async function output<T>(rec: RunRecord, step: string, port: string): Promise<T> {
  return (await loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!)) as T;
}

const READ = [
  "train: { uses: core/read-idx, with: { images: train-images-idx3-ubyte, labels: train-labels-idx1-ubyte, limit: 3000, scale: 255, idPrefix: train- } }",
  "test: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, labels: t10k-labels-idx1-ubyte, limit: 150, scale: 255, idPrefix: test- } }",
];

describe("indexers steps in a pipeline on MNIST", () => {
  it("hnsw → query (sharded or not, filtered) → evaluate; exact query equals core/knn", async () => {
    const rec = await run([
      ...READ,
      "index: { uses: indexers/hnsw, in: { vectors: train }, with: { m: 16, efConstruction: 100 } }",
      "exact: { uses: indexers/exact, in: { vectors: train } }",
      "query: { uses: indexers/query, in: { index: index, queries: test }, with: { k: 5, ef: 80 } }",
      "sharded: { uses: indexers/query, in: { index: index, queries: test }, with: { k: 5, ef: 80 }, shard: { size: 64 } }",
      "sevens: { uses: indexers/query, in: { index: index, queries: test }, with: { k: 5, filter: { label: { in: [7] } } } }",
      "exactQuery: { uses: indexers/query, in: { index: exact, queries: test }, with: { k: 5 } }",
      "knn: { uses: core/knn, in: { base: train, queries: test }, with: { k: 5 } }",
      "evaluate: { uses: indexers/evaluate, in: { index: index, queries: test }, with: { k: 5, ef: [10, 80], timing: true } }",
      "evaluateGiven: { uses: indexers/evaluate, in: { index: index, queries: test, truth: exact }, with: { k: 5, ef: 80 } }",
    ]);
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");

    const model = await output<ModelArtifact>(rec, "index", "index");
    expect(model.kind).toBe("indexers/hnsw");
    const index = HnswIndex.load(model);
    expect(index.size).toBe(3000);
    index.dispose();

    const hits = await output<RowMeta[]>(rec, "query", "neighbors");
    expect(hits).toHaveLength(150);
    expect(hits[0]).toMatchObject({ id: "test-0", neighbors: expect.any(Array), distances: expect.any(Array) });
    expect((hits[0]!.neighbors as string[]).length).toBe(5);
    expect(rec.steps.sharded!.shards).toEqual({ count: 3, fromCache: 0 });
    expect(rec.steps.sharded!.outputs.neighbors!.hash).toBe(rec.steps.query!.outputs.neighbors!.hash);

    const sevens = await output<RowMeta[]>(rec, "sevens", "neighbors");
    const train = await output<{ ids: string[]; meta: RowMeta[] }>(rec, "train", "vectors");
    const labelOf = new Map(train.ids.map((id, i) => [id, train.meta[i]!.label]));
    for (const r of sevens) for (const id of r.neighbors as string[]) expect(labelOf.get(id)).toBe(7);

    // The exact index answers exactly what core's exact kNN step answers.
    expect(await output(rec, "exactQuery", "neighbors")).toEqual(await output(rec, "knn", "neighbors"));

    const report = await output<{ results: { ef: number; recall: number; qps: number }[]; batch: { qps: number } }>(rec, "evaluate", "report");
    expect(report.results.map((r) => r.ef)).toEqual([10, 80]);
    expect(report.results[1]!.recall).toBeGreaterThanOrEqual(0.95);
    expect(report.results[1]!.recall).toBeGreaterThanOrEqual(report.results[0]!.recall);
    expect(report.batch.qps).toBeGreaterThan(0);
    const given = await output<{ results: { recall: number; qps?: number }[]; truth: { kind: string }; batch?: unknown }>(rec, "evaluateGiven", "report");
    expect(given.truth.kind).toBe("indexers/exact");
    // Without timing: true the report holds no times: the same bytes on every run.
    expect(given.results[0]!.qps).toBeUndefined();
    expect(given.batch).toBeUndefined();
    expect(given.results[0]!.recall).toBe(report.results[1]!.recall);
    console.log(`indexers/evaluate on 3000 MNIST digits, 150 queries: ${report.results.map((r) => `ef=${r.ef} recall@5 ${r.recall.toFixed(3)} ${r.qps.toFixed(0)} QPS`).join("; ")}`);
  });

  it("reports a bad filter when the pipeline is validated, before anything runs", () => {
    const text = ["version: 1", "name: bad-filter", "steps:", ...[...READ, "index: { uses: indexers/exact, in: { vectors: train } }", "q: { uses: indexers/query, in: { index: index, queries: test }, with: { filter: { label: { between: [1, 2] } } } }"].map((l) => `  ${l}`)].join("\n");
    let err: LatentflowAggregateError | undefined;
    try {
      loadPipelineText(text, join(dir, "bad.yaml"), registry, mnistDir);
    } catch (e) {
      err = e as LatentflowAggregateError;
    }
    expect(err?.errors).toHaveLength(1);
    expect(err!.format()).toMatch(/bad\.yaml:\d+:\d+: .*unknown operator 'between'/);
  });

  it("fails query with E_SPACE_MISMATCH when the queries come from another space", async () => {
    const rec = await run([
      READ[0]!,
      "raw: { uses: core/read-idx, with: { images: t10k-images-idx3-ubyte, limit: 20 } }",
      "index: { uses: indexers/exact, in: { vectors: train } }",
      "q: { uses: indexers/query, in: { index: index, queries: raw } }",
    ]);
    expect(rec.status).toBe("failed");
    expect(rec.steps.q!.error!.code).toBe("E_SPACE_MISMATCH");
  });

  it("has the version of its package.json", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
  });
});
