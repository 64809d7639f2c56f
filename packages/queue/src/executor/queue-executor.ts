import { FlowProducer, Job, Queue, QueueEvents, type QueueEventsListener } from "bullmq";
import type { Redis } from "ioredis";
import { LatentflowError, newRunId, silentLogger, type ArtifactManifest, type ArtifactStore, type Executor, type Logger, type OutputRecord, type Plan, type PlanNode, type PutItem, type RunOptions, type RunRecord } from "@latentflow/core";
import { errorFromRecord, keyForNode, outputKey, retryDelay, retryPolicyOf, runPlan, selectSteps, shardCount, stepKey, type LaunchHooks, type StepLauncher } from "@latentflow/core/engine";
import { closeClient, checkPrefix, connect, DEFAULT_PREFIX, describeRedis, probeRedis, redisOptions, retryAborted, type RedisTarget } from "../connection.js";
import { RedisRunStore } from "../runs/redis-run-store.js";
import { batcher, Failed } from "./batch.js";
import { decodeFailure, encodeFailure, jobData, jobIdFor, queueOf, shardJobIdFor, storeRefOf, type StepJobData, type StepJobProgress, type StepJobResult, type StoreRef } from "./job.js";

export interface QueueExecutorOptions {
  redis: RedisTarget;
  /** Key prefix of the deployment; workers must use the same. Default "lf". */
  prefix?: string;
  /**
   * How often the coordinator re-reads the state of jobs in flight, besides listening to QueueEvents
   * (a safety net for events missed while Redis restarts). Default 1000 ms.
   */
  pollMs?: number;
  /** Finished jobs are kept this long (for `status` and `resume`). Default 7 days. */
  keepJobsSeconds?: number;
  /** Extra plugin packages the plan was loaded with, kept with the run so `resume` loads them again. */
  plugins?: string[];
  /**
   * Told what a user should know about the deployment: a Redis that keeps nothing across a restart under
   * the Redis artifact store (checked once, when CONFIG is allowed), steps recomputed because their
   * artifacts were lost.
   */
  onWarning?(message: string): void;
}

/** Outputs of up to this many bytes per step come back in the job's result and the coordinator stores them. */
const INLINE_BYTES = 8 * 1024;

/**
 * Jobs per `addBulk`. One bulk is one MULTI/EXEC, which Redis runs without serving anyone else: 400 jobs
 * at once kept every worker waiting ~20 ms at a run's start (400 job scripts of ~55 µs); in slices,
 * workers take the first jobs while the rest are added.
 */
const ADD_BULK_MAX = 50;

/**
 * Stores of handed-back outputs go out at most this often (each a round trip for all steps finished
 * meanwhile). Every step of a chain waits for its store, so this is latency on each link: at 8 ms a chain
 * of trivial steps took 7.7 ms a step, at 2 ms 4.0 (as at 0), with the same throughput on a busy fleet.
 */
const PUT_INTERVAL_MS = 2;

type Outcome = { ok: true; value: StepJobResult } | { ok: false; reason: string };

/** The store reference workers receive: they open the same store themselves. */
export function storeRef(store: ArtifactStore): StoreRef {
  const ref = storeRefOf(store.locator?.());
  if (ref) return ref;
  throw new LatentflowError("E_EXECUTOR", `the queue executor needs a store its workers can open; '${store.kind}' is not one`, {
    hint: "use RedisArtifactStore (the default with --executor queue) or an FsArtifactStore on a path every worker mounts",
  });
}

/** True when every output of the step is in the store under its current key. */
async function stepCached(store: ArtifactStore, node: PlanNode, inputs: Record<string, ArtifactManifest>, baseDir: string): Promise<boolean> {
  const key = await keyForNode(node, inputs, baseDir);
  for (const port of Object.keys(node.step.outputs)) if (!(await store.has(outputKey(key, port)))) return false;
  return true;
}

function isStepResult(v: unknown): v is StepJobResult {
  return typeof v === "object" && v !== null && typeof (v as StepJobResult).key === "string" && typeof (v as StepJobResult).outputs === "object";
}

