import { hostname } from "node:os";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import {
  FsArtifactStore,
  LatentflowError,
  PluginRegistry,
  corePlugin,
  runShard,
  runStep,
  silentLogger,
  type ArtifactManifest,
  type ArtifactStore,
  type Logger,
  type PlanNode,
  type Plugin,
  type StepEnv,
  type StepSpec,
} from "@latentflow/core";
import { checkPrefix, connect, DEFAULT_PREFIX, redisOptions, type RedisTarget } from "../connection.js";
import { encodeFailure, type StepJobData, type StepJobProgress, type StepJobResult, type StoreRef } from "../executor/job.js";
import { RedisRunStore } from "../runs/redis-run-store.js";
import { RedisArtifactStore } from "../store/redis-store.js";
import { loadPluginPackages } from "./plugins.js";

export interface WorkerOptions {
  redis: RedisTarget;
  /** Key prefix of the deployment (the coordinator's `--prefix`). Default "lf". */
  prefix?: string;
  /** Plugins this worker can run: objects, or npm package names to load. The core plugin is always in. */
  plugins: (Plugin | string)[];
  /** Queues to take jobs from. Default ["default"]. */
  queues?: string[];
  /** Jobs run at once per queue. Default 1. */
  concurrency?: number;
  /** Shards of one sharded step run at once. Default: `concurrency`. */
  shardConcurrency?: number;
  /** BullMQ lock duration: a job whose worker stops renewing it for this long is handed to another. Default 30 s. */
  lockDuration?: number;
  /** How often BullMQ looks for stalled jobs. Default 30 s. */
  stalledInterval?: number;
  log?: Logger;
  scratchDir?: string;
}

export interface FleetWorker {
  /** Names (`name@version`) of the plugins this worker runs. */
  readonly plugins: string[];
  readonly queues: string[];
  /** Stops taking jobs; waits for running ones unless `force` (then they are handed back through BullMQ's stalled-job recovery). */
  close(force?: boolean): Promise<void>;
}

function failure(e: unknown, cancelled: boolean): Error {
  if (cancelled) return new UnrecoverableError(encodeFailure("E_CANCELLED", "the run was cancelled"));
  if (e instanceof LatentflowError) {
    const text = encodeFailure(e.code, e.message, e.hint);
    // Timeouts may pass on another try; the engine's other errors are deterministic.
    return e.code === "E_TIMEOUT" ? new Error(text) : new UnrecoverableError(text);
  }
  return new Error(encodeFailure("E_STEP_FAILED", e instanceof Error ? e.message : String(e)));
}

/**
 * Starts a fleet worker: one BullMQ worker per queue, running step jobs through the same step runner as
 * the local executor. It runs only jobs of the plugins (and versions) it was given and fails others with
 * E_PLUGIN_MISSING; reports progress through job progress; aborts jobs of cancelled runs.
 */
