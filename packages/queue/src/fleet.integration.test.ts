import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText, type RunEvent, type RunRecord } from "@latentflow/core";
import { initialRecord } from "@latentflow/core/engine";
import { contractPlugin } from "@latentflow/contract-tests";
import { redisOptions } from "./connection.js";
import { jobData, jobIdFor, type StepJobResult } from "./executor/job.js";
import { QueueExecutor } from "./executor/queue-executor.js";
import { RedisArtifactStore } from "./store/redis-store.js";
import { dropPrefix, killAll, REDIS_URL, spawnWorker, TestRedisServer, uniquePrefix, type SpawnedWorker } from "./test-support.js";

const registry = new PluginRegistry([corePlugin, contractPlugin]);

const pipeline = (slowMs = 0) => `
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 60 } }
  sq: { uses: contract/square, in: { records: nums }, with: { factor: 2, jitterMs: 5 }, shard: { size: 8 } }
  total: { uses: contract/sum, in: { records: sq } }
  fit: { uses: contract/fit-mean, in: { records: sq } }
  centered: { uses: contract/center, in: { records: nums, model: fit } }
  wait: { uses: contract/slow, with: { ms: ${slowMs}, tag: t } }
`;

function hashes(rec: RunRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, s] of Object.entries(rec.steps)) for (const [port, o] of Object.entries(s.outputs)) out[`${id}.${port}`] = o.hash;
  return out;
}