/** The gathering job's result, with shard counts and attempts taken from the shard jobs themselves. */
async function withShardCounts(job: Job<StepJobData, StepJobResult>, count: number): Promise<StepJobResult> {
  const children = Object.values(await job.getChildrenValues<StepJobResult>());
  const fromCache = children.filter((c) => c.cache === "hit").length;
  const attempts = children.reduce((a, c) => a + c.attempts, 0);
  const r = job.returnvalue;
  // All shards cached and the gather cached too: the step was a cache hit as a whole.
  return { ...r, attempts: r.attempts + attempts, shards: { count, fromCache }, cache: r.cache === "hit" && fromCache === count ? "hit" : "miss" };
}

/**
 * Runs a plan on a fleet: core's engine (`runPlan`) with a launcher that turns each ready step into a
 * BullMQ job (deterministic id `<run>.<step>`) carrying its `StepInvocation`, on the queue its resources
 * name, run by `latentflow worker` processes through the same step runner as the local executor — same
 * cache keys, same artifacts, same records. Retries are BullMQ attempts waiting as core's retry policy
 * says; progress arrives through QueueEvents. The run record lives in Redis, so any process can show
 * it, and running the same run id again (`resume`) picks up jobs where they are.
 */
export class QueueExecutor implements Executor {
  readonly name = "queue";
  readonly prefix: string;
  readonly runs: RedisRunStore;
  private readonly redis: RedisTarget;
  private readonly client: Redis;
  private readonly pollMs: number;
  private readonly keep: number;
  private readonly plugins: string[];
  // Connections kept from run to run (each costs a connect and BullMQ's script loading, ≈20 ms a run):
  // a queue, its event reader and the flow producer per queue name, the cancel subscription. Runs attach
  // their own listeners and detach them when they end; `close()` closes these.
  private readonly queueConns = new Map<string, Promise<{ q: Queue<StepJobData, StepJobResult>; qe: QueueEvents }>>();
  private flowProducer?: FlowProducer;
  private cancelSub?: Promise<Redis>;
  // Checked once per executor (again after a failure): a wrong address or password is a coded error within
  // seconds, not a run that waits forever for a Redis that never comes.
  private reachable?: Promise<void>;
  private persistenceChecked = false;
  private readonly onWarning: ((message: string) => void) | undefined;

  constructor(options: QueueExecutorOptions) {
    this.redis = options.redis;
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    this.client = connect(options.redis);
    this.client.on("error", () => {}); // reconnects on its own; commands wait meanwhile
    this.runs = new RedisRunStore(this.client, this.prefix);
    this.pollMs = options.pollMs ?? 1000;
    this.keep = options.keepJobsSeconds ?? 7 * 24 * 3600;
    this.plugins = options.plugins ?? [];
    this.onWarning = options.onWarning;
  }

  /** Says so once when Redis keeps no data across a restart and artifacts live in it. */
  private async checkPersistence(ref: StoreRef): Promise<void> {
    if (this.persistenceChecked || !this.onWarning || ref.kind !== "redis") return;
    this.persistenceChecked = true;
    try {
      const [, save] = (await this.client.config("GET", "save")) as string[];
      const [, aof] = (await this.client.config("GET", "appendonly")) as string[];
      if (save === "" && aof === "no") {
        this.onWarning(
          `Redis at ${describeRedis(this.redis)} keeps nothing across a restart (save "", appendonly no): a restart loses the fleet's jobs and the artifacts in it; runs then recompute what was lost. Set 'appendonly yes' to keep them, or use --store <dir>`,
        );
      }
    } catch {
      // CONFIG is often disabled on managed Redis: nothing to say then.
    }
  }

  async close(): Promise<void> {
    const conns = await Promise.allSettled([...this.queueConns.values()]);
    this.queueConns.clear();
    for (const c of conns) {
      if (c.status !== "fulfilled") continue;
      await c.value.qe.close().catch(() => {});
      await c.value.q.close().catch(() => {});
    }
    await this.flowProducer?.close().catch(() => {});
    this.flowProducer = undefined;
    const sub = await this.cancelSub?.catch(() => undefined);
    this.cancelSub = undefined;
    sub?.disconnect();
    await closeClient(this.client);
  }