export async function startWorker(options: WorkerOptions): Promise<FleetWorker> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const log = options.log ?? silentLogger;
  const plugins = [corePlugin];
  const names = options.plugins.filter((p): p is string => typeof p === "string");
  plugins.push(...options.plugins.filter((p): p is Plugin => typeof p !== "string"), ...(await loadPluginPackages(names)));
  const registry = new PluginRegistry(plugins);
  const have = registry.list().map((p) => `${p.name}@${p.version}`);
  const queues = options.queues?.length ? options.queues : ["default"];
  const concurrency = Math.max(1, options.concurrency ?? 1);

  const client: Redis = connect(options.redis);
  client.on("error", (e) => log.warn(`redis: ${e.message}`));
  const runs = new RedisRunStore(client, prefix);
  const stores = new Map<string, ArtifactStore>();
  const storeFor = (ref: StoreRef): ArtifactStore => {
    const id = JSON.stringify(ref);
    let s = stores.get(id);
    if (!s) {
      s = ref.kind === "redis" ? new RedisArtifactStore({ redis: client, prefix: ref.prefix, ...(ref.ttlSeconds ? { ttlSeconds: ref.ttlSeconds } : {}) }) : new FsArtifactStore(ref.root);
      stores.set(id, s);
    }
    return s;
  };

  const active = new Map<string, { runId: string; worker: Worker }>();
  const workers: Worker[] = [];

  const process = async (job: Job<StepJobData, StepJobResult>, worker: Worker, signal?: AbortSignal): Promise<StepJobResult> => {
    const d = job.data;
    const plugin = registry.plugin(d.plugin.name);
    const step = plugin?.steps.find((s) => `${plugin.name}/${s.name}` === d.uses);
    if (!plugin || plugin.version !== d.plugin.version || !step) {
      throw new UnrecoverableError(
        encodeFailure("E_PLUGIN_MISSING", `worker ${hostname()}:${globalThis.process.pid} cannot run ${d.uses} (${d.plugin.name}@${d.plugin.version}); it has ${have.join(", ")}`,
          `start workers for queue '${job.queueName}' with --plugins ${d.plugin.name} at version ${d.plugin.version}, or route the step to another queue`),
      );
    }
    if (await runs.isCancelled(d.runId)) throw failure(undefined, true);
    const store = storeFor(d.store);
    const inputs: Record<string, ArtifactManifest> = {};
    for (const [port, key] of Object.entries(d.inputs)) {
      const m = await store.stat(key);
      if (!m) throw new UnrecoverableError(encodeFailure("E_ARTIFACT_MISSING", `input '${port}' of step '${d.stepId}': artifact ${key} is not in ${store.location}`, "workers and the coordinator must share one artifact store"));
      inputs[port] = m;
    }
    // BullMQ retries the whole job (attempts + backoff), so the step runner makes one attempt per job attempt.
    const spec = { id: d.stepId, uses: d.uses, with: {}, in: {}, retries: 0, onError: d.onError, ...(d.timeoutMs !== undefined ? { timeoutMs: d.timeoutMs } : {}), ...(d.shard ? { shard: { size: d.shard.size } } : {}) } as unknown as StepSpec;
    const node: PlanNode = { id: d.stepId, uses: d.uses, plugin: d.plugin, step, params: d.params, inputs: {}, deps: [], spec };
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal?.addEventListener("abort", abort, { once: true });
    active.set(job.id!, { runId: d.runId, worker });
    let last = 0;
    const send = (p: StepJobProgress) => void job.updateProgress(p).catch((e: Error) => log.debug(`progress of ${job.id}: ${e.message}`));
    try {
      const env: StepEnv = {
        store,
        runId: d.runId,
        seed: d.seed,
        baseDir: d.baseDir,
        signal: controller.signal,
        log,
        force: d.force,
        concurrency: options.shardConcurrency ?? concurrency,
        ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
        onAttempt: () => send({ kind: "start", attempt: job.attemptsMade + 1 }),
        onProgress: (done, total, message) => {
          // Progress is an event per call: a few a second is plenty for a progress bar.
          const now = Date.now();
          if (now - last < 250 && done !== total) return;
          last = now;
          send({ kind: "progress", done, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) });
        },
      };
      if (d.shardIndex !== undefined) {
        // One shard of a sharded step, stored under the step's shard key; the parent job gathers.
        const r = await runShard(node, inputs, env, d.shardIndex);
        return { key: r.key, cache: r.cached ? "hit" : "miss", attempts: r.cached ? 0 : r.attempts + job.attemptsMade, outputs: {}, skipped: r.skipped };
      }
      const r = await runStep(node, inputs, env);
      return { ...r, attempts: r.cache === "hit" ? 0 : r.attempts + job.attemptsMade };
    } catch (e) {
      throw failure(e, controller.signal.aborted);
    } finally {
      active.delete(job.id!);
      signal?.removeEventListener("abort", abort);
    }
  };

  for (const name of queues) {
    const worker: Worker = new Worker<StepJobData, StepJobResult>(name, (job, _token, signal) => process(job, worker, signal), {
      connection: redisOptions(options.redis),
      prefix,
      concurrency,
      ...(options.lockDuration ? { lockDuration: options.lockDuration } : {}),
      ...(options.stalledInterval ? { stalledInterval: options.stalledInterval } : {}),
    });
    worker.on("error", (e) => log.warn(`queue ${name}: ${e.message}`));
    worker.on("failed", (job, e) => log.info(`job ${job?.id} failed: ${e.message}`));
    worker.on("completed", (job) => log.info(`job ${job.id} done`));
    workers.push(worker);
  }

  // Cancellations arrive as messages; the worker aborts the matching jobs through BullMQ's job cancellation.
  const sub = client.duplicate();
  sub.on("error", (e) => log.warn(`redis (cancel channel): ${e.message}`));
  sub.on("message", (_channel: string, runId: string) => {
    for (const [jobId, a] of active) if (a.runId === runId) a.worker.cancelJob(jobId, "run cancelled");
  });
  await sub.subscribe(runs.cancelChannel);
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    plugins: have,
    queues,
    async close(force = false) {
      await Promise.all(workers.map((w) => w.close(force)));
      sub.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
