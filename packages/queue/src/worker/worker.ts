import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import { Job, UnrecoverableError, Worker, type MinimalJob } from "bullmq";
import type { Redis } from "ioredis";
import { FsArtifactStore, ResourceCache, buildManifest, LatentflowError, PluginRegistry, corePlugin, silentLogger, type ArtifactManifest, type ArtifactStore, type Logger, type PlanNode, type Plugin } from "@latentflow/core";
import { errorRecord, isRetryable, planNodeOf, retryDelay, retryPolicyOf, runShard, runStep, type StepEnv } from "@latentflow/core/engine";
import { loadPlugins } from "@latentflow/core/plugins";
import { closeClient, checkPrefix, connect, DEFAULT_PREFIX, describeRedis, isAuthError, probeRedis, redisConnectionError, redisOptions, type RedisTarget } from "../connection.js";
import { encodeFailure, type InlineArtifact, type StepJobData, type StepJobProgress, type StepJobResult, type StoreRef } from "../executor/job.js";
import { RedisRunStore } from "../runs/redis-run-store.js";
import { RedisArtifactStore } from "../store/redis-store.js";

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
  /**
   * Models and other resources the worker's jobs share: loaded once, kept from job to job (and run to run)
   * until the worker closes. Given, it is the caller's to dispose; by default the worker makes one.
   */
  resources?: ResourceCache;
  /** Aborts the start (the connection check and the waits for Redis): `startWorker` then throws E_CANCELLED. */
  signal?: AbortSignal;
  /**
   * Called once when the worker can no longer work and a reconnect will not mend it (Redis now refuses its
   * credentials, E_REDIS_AUTH). The worker has stopped taking jobs; the process should exit.
   */
  onFatal?(error: LatentflowError): void;
}

export interface FleetWorker {
  /** Names (`name@version`) of the plugins this worker runs. */
  readonly plugins: string[];
  readonly queues: string[];
  /** The resource cache its jobs share (load counts in `stats()`). */
  readonly resources: ResourceCache;
  /** Stops taking jobs; waits for running ones unless `force` (then they are handed back through BullMQ's stalled-job recovery). */
  close(force?: boolean): Promise<void>;
}

/**
 * The store a step sees when its coordinator stores small outputs itself: puts of up to `maxBytes` in all
 * are kept for the job's result instead of stored (the step's manifest is computed as the store would); the
 * cache lookup, reads and larger puts go to the real store.
 */
function inliningStore(store: ArtifactStore, maxBytes: number, inline: InlineArtifact[]): ArtifactStore {
  let room = maxBytes;
  return {
    kind: store.kind,
    location: store.location,
    has: (key) => store.has(key),
    stat: (key) => store.stat(key),
    read: (key, name) => store.read(key, name),
    delete: (key) => store.delete(key),
    list: () => store.list(),
    async put(key, type, files, info, options) {
      let total = 0;
      for (const bytes of Object.values(files)) total += bytes.byteLength;
      if (total > room) return store.put(key, type, files, info, options);
      room -= total;
      const manifest = buildManifest(key, type, files, info);
      const encoded: Record<string, string> = {};
      for (const [name, bytes] of Object.entries(files)) encoded[name] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
      inline.push({ manifest, files: encoded });
      return manifest;
    },
  };
}

/** How long a worker trusts that a run is not cancelled before it reads the run's flag again. */
const CANCEL_RECHECK_MS = 1000;

/**
 * After a reconnect, the worker looks for jobs left active under its own lock that it does not run, this
 * long after the connection is ready (replies to the commands sent again arrive meanwhile), and hands back
 * those still so ORPHAN_CONFIRM_MS later.
 */
const ORPHAN_SWEEP_MS = 1000;
const ORPHAN_CONFIRM_MS = 500;

/** A step's failure as BullMQ takes it: the error's record as the failed reason, retried only when the engine's policy would. */
function failure(e: unknown, cancelled: boolean): Error {
  if (cancelled) return new UnrecoverableError(encodeFailure("E_CANCELLED", "the run was cancelled"));
  const text = encodeFailure(errorRecord(e));
  return isRetryable(e) ? new Error(text) : new UnrecoverableError(text);
}