  /** The queue of this name and its event reader, made on first use and kept. */
  private queueConn(name: string): Promise<{ q: Queue<StepJobData, StepJobResult>; qe: QueueEvents }> {
    let c = this.queueConns.get(name);
    if (!c) {
      c = (async () => {
        const connection = redisOptions(this.redis);
        const q = new Queue<StepJobData, StepJobResult>(name, { connection, prefix: this.prefix });
        q.on("error", () => {});
        // Events are read from the stream's last entry as it is now, not from whenever the reader's first XREAD
        // reaches Redis: a job finishing in between would otherwise go unheard (until the poll).
        const [last] = await this.client.xrevrange(`${q.toKey("events")}`, "+", "-", "COUNT", 1);
        const qe = new QueueEvents(name, { connection, prefix: this.prefix, lastEventId: last?.[0] ?? "0-0" });
        qe.on("error", () => {});
        // Every run in progress listens.
        qe.setMaxListeners(0);
        await qe.waitUntilReady();
        return { q, qe };
      })();
      this.queueConns.set(name, c);
      c.catch(() => this.queueConns.get(name) === c && this.queueConns.delete(name));
    }
    return c;
  }

  private flows(): FlowProducer {
    if (!this.flowProducer) {
      this.flowProducer = new FlowProducer({ connection: redisOptions(this.redis), prefix: this.prefix });
      this.flowProducer.on("error", () => {});
    }
    return this.flowProducer;
  }

  /** The subscription to cancel messages, shared by the runs in progress (each listens for its own id). */
  private cancels(): Promise<Redis> {
    if (!this.cancelSub) {
      const sub = this.client.duplicate();
      sub.on("error", () => {});
      sub.setMaxListeners(0);
      this.cancelSub = sub.subscribe(this.runs.cancelChannel).then(() => sub);
      this.cancelSub.catch(() => {
        this.cancelSub = undefined;
        sub.disconnect();
      });
    }
    return this.cancelSub;
  }

  /** Resolves once Redis has answered (and accepted our credentials); throws E_REDIS_UNREACHABLE, E_REDIS_AUTH, … */
  ready(signal?: AbortSignal): Promise<void> {
    if (!this.reachable) {
      const p = probeRedis(this.redis, signal ? { signal } : {});
      this.reachable = p;
      p.catch(() => this.reachable === p && (this.reachable = undefined));
    }
    return this.reachable;
  }

  async run(plan: Plan, options: RunOptions): Promise<RunRecord> {
    await this.ready(options.signal);
    const ref = storeRef(options.store);
    await this.checkPersistence(ref);
    const runId = options.runId ?? newRunId();
    const selected = selectSteps(plan, options.only);
    const records = options.runStore ?? this.runs;
    const log = options.log ?? silentLogger;
    const previous = await records.load(runId);
    const nodes = plan.nodes.filter((n) => selected.has(n.id));
    // Running a run id again is a request to carry it on, even after a cancel.
    await this.runs.clearCancel(runId);
    await this.runs.saveMeta(runId, { file: plan.spec.file, store: ref, ...(options.only ? { only: options.only } : {}), ...(this.plugins.length ? { plugins: this.plugins } : {}), queues: Object.fromEntries(nodes.map((n) => [n.id, queueOf(n)])) });

    const controller = new AbortController();
    const signal = controller.signal;
    const onAbort = () => controller.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    // Listeners this run attaches to the shared connections, detached when it ends.
    const detach: (() => void)[] = [() => options.signal?.removeEventListener("abort", onAbort)];
    const undo = () => {
      for (const d of detach) d();
    };
    try {
      // `latentflow cancel <run>` from another process reaches this coordinator too.
      const sub = await this.cancels();
      const onCancel = (_c: string, id: string) => id === runId && controller.abort();
      sub.on("message", onCancel);
      detach.push(() => sub.off("message", onCancel));
      const launcher = await this.launcher(plan, nodes, options, runId, signal, ref, previous !== undefined, log, detach);
      return await runPlan(plan, { ...options, runId, signal, runStore: records }, {
        executor: this.name,
        launcher,
        // A fleet takes as many steps as are ready; its workers' concurrency bounds the work.
        concurrency: Number.POSITIVE_INFINITY,
        // Coalesced writes: rewriting the whole record at every step start and end made the coordinator the
        // fleet's bottleneck (see docs/fleet.md, Benchmark). The record grows with the steps, so big runs write
        // it less often (200 ms apart for a few steps, up to 1 s for hundreds); jobs show live state meanwhile.
        saveIntervalMs: Math.min(1000, 200 + 2 * selected.size),
        ...(previous ? { startedAt: previous.startedAt } : {}),
        ...(this.onWarning ? { onWarning: this.onWarning } : {}),
      });
    } finally {
      undo();
    }
  }

