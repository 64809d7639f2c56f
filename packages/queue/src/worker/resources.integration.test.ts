import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText, type RowMeta } from "@latentflow/core";
import { contractPlugin } from "@latentflow/contract-tests";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueExecutor } from "../executor/queue-executor.js";
import { RedisArtifactStore } from "../store/redis-store.js";
import { dropPrefix, killAll, REDIS_URL, spawnWorker, uniquePrefix, type SpawnedWorker } from "../test-support.js";
import { startWorker } from "./worker.js";

const registry = new PluginRegistry([corePlugin, contractPlugin]);

describe("a fleet worker's resource cache", () => {
  let dir: string;
  let prefix: string;
  let executor: QueueExecutor;
  let store: RedisArtifactStore;
  const spawned: SpawnedWorker[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-resources-"));
    prefix = uniquePrefix("resources");
    executor = new QueueExecutor({ redis: REDIS_URL, prefix, pollMs: 300 });
    store = new RedisArtifactStore({ redis: REDIS_URL, prefix });
  });
  afterAll(async () => {
    await killAll(spawned);
    await executor.close();
    await store.close();
    await dropPrefix(REDIS_URL, prefix);
    await rm(dir, { recursive: true, force: true });
  });

  const plan = (yaml: string) => loadPipelineText(yaml, join(dir, "pipeline.yaml"), registry, dir);
  const rows = async (rec: Awaited<ReturnType<QueueExecutor["run"]>>, step: string) =>
    (await loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs.records!.key))!)) as RowMeta[];

  it("keeps a model across the jobs, shards and runs one worker process takes", async () => {
    spawned.push(await spawnWorker({ redis: REDIS_URL, prefix, concurrency: 2 }));
    const yaml = (tag: string) => `
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 12 } }
  a: { uses: contract/uses-model, with: { tag: ${tag}-a } }
  b: { uses: contract/uses-model, with: { tag: ${tag}-b } }
  sharded: { uses: contract/uses-model, in: { records: nums }, with: { tag: ${tag}-s }, shard: { size: 3 } }
`;
    const first = await executor.run(plan(yaml("one")), { store });
    expect(first.status, JSON.stringify(first.steps)).toBe("succeeded");
    const second = await executor.run(plan(yaml("two")), { store });
    expect(second.status).toBe("succeeded");
    expect(first.steps.sharded!.shards?.count).toBe(4);
    const seen: RowMeta[] = [];
    for (const rec of [first, second]) for (const step of ["a", "b", "sharded"]) seen.push(...(await rows(rec, step)));
    // Two runs, 2 × (2 steps + 4 shards) jobs, all on one worker process: the model was loaded once.
    expect(new Set(seen.map((r) => r.pid)).size).toBe(1);
    expect(new Set(seen.map((r) => r.loads))).toEqual(new Set([1]));
  });

  it("counts one load in the cache of an in-process worker, and frees it when the worker closes", async () => {
    const p2 = uniquePrefix("resources-inproc");
    const worker = await startWorker({ redis: REDIS_URL, prefix: p2, plugins: [contractPlugin], concurrency: 2 });
    const ex = new QueueExecutor({ redis: REDIS_URL, prefix: p2, pollMs: 300 });
    const st = new RedisArtifactStore({ redis: REDIS_URL, prefix: p2 });
    try {
      const rec = await ex.run(plan("version: 1\nsteps:\n  a: { uses: contract/uses-model, with: { tag: x } }\n  b: { uses: contract/uses-model, with: { tag: y } }\n"), { store: st });
      expect(rec.status).toBe("succeeded");
      expect(worker.resources.stats()).toMatchObject({ loads: 1, hits: 1, byKey: { "contract/model": 1 } });
    } finally {
      await ex.close();
      await st.close();
      await worker.close();
      await dropPrefix(REDIS_URL, p2);
    }
    await expect(worker.resources.use("contract/model", async () => 1)).rejects.toMatchObject({ code: "E_DISPOSED" });
  });
});