/**
 * Hands back, after each reconnect, the jobs left active under this worker's lock that it does not run;
 * returns a function that stops it. A Redis that stops (restart, failover) can run a command and go away
 * before its reply is sent, and ioredis sends the command again once reconnected: a BullMQ `moveToActive`,
 * or a `moveToFinished` that also takes the next job, then took a job under this worker's lock that nobody
 * processes (the second run took another job, or failed with "Missing lock"). Left alone, such a job waits
 * for its lock to expire (`lockDuration`, 30 s) and for the stalled-job check (`stalledInterval`, up to 30 s
 * more) — a minute of a run standing still. BullMQ's locks are `<worker id>:<n>`; a job is handed back
 * (`moveToWait`, which checks the lock atomically) only when two looks ORPHAN_CONFIRM_MS apart find it
 * under the same lock of ours and never handed to this worker.
 */
export function orphanSweep(worker: Worker, held: Set<string>, client: Redis, log: Logger): () => void {
  const mine = `${worker.id}:`;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const orphans = async (): Promise<Map<string, string>> => {
    const ids = await client.lrange(worker.keys.active!, 0, -1);
    const active = new Set(ids);
    // Jobs moved on without an event (their move failed: the lock was lost) are no longer ours to mind.
    for (const id of held) if (!active.has(id)) held.delete(id);
    const candidates = ids.filter((id) => !held.has(id));
    const out = new Map<string, string>();
    if (!candidates.length) return out;
    const locks = await client.mget(...candidates.map((id) => `${worker.toKey(id)}:lock`));
    candidates.forEach((id, i) => {
      const token = locks[i];
      if (token?.startsWith(mine)) out.set(id, token);
    });
    return out;
  };
  const sweep = async () => {
    timer = undefined;
    try {
      const first = await orphans();
      if (!first.size) return;
      await new Promise((r) => setTimeout(r, ORPHAN_CONFIRM_MS));
      if (stopped) return;
      for (const [id, token] of await orphans()) {
        if (first.get(id) !== token || held.has(id)) continue;
        const job = await Job.fromId(worker, id);
        if (!job) continue;
        await job.moveToWait(token).then(
          () => log.warn(`queue ${worker.name}: job ${id} was left active under this worker's lock by a command Redis ran as it went away; handed back to the queue`),
          (e: Error) => log.debug(`handing back job ${id}: ${e.message}`),
        );
      }
    } catch (e) {
      log.debug(`looking for jobs left active on queue ${worker.name}: ${(e as Error).message}`);
    }
  };
  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void sweep(), ORPHAN_SWEEP_MS);
    timer.unref();
  };
  void worker.client.then((c) => c.on("ready", schedule), () => {});
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Starts a fleet worker: one BullMQ worker per queue, running step jobs through the same step runner as
 * the local executor. It runs only jobs of the plugins (and versions) it was given and fails others with
 * E_PLUGIN_MISSING; reports progress through job progress; aborts jobs of cancelled runs.
 */