describe("the fleet against real Redis and worker processes", () => {
  let dir: string;
  let prefix: string;
  let workers: SpawnedWorker[];
  let closers: (() => Promise<unknown>)[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-fleet-"));
    prefix = uniquePrefix("fleet");
    workers = [];
    closers = [];
  });
  afterEach(async () => {
    await killAll(workers);
    for (const c of closers.reverse()) await c();
    await rm(dir, { recursive: true, force: true });
  });

  const plan = (yaml: string) => loadPipelineText(yaml, join(dir, "pipeline.yaml"), registry, dir);
  const setup = (url = REDIS_URL) => {
    const executor = new QueueExecutor({ redis: url, prefix, pollMs: 300 });
    const store = new RedisArtifactStore({ redis: url, prefix });
    closers.push(() => executor.close(), () => store.close(), () => dropPrefix(url, prefix));
    return { executor, store };
  };

  it("gives artifacts hash-equal to the local executor's with two worker processes", async () => {
    workers.push(await spawnWorker({ redis: REDIS_URL, prefix }), await spawnWorker({ redis: REDIS_URL, prefix }));
    const { executor, store } = setup();
    const fleet = await executor.run(plan(pipeline()), { store });
    const local = await new LocalExecutor().run(plan(pipeline()), { store: new FsArtifactStore(join(dir, "local")) });
    expect(fleet.status).toBe("succeeded");
    expect(local.status).toBe("succeeded");
    expect(hashes(fleet)).toEqual(hashes(local));
    expect(Object.keys(hashes(fleet))).toHaveLength(6);
    // Same cache keys too: the records name the same artifacts.
    for (const id of Object.keys(local.steps)) expect(fleet.steps[id]!.key).toBe(local.steps[id]!.key);
    expect((await executor.runs.load(fleet.id))?.status).toBe("succeeded");
  });

  it("stores the small outputs workers hand back, and takes them from a finished job's result on resume", async () => {
    workers.push(await spawnWorker({ redis: REDIS_URL, prefix, concurrency: 2 }));
    const { executor, store } = setup();
    const yaml = "version: 1\nsteps:\n  a: { uses: contract/numbers, with: { n: 3 } }\n  b: { uses: contract/sum, in: { records: a } }\n";
    const rec = await executor.run(plan(yaml), { store });
    expect(rec.status).toBe("succeeded");
    // Every output the record names is in the store, as recorded.
    for (const s of Object.values(rec.steps)) for (const o of Object.values(s.outputs)) expect((await store.stat(o.key))?.hash).toBe(o.hash);

    // A coordinator that died after its step's job finished, before storing what the job handed back.
    const p = plan("version: 1\nsteps:\n  c: { uses: contract/numbers, with: { n: 4, start: 7 } }\n");
    const node = p.nodes[0]!;
    const runId = "inline-resume";
    const data = { ...jobData(node, { runId, seed: p.spec.seed, baseDir: p.baseDir, force: false, store: { kind: "redis" as const, prefix }, inputs: {} }), inlineBytes: 8192 };
    const connection = redisOptions(REDIS_URL);
    const queue = new Queue("default", { connection, prefix });
    const events = new QueueEvents("default", { connection, prefix });
    closers.push(() => queue.close(), () => events.close());
    await events.waitUntilReady();
    const job = await queue.add(node.uses, data, { jobId: jobIdFor(runId, "c") });
    const result = (await job.waitUntilFinished(events)) as StepJobResult;
    expect(result.inline).toHaveLength(1);
    const key = result.outputs.records!.key;
    expect(await store.has(key)).toBe(false);
    await executor.runs.save(initialRecord(p, runId, "queue", new Set(["c"])));
    const resumed = await executor.run(p, { store, runId });
    expect(resumed.status).toBe("succeeded");
    expect(resumed.steps.c!.outputs.records!.hash).toBe(result.outputs.records!.hash);
    expect((await store.stat(key))?.hash).toBe(result.outputs.records!.hash);
    const local = await new LocalExecutor().run(p, { store: new FsArtifactStore(join(dir, "local")) });
    expect(hashes(resumed)).toEqual(hashes(local));
  });

  it("runs the shards of a sharded step as jobs of their own, shared by the workers, and gathers them in order", async () => {
    workers.push(await spawnWorker({ redis: REDIS_URL, prefix, concurrency: 2 }), await spawnWorker({ redis: REDIS_URL, prefix, concurrency: 2 }));
    const { executor, store } = setup();
    const fleet = await executor.run(plan(pipeline()), { store });
    expect(fleet.status).toBe("succeeded");
    expect(fleet.steps.sq!.shards).toEqual({ count: 8, fromCache: 0 });
    const q = new Queue("default", { connection: redisOptions(REDIS_URL), prefix });
    closers.push(() => q.close());
    const shardJobs = await Promise.all(Array.from({ length: 8 }, (_, i) => q.getJob(`${fleet.id}.sq.shard-${i}`)));
    expect(shardJobs.every((j) => j?.finishedOn)).toBe(true);
    // The step's own job is their parent in a BullMQ flow: it ran once all eight had given their values.
    const parent = await q.getJob(`${fleet.id}.sq`);
    expect(Object.keys(await parent!.getChildrenValues())).toHaveLength(8);
    const records = (await loadArtifactValue(store, (await store.stat(fleet.steps.sq!.outputs.records!.key))!)) as { i: number; v: number }[];
    expect(records.map((r) => r.v)).toEqual(Array.from({ length: 60 }, (_, i) => 2 * i * i));
    // A second run is a cache hit as a whole, without fanning out again.
    const again = await executor.run(plan(pipeline()), { store });
    expect(again.steps.sq!.cache).toBe("hit");
  });

  it("completes with the same artifacts when a worker is SIGKILLed in the middle of a step", async () => {
    const opts = { redis: REDIS_URL, prefix, concurrency: 1, lockDuration: 1000, stalledInterval: 500 };
    const first = await spawnWorker(opts);
    workers.push(first);
    const { executor, store } = setup();
    const events: RunEvent[] = [];
    let replaced = false;
    const running = executor.run(plan(pipeline(1500)), {
      store,
      onEvent: (e) => {
        events.push(e);
        if (e.type === "step-start" && e.stepId === "wait" && !replaced) {
          replaced = true;
          first.child.kill("SIGKILL");
          void spawnWorker(opts).then((w) => workers.push(w));
        }
      },
    });
    const rec = await running;
    expect(replaced).toBe(true);
    expect(rec.status).toBe("succeeded");
    const local = await new LocalExecutor().run(plan(pipeline(1500)), { store: new FsArtifactStore(join(dir, "local")) });
    expect(hashes(rec)).toEqual(hashes(local));
  });

  it("survives a Redis restart mid-run: workers and coordinator reconnect and the run completes", async () => {
    const server = new TestRedisServer();
    await server.start();
    closers.push(() => server.destroy());
    const opts = { redis: server.url, prefix, concurrency: 2 };
    workers.push(await spawnWorker(opts), await spawnWorker(opts));
    const { executor, store } = setup(server.url);
    let restarted: Promise<void> | undefined;
    const rec = await executor.run(plan(pipeline(1500)), {
      store,
      onEvent: (e) => {
        if (e.type === "step-start" && e.stepId === "wait" && !restarted) {
          restarted = (async () => {
            await server.stop();
            await new Promise((r) => setTimeout(r, 500));
            await server.start();
          })();
        }
      },
    });
    await restarted;
    expect(restarted).toBeDefined();
    expect(rec.status).toBe("succeeded");
    const local = await new LocalExecutor().run(plan(pipeline(1500)), { store: new FsArtifactStore(join(dir, "local")) });
    expect(hashes(rec)).toEqual(hashes(local));
    for (const w of workers) expect(w.child.exitCode).toBeNull();
  });

  it("recomputes the inputs a Redis without persistence lost in a restart, and says at start that it keeps nothing", async () => {
    const server = new TestRedisServer({ persist: false });
    await server.start();
    closers.push(() => server.destroy());
    const opts = { redis: server.url, prefix, concurrency: 2 };
    workers.push(await spawnWorker(opts), await spawnWorker(opts));
    const warnings: string[] = [];
    const executor = new QueueExecutor({ redis: server.url, prefix, pollMs: 300, onWarning: (m) => warnings.push(m) });
    const store = new RedisArtifactStore({ redis: server.url, prefix });
    closers.push(() => executor.close(), () => store.close());
    // nums finishes, then its consumers (a sharded one and a plain one) are under way when Redis restarts
    // empty: their jobs and nums's artifact are gone.
    const yaml = `
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 60 } }
  sq: { uses: contract/square, in: { records: nums }, with: { factor: 2, jitterMs: 1500 }, shard: { size: 8 } }
  late: { uses: contract/square, in: { records: nums }, with: { jitterMs: 1500 } }
  total: { uses: contract/sum, in: { records: sq } }
  fit: { uses: contract/fit-mean, in: { records: sq } }
  centered: { uses: contract/center, in: { records: nums, model: fit } }
`;
    let restarted: Promise<void> | undefined;
    const rec = await executor.run(plan(yaml), {
      store,
      onEvent: (e) => {
        if (e.type === "step-start" && e.stepId === "sq" && !restarted) {
          restarted = (async () => {
            await server.stop();
            await new Promise((r) => setTimeout(r, 300));
            await server.start();
          })();
        }
      },
    });
    await restarted;
    expect(restarted).toBeDefined();
    expect(warnings[0]).toMatch(/keeps nothing across a restart \(save "", appendonly no\)/);
    expect(warnings.some((w) => /made by 'nums' are gone .*recomputing them/.test(w)), warnings.join("\n")).toBe(true);
    expect(rec.status, JSON.stringify(rec.steps, null, 1)).toBe("succeeded");
    const local = await new LocalExecutor().run(plan(yaml), { store: new FsArtifactStore(join(dir, "local")) });
    expect(hashes(rec)).toEqual(hashes(local));
    // Everything the record names is in the (restarted) store.
    for (const s of Object.values(rec.steps)) for (const o of Object.values(s.outputs)) expect(await store.has(o.key)).toBe(true);
  });

  it("writes an artifact once when its job is delivered twice", async () => {
    workers.push(await spawnWorker({ redis: REDIS_URL, prefix, concurrency: 2 }));
    const { store } = setup();
    const node = plan(pipeline(300)).nodes.find((n) => n.id === "wait")!;
    const data = jobData(node, { runId: "dup-run", seed: "s", baseDir: dir, force: false, store: { kind: "redis", prefix }, inputs: {} });
    const connection = redisOptions(REDIS_URL);
    const queue = new Queue("default", { connection, prefix });
    const events = new QueueEvents("default", { connection, prefix });
    closers.push(() => queue.close(), () => events.close());
    await events.waitUntilReady();
    // The same step twice under two ids: what a redelivery after a lost lock looks like to the store.
    const jobs = await Promise.all([queue.add("a", data, { jobId: "dup-1" }), queue.add("b", data, { jobId: "dup-2" })]);
    const results = (await Promise.all(jobs.map((j) => j.waitUntilFinished(events)))) as StepJobResult[];
    const [a, b] = results.map((r) => r.outputs.records!);
    expect(a!.key).toBe(b!.key);
    expect(a!.hash).toBe(b!.hash);
    const raw = new Redis(REDIS_URL);
    closers.push(() => raw.quit());
    const keys = await raw.keys(`${prefix}:a:${a!.key}*`);
    expect(keys.sort()).toEqual([`${prefix}:a:${a!.key}`, ...(await store.dataKeys(a!.key, "records.jsonl"))].sort());
    // A third delivery after the artifact exists is a cache hit.
    const again = await queue.add("c", data, { jobId: "dup-3" });
    expect(((await again.waitUntilFinished(events)) as StepJobResult).cache).toBe("hit");
  });

  it("fails clearly a job whose plugin version the worker does not have", async () => {
    workers.push(await spawnWorker({ redis: REDIS_URL, prefix }));
    setup();
    const node = plan(pipeline()).nodes.find((n) => n.id === "nums")!;
    const data = jobData({ ...node, plugin: { name: "contract", version: "9.9.9" } }, { runId: "vers-run", seed: "s", baseDir: dir, force: false, store: { kind: "redis", prefix }, inputs: {} });
    const connection = redisOptions(REDIS_URL);
    const queue = new Queue("default", { connection, prefix });
    const events = new QueueEvents("default", { connection, prefix });
    closers.push(() => queue.close(), () => events.close());
    await events.waitUntilReady();
    const job = await queue.add("v", data, { jobId: "vers-1", attempts: 3 });
    await expect(job.waitUntilFinished(events)).rejects.toThrow(/E_PLUGIN_MISSING .*contract@9\.9\.9.*contract@1\.0\.0/);
    // Refused at once, not retried: another attempt would meet the same worker.
    expect((await queue.getJob("vers-1"))!.attemptsMade).toBe(1);
  });
});