  /**
   * The launcher of one run: a step launch becomes a BullMQ job (a flow of shard jobs for a sharded step)
   * carrying the step's invocation, and settles when the job does — heard through QueueEvents, with a poll
   * as the safety net for events missed while Redis restarts.
   */
  private async launcher(plan: Plan, nodes: PlanNode[], options: RunOptions, runId: string, signal: AbortSignal, ref: StoreRef, seenBefore: boolean, log: Logger, detach: (() => void)[]): Promise<StepLauncher> {
    const store = options.store;
    const force = options.force ?? false;
    /** What the run's listeners need to know of one launch of a step. */
    interface Launch {
      hooks: LaunchHooks;
      node: PlanNode;
      /** The highest attempt announced (BullMQ's own `active` events: workers send none for it). */
      announced: number;
      /** Retries (`delayed` events) heard, by job. */
      retries: Map<string, number>;
      shards?: { count: number; done: Set<string> };
    }
    const stepJobs = new Map<string, Launch>();
    const shardJobs = new Map<string, Launch>();
    const queues = new Map<string, Queue>();
    const flows = this.flows();
    // Settling jobs, by job id; a `completed` event hands over the job's return value directly (QueueEvents
    // has parsed it already).
    const wake = new Map<string, (returnvalue?: unknown) => void>();
    const early = new Map<string, unknown>();
    // The safety-net poll: one timer for the whole run, checking the jobs that have settled for a while.
    const settling = new Map<string, { check: () => Promise<void>; since: number; q: Queue }>();
    let eventChain = Promise.resolve();
    const announce = (l: Launch, attempt: number) => {
      if (l.announced >= attempt) return;
      l.announced = attempt;
      l.hooks.onAttempt(attempt);
    };
    for (const name of new Set(nodes.map(queueOf))) {
      const { q, qe } = await this.queueConn(name);
      // This run's listeners; the reader is older than any job this run adds, so it hears all of them.
      const on = <U extends keyof QueueEventsListener>(event: U, listener: QueueEventsListener[U]) => {
        qe.on(event, listener);
        detach.push(() => qe.off(event, listener));
      };
      on("active", ({ jobId }) => {
        const l = stepJobs.get(jobId);
        // Not another attempt: a sharded step's gathering job, a stalled job taken again.
        if (l) return announce(l, (l.retries.get(jobId) ?? 0) + 1);
        const s = shardJobs.get(jobId);
        if (s) announce(s, 1);
      });
      on("progress", ({ jobId, data }) => {
        const l = stepJobs.get(jobId);
        const p = data as StepJobProgress;
        if (!l || typeof p !== "object") return;
        // Workers of an earlier version announce each attempt themselves.
        if (p.kind === "start") announce(l, p.attempt);
        else l.hooks.onProgress(p.done, p.total, p.message);
      });
      // A failed attempt with attempts left goes to BullMQ's delayed set (the backoff): that is a retry.
      on("delayed", ({ jobId }) => {
        const l = stepJobs.get(jobId);
        if (!l) return;
        l.retries.set(jobId, (l.retries.get(jobId) ?? 0) + 1);
        eventChain = eventChain
          .then(async () => {
            const job = await Job.fromId<StepJobData, StepJobResult>(q, jobId);
            const attempt = job?.attemptsMade ?? l.retries.get(jobId)!;
            l.hooks.onRetry(attempt, retryDelay(retryPolicyOf(l.node.spec), attempt), decodeFailure(job?.failedReason).message);
          })
          .catch(() => {});
      });
      on("completed", ({ jobId, returnvalue }) => {
        const s = shardJobs.get(jobId);
        if (s?.shards) {
          s.shards.done.add(jobId);
          s.hooks.onProgress(s.shards.done.size, s.shards.count, `shard ${s.shards.done.size}/${s.shards.count}`);
        }
        const w = wake.get(jobId);
        if (w) w(returnvalue);
        // A job can finish before its coordinator starts listening for it: keep the event for settle.
        else if (jobId.startsWith(`${runId}.`)) early.set(jobId, returnvalue);
      });
      on("failed", ({ jobId }) => {
        const w = wake.get(jobId);
        if (w) w();
        else if (jobId.startsWith(`${runId}.`)) early.set(jobId, undefined);
      });
      queues.set(name, q);
    }

    const jobOpts = (node: PlanNode, jobId: string) => ({
      jobId,
      // The engine's retry policy; workers wait between attempts as it says (their `backoffStrategy`).
      attempts: retryPolicyOf(node.spec).attempts,
      backoff: { type: "latentflow" },
      removeOnComplete: { age: this.keep },
      removeOnFail: { age: this.keep },
    });

    // Jobs of steps that become ready together are added with one `addBulk` per queue (one round trip).
    type NewJob = { name: string; data: StepJobData; opts: ReturnType<typeof jobOpts> };
    const adders = new Map<Queue, (job: NewJob) => Promise<void>>();
    const addSoon = (q: Queue, job: NewJob) => {
      let a = adders.get(q);
      if (!a) {
        a = batcher<NewJob, void>(async (jobs) => {
          try {
            // Job ids are fixed: a transaction cut by a dropped connection is sent again (a job it added
            // already stays as it is).
            await retryAborted(() => q.addBulk(jobs));
            return jobs.map(() => undefined);
          } catch {
            // One bad job fails the whole bulk: add them one by one, so each gets its own outcome.
            const each = await Promise.allSettled(jobs.map((j) => q.add(j.name, j.data, j.opts)));
            return each.map((r) => (r.status === "rejected" ? new Failed(r.reason) : undefined));
          }
        }, 0, ADD_BULK_MAX);
        adders.set(q, a);
      }
      return a(job);
    };

    /** Enqueues a step's job (or flow); false when a job from an earlier coordinator was there already. */
    const add = async (node: PlanNode, data: StepJobData, shards: number | undefined, again: boolean): Promise<boolean> => {
      const q = queues.get(queueOf(node))!;
      const jobId = jobIdFor(runId, node.id);
      // Only a run id seen before can have jobs already: a fresh run skips the lookup.
      const existing = seenBefore || again ? await Job.fromId<StepJobData, StepJobResult>(q, jobId) : undefined;
      if (existing && again) {
        // Run again because its outputs were lost: the finished job's result names artifacts that are gone.
        await q.remove(jobId, { removeChildren: true }).catch(() => {});
      } else if (existing) {
        if ((await existing.getState()) !== "failed") return false; // resuming: leave it where it is
        if (!shards) {
          // A failed (or cancelled) job is run again.
          await existing.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(async (e: unknown) => {
            // Sent again after a reconnect, a retry that ran before Redis went away finds the job failed no more.
            if ((await existing.getState()) === "failed") throw e;
          });
          return false;
        }
        // A failed flow is rebuilt: shards that finished come from the cache.
        await q.remove(jobId, { removeChildren: true }).catch(() => {});
      }
      if (!shards) {
        await addSoon(q, { name: node.uses, data, opts: jobOpts(node, jobId) });
        return true;
      }
      // Each shard is a job of its own, so the fleet shares them; the step's job runs once they are all
      // done, and gathers them from the cache in input order.
      // Job ids are fixed: a transaction cut by a dropped connection is sent again.
      await retryAborted(() => flows.add({
        name: node.uses,
        queueName: q.name,
        data,
        opts: jobOpts(node, jobId),
        children: Array.from({ length: shards }, (_, i) => ({
          name: `${node.uses}#${i}`,
          queueName: q.name,
          data: { ...data, shardIndex: i },
          opts: { ...jobOpts(node, shardJobIdFor(runId, node.id, i)), failParentOnFailure: true },
        })),
      }));
      return true;
    };

    // Cache lookups of steps that become ready together, in one round trip where the store can (`hasMany`): a
    // step found missing is enqueued with that key as `absentKey`, and its worker skips its own lookup — one
    // round trip fewer on the path of every step that computes.
    const lookup = batcher<string, boolean>((keys) => (store.hasMany ? store.hasMany(keys) : Promise.all(keys.map((k) => store.has(k)))));
    /** The step's cache key if the coordinator can compute it (no fingerprint to read) and finds it not cached. */
    const absentKey = async (node: PlanNode, inputs: Record<string, OutputRecord>): Promise<string | undefined> => {
      if (force || node.step.fingerprint || (node.spec.shard && node.step.shardable)) return undefined;
      const hashes: Record<string, string> = {};
      for (const [port, r] of Object.entries(inputs)) hashes[port] = r.hash;
      const key = stepKey(node, hashes);
      try {
        const present = await Promise.all(Object.keys(node.step.outputs).map((port) => lookup(outputKey(key, port))));
        return present.every(Boolean) ? undefined : key;
      } catch (e) {
        log.debug(`cache lookup of step ${node.id}: ${(e as Error).message}`);
        return undefined; // the worker looks up itself
      }
    };

    // Small outputs that workers handed back in their results: stored here before their step counts as done,
    // those of steps finishing together in one round trip (`putMany` where the store has it). First writer
    // wins, as for any put: the outputs recorded are the stored ones.
    const put = batcher<PutItem, ArtifactManifest>(async (items) => {
      if (store.putMany) return store.putMany(items);
      const out: ArtifactManifest[] = [];
      for (const it of items) out.push(await store.put(it.key, it.type, it.files, it.info, { replace: it.replace ?? false }));
      return out;
    }, PUT_INTERVAL_MS);
    const storeInline = async (r: StepJobResult): Promise<Record<string, OutputRecord>> => {
      const items: PutItem[] = r.inline!.map(({ manifest: m, files }) => ({
        key: m.key,
        type: m.type,
        files: Object.fromEntries(Object.entries(files).map(([name, b64]) => [name, new Uint8Array(Buffer.from(b64, "base64"))])),
        ...(m.info ? { info: m.info } : {}),
        manifest: m,
        // A forced run replaces what is stored (a damaged copy is repaired, not kept).
        ...(force ? { replace: true } : {}),
      }));
      const stored = new Map((await Promise.all(items.map(put))).map((m) => [m.key, m]));
      const outputs: Record<string, OutputRecord> = {};
      for (const [port, out] of Object.entries(r.outputs)) {
        const m = stored.get(out.key);
        outputs[port] = m ? { key: m.key, hash: m.hash, type: m.type, size: m.size } : out;
      }
      return outputs;
    };

    /** Why a flow failed: the first failed shard's own reason, not BullMQ's "child failed". */
    const shardFailure = async (node: PlanNode, count: number): Promise<string | undefined> => {
      const q = queues.get(queueOf(node))!;
      for (let i = 0; i < count; i++) {
        const child = await Job.fromId<StepJobData, StepJobResult>(q, shardJobIdFor(runId, node.id, i));
        if (child?.failedReason) return child.failedReason;
      }
      return undefined;
    };

    const settle = (node: PlanNode, data: StepJobData, shards: number | undefined, fresh: boolean): Promise<Outcome> => {
      const q = queues.get(queueOf(node))!;
      const jobId = jobIdFor(runId, node.id);
      return new Promise<Outcome>((resolve) => {
        let checking = false;
        let done = false;
        const finish = (o: Outcome) => {
          done = true;
          settling.delete(jobId);
          wake.delete(jobId);
          resolve(o);
        };
        const check = async () => {
          if (checking || done) return;
          checking = true;
          try {
            // State first, then the job: a job read before its state could be a stale copy without its result.
            const state = await q.getJobState(jobId);
            if (state === "unknown") {
              // Gone (removed on cancel, or lost with a Redis that kept no data): add it again, or stop.
              if (signal.aborted) finish({ ok: false, reason: encodeFailure("E_CANCELLED", "the run was cancelled") });
              else await add(node, data, shards, false);
              return;
            }
            if (state === "completed" || state === "failed") {
              const job = await Job.fromId<StepJobData, StepJobResult>(q, jobId);
              if (!job) return;
              if (state === "completed") finish({ ok: true, value: shards ? await withShardCounts(job, shards) : job.returnvalue });
              else finish({ ok: false, reason: (shards ? await shardFailure(node, shards) : undefined) ?? job.failedReason });
            } else if (signal.aborted && (state === "waiting" || state === "delayed" || state === "prioritized" || state === "waiting-children")) {
              await q.remove(jobId, { removeChildren: true }).catch(() => {});
            }
          } catch (e) {
            log.debug(`checking job ${jobId}: ${(e as Error).message}`);
          } finally {
            checking = false;
          }
        };
        wake.set(jobId, (returnvalue) => {
          if (done) return;
          let value = returnvalue;
          if (typeof value === "string") {
            try {
              value = JSON.parse(value);
            } catch {
              value = undefined;
            }
          }
          // The event carries the result: no need to read the job back from Redis.
          if (!shards && isStepResult(value)) finish({ ok: true, value });
          else void check();
        });
        // The run's poll is a safety net for events missed (e.g. while Redis restarts); a job just added needs
        // no first look, one found from an earlier coordinator does.
        settling.set(jobId, { check, since: Date.now(), q });
        if (early.has(jobId)) {
          const rv = early.get(jobId);
          early.delete(jobId);
          wake.get(jobId)!(rv);
        } else if (!fresh) void check();
      });
    };

    // One timer for the run: jobs settling for longer than a poll period get one cheap pipelined look at their
    // hash (does it exist, has it finished); only those finished, gone, or of a cancelled run get a full check.
    let polling = false;
    const poll = async () => {
      if (polling || !settling.size) return;
      polling = true;
      try {
        const due = [...settling.entries()].filter(([, s]) => Date.now() - s.since >= this.pollMs);
        if (!due.length) return;
        if (signal.aborted) {
          for (const [, s] of due) void s.check();
          return;
        }
        const pipe = this.client.pipeline();
        for (const [jobId, s] of due) pipe.hmget(s.q.toKey(jobId), "timestamp", "finishedOn");
        const res = (await pipe.exec()) ?? [];
        due.forEach(([, s], i) => {
          const [err, v] = res[i] ?? [null, null];
          const [timestamp, finishedOn] = (v as (string | null)[] | null) ?? [null, null];
          if (err || !timestamp || finishedOn) void s.check();
        });
      } catch (e) {
        log.debug(`polling jobs of run ${runId}: ${(e as Error).message}`);
      } finally {
        polling = false;
      }
    };
    const pollTimer = setInterval(() => void poll(), this.pollMs);
    detach.push(() => clearInterval(pollTimer));

    return {
      launch: async (node, inputs, hooks) => {
        const keys: Record<string, string> = {};
        for (const [port, out] of Object.entries(inputs)) keys[port] = out.key;
        const data = jobData(node, { runId, seed: plan.spec.seed, baseDir: plan.baseDir, force, store: ref, inputs: keys });
        const launch: Launch = { hooks, node, announced: 0, retries: new Map() };
        stepJobs.set(jobIdFor(runId, node.id), launch);
        // A sharded step fans out into one job per shard, unless its gathered outputs are cached already:
        // only it needs its inputs' manifests (their item counts and hashes).
        const inputManifests: Record<string, ArtifactManifest> = {};
        if (node.spec.shard && node.step.shardable) {
          for (const [port, key] of Object.entries(keys)) {
            const m = await store.stat(key);
            if (!m) throw new LatentflowError("E_ARTIFACT_MISSING", `input '${port}' of step '${node.id}': artifact ${key} is not in ${store.location}`);
            inputManifests[port] = m;
          }
        }
        const count = shardCount(node, inputManifests);
        const cached = count !== undefined && !force && (await stepCached(store, node, inputManifests, plan.baseDir));
        const shards = count !== undefined && count > 1 && !cached ? count : undefined;
        if (shards) {
          launch.shards = { count: shards, done: new Set() };
          for (let i = 0; i < shards; i++) shardJobs.set(shardJobIdFor(runId, node.id, i), launch);
        } else {
          const absent = await absentKey(node, inputs);
          if (absent) data.absentKey = absent;
          if (!node.spec.shard) data.inlineBytes = INLINE_BYTES;
        }
        const fresh = await add(node, data, shards, hooks.again);
        const o = await settle(node, data, shards, fresh);
        // Retries heard are told before the step's end.
        await eventChain;
        if (!o.ok) throw errorFromRecord(decodeFailure(o.reason));
        const r = o.value;
        const outputs = r.inline?.length ? await storeInline(r) : r.outputs;
        return { key: r.key, cache: r.cache, attempts: r.attempts, outputs, skipped: r.skipped, ...(r.shards ? { shards: r.shards } : {}) };
      },
      // Workers abort running jobs of the run; the coordinator removes those still waiting.
      cancel: async () => {
        await this.runs.requestCancel(runId);
        for (const w of wake.values()) w();
      },
    };
  }
}