export async function startWorker(options: WorkerOptions): Promise<FleetWorker> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const log = options.log ?? silentLogger;
  const names = options.plugins.filter((p): p is string => typeof p === "string");
  // Named packages resolve from this package's installation and the working directory only (core's one loader);
  // globalThis: `process` below is the job processor.
  const loaded = names.length ? (await loadPlugins({ from: [import.meta.url, globalThis.process.cwd()], packages: names })).list() : [corePlugin];
  const registry = new PluginRegistry([...loaded, ...options.plugins.filter((p): p is Plugin => typeof p !== "string")]);
  const have = registry.list().map((p) => `${p.name}@${p.version}`);
  const queues = options.queues?.length ? options.queues : ["default"];
  const concurrency = Math.max(1, options.concurrency ?? 1);
  // A wrong address or password is a coded error within seconds, not a worker that waits forever.
  await probeRedis(options.redis, options.signal ? { signal: options.signal } : {});
  const resources = options.resources ?? new ResourceCache();

  const client: Redis = connect(options.redis);
  const where = describeRedis(options.redis);
  let fatal: LatentflowError | undefined;
  let closing: Promise<void> | undefined;
  // Credentials refused after a reconnect (a password changed under a running fleet) never mend: stop.
  const onRedisError = (e: Error) => {
    if (!isAuthError(e)) return log.warn(`redis: ${e.message}`);
    if (fatal) return;
    fatal = redisConnectionError(e, where);
    log.error(fatal.message);
    void closeAll(true).finally(() => options.onFatal?.(fatal!));
  };
  client.on("error", onRedisError);
  const runs = new RedisRunStore(client, prefix);
  const stores = new Map<string, ArtifactStore>();
  const storeFor = (ref: StoreRef): ArtifactStore => {
    const id = ref.kind === "redis" ? `redis\n${ref.prefix}\n${ref.ttlSeconds ?? 0}` : `fs\n${ref.root}`;
    let s = stores.get(id);
    if (!s) {
      s = ref.kind === "redis" ? new RedisArtifactStore({ redis: client, prefix: ref.prefix, ...(ref.ttlSeconds ? { ttlSeconds: ref.ttlSeconds } : {}) }) : new FsArtifactStore(ref.root);
      stores.set(id, s);
    }
    return s;
  };

  // One abort controller per run with jobs running here: a cancellation is per run. (Our own controllers: a
  // processor that takes no BullMQ signal spares BullMQ one per job.) A cancelled run's controller is
  // dropped at once, so jobs of the run resumed later get a fresh one.
  const runControllers = new Map<string, { controller: AbortController; jobs: number }>();
  const acquire = (runId: string) => {
    let e = runControllers.get(runId);
    if (!e) {
      e = { controller: new AbortController(), jobs: 0 };
      // Every job of the run running here may listen to it.
      setMaxListeners(0, e.controller.signal);
      runControllers.set(runId, e);
    }
    e.jobs++;
    return e;
  };
  const release = (runId: string, e: { jobs: number }) => {
    if (--e.jobs === 0 && runControllers.get(runId) === e) runControllers.delete(runId);
  };
  // Runs known not to be cancelled, and until when that answer holds. A cancellation reaches running jobs
  // by message (below), and that message also drops the run from here; the flag is read again at most
  // every CANCEL_RECHECK_MS per run, for a message missed (e.g. while Redis restarted). A cancelled answer
  // is never cached: `resume` lifts the flag.
  const notCancelled = new Map<string, number>();
  const isCancelled = async (runId: string): Promise<boolean> => {
    const until = notCancelled.get(runId);
    if (until !== undefined && until > Date.now()) return false;
    if (await runs.isCancelled(runId)) {
      notCancelled.delete(runId);
      return true;
    }
    if (notCancelled.size > 1000) notCancelled.clear();
    notCancelled.set(runId, Date.now() + CANCEL_RECHECK_MS);
    return false;
  };
  const workers: Worker[] = [];
  const sweeps: (() => void)[] = [];

  const process = async (job: Job<StepJobData, StepJobResult>): Promise<StepJobResult> => {
    const d = job.data;
    let node: PlanNode;
    try {
      // The plan node from this worker's own registry: the job names the step, never carries its code.
      node = planNodeOf(d, registry, `worker ${hostname()}:${globalThis.process.pid}`);
    } catch (e) {
      const error = errorRecord(e);
      throw new UnrecoverableError(encodeFailure({ ...error, hint: `start workers for queue '${job.queueName}' with --plugins ${d.plugin.name} at version ${d.plugin.version}, or route the step to another queue` }));
    }
    // Listening for a cancellation before the flag is read: one published meanwhile aborts the job too.
    const run = acquire(d.runId);
    const controller = run.controller;
    let last = 0;
    const send = (p: StepJobProgress) => void job.updateProgress(p).catch((e: Error) => log.debug(`progress of ${job.id}: ${e.message}`));
    // Refusals made here go to BullMQ as they are; errors of the step run go through `failure`.
    let refused: Error | undefined;
    try {
      if (await isCancelled(d.runId)) throw (refused = failure(undefined, true));
      const store = storeFor(d.store);
      const inputs: Record<string, ArtifactManifest> = {};
      for (const [port, key] of Object.entries(d.inputs)) {
        const m = await store.stat(key);
        if (!m) throw (refused = new UnrecoverableError(encodeFailure("E_ARTIFACT_MISSING", `input '${port}' of step '${d.stepId}': artifact ${key} is not in ${store.location}`, "workers and the coordinator must share one artifact store")));
        inputs[port] = m;
      }
      // Small outputs go back with the result when the coordinator asked (one round trip fewer per step);
      // never for a sharded step, whose gathering reads its shards back from the store.
      const inline: InlineArtifact[] = [];
      const env: StepEnv = {
        store: d.inlineBytes && !d.shard && d.shardIndex === undefined ? inliningStore(store, d.inlineBytes, inline) : store,
        runId: d.runId,
        seed: d.seed,
        baseDir: d.baseDir,
        signal: controller.signal,
        log,
        force: d.force,
        // BullMQ retries the whole job (the invocation's retry policy, through `backoffStrategy`), so the step
        // runner makes one attempt per job attempt.
        attempts: 1,
        concurrency: options.shardConcurrency ?? concurrency,
        ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
        resources,
        // The coordinator's "not cached" holds for a first delivery only: a retried or redelivered job looks again.
        ...(d.absentKey && job.attemptsMade === 0 && (job.attemptsStarted ?? 0) <= 1 ? { absentKey: d.absentKey } : {}),
        // No event for an attempt's start: the coordinator hears BullMQ's own `active` event.
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
      return { ...r, attempts: r.cache === "hit" ? 0 : r.attempts + job.attemptsMade, ...(inline.length ? { inline } : {}) };
    } catch (e) {
      if (e === refused) throw e;
      throw failure(e, controller.signal.aborted);
    } finally {
      release(d.runId, run);
    }
  };

  for (const name of queues) {
    const worker: Worker = new Worker<StepJobData, StepJobResult>(name, (job) => process(job), {
      connection: redisOptions(options.redis),
      prefix,
      concurrency,
      // Retries wait as the engine's policy says (the same delays as under the local executor).
      settings: { backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob) => retryDelay((job?.data as StepJobData | undefined)?.retry ?? retryPolicyOf({ retries: 0 }), attemptsMade) },
      ...(options.lockDuration ? { lockDuration: options.lockDuration } : {}),
      ...(options.stalledInterval ? { stalledInterval: options.stalledInterval } : {}),
    });
    worker.on("error", (e) => (isAuthError(e) ? onRedisError(e) : log.warn(`queue ${name}: ${e.message}`)));
    // Jobs BullMQ handed to this worker, from their fetch until BullMQ has moved them on.
    const held = new Set<string>();
    worker.on("active", (job) => job.id && held.add(job.id));
    worker.on("failed", (job, e) => {
      if (job?.id) held.delete(job.id);
      log.info(`job ${job?.id} failed: ${e.message}`);
    });
    worker.on("completed", (job) => {
      if (job.id) held.delete(job.id);
      log.info(`job ${job.id} done`);
    });
    sweeps.push(orphanSweep(worker, held, client, log));
    workers.push(worker);
  }

  // Cancellations arrive as messages; the worker aborts the running jobs of the run (their run's controller).
  const sub = client.duplicate();
  sub.on("error", (e) => log.warn(`redis (cancel channel): ${e.message}`));
  // Messages may have been missed while disconnected: read every run's flag afresh.
  sub.on("ready", () => notCancelled.clear());
  sub.on("message", (_channel: string, runId: string) => {
    notCancelled.delete(runId);
    const e = runControllers.get(runId);
    if (e) {
      runControllers.delete(runId);
      e.controller.abort();
    }
  });
  function closeAll(force: boolean): Promise<void> {
    closing ??= (async () => {
      for (const stop of sweeps) stop();
      try {
        await closeWorkers(force);
      } finally {
        if (!options.resources) await resources.dispose().catch((e: unknown) => log.warn(`freeing the worker's resources failed: ${e instanceof Error ? e.message : String(e)}`));
      }
    })();
    return closing;
  }
  async function closeWorkers(force: boolean): Promise<void> {
    // With Redis gone, a graceful close would wait for it (and running jobs could not report anyway):
    // abort them, give BullMQ a moment, and go. Their locks expire and other workers take them.
    if (client.status !== "ready") {
      for (const e of runControllers.values()) e.controller.abort();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(workers.map((w) => w.close(true))), new Promise((r) => (timer = setTimeout(r, 1_000)))]);
      clearTimeout(timer);
      await Promise.all(workers.map((w) => w.disconnect().catch(() => {})));
      sub.disconnect();
      client.disconnect();
      return;
    }
    await Promise.all(workers.map((w) => w.close(force)));
    sub.disconnect();
    await closeClient(client);
  }
  const abortStart = () => void closeAll(true);
  options.signal?.addEventListener("abort", abortStart, { once: true });
  try {
    await sub.subscribe(runs.cancelChannel);
    await Promise.all(workers.map((w) => w.waitUntilReady()));
  } catch (e) {
    await closeAll(true);
    throw options.signal?.aborted ? new LatentflowError("E_CANCELLED", "the worker was stopped while starting") : (fatal ?? redisConnectionError(e, where));
  } finally {
    options.signal?.removeEventListener("abort", abortStart);
  }
  if (options.signal?.aborted) {
    await closeAll(true);
    throw new LatentflowError("E_CANCELLED", "the worker was stopped while starting");
  }

  return {
    plugins: have,
    queues,
    resources,
    close: (force = false) => closeAll(force),
  };
}
