import { FlowProducer, Job, Queue, QueueEvents, type QueueEventsListener } from "bullmq";
import type { Redis } from "ioredis";
import {
  FsArtifactStore,
  LatentflowError,
  initialRecord,
  newRunId,
  cancelPending,
  createRecordSaver,
  finishRecord,
  startReady,
  selectSteps,
  keyForNode,
  outputKey,
  shardCount,
  silentLogger,
  stepKey,
  type ArtifactManifest,
  type ArtifactStore,
  type Executor,
  type OutputRecord,
  type PortType,
  type Plan,
  type PlanNode,
  type RunOptions,
  type RunRecord,
} from "@latentflow/core";
import { closeClient, checkPrefix, connect, DEFAULT_PREFIX, describeRedis, probeRedis, redisOptions, retryAborted, type RedisTarget } from "../connection.js";
import { RedisRunStore } from "../runs/redis-run-store.js";
import { RedisArtifactStore } from "../store/redis-store.js";
import { batcher, Failed } from "./batch.js";
import { decodeFailure, encodeFailure, jobData, jobIdFor, queueOf, shardJobIdFor, type StepJobData, type StepJobProgress, type StepJobResult, type StoreRef } from "./job.js";

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
  if (store instanceof RedisArtifactStore) return { kind: "redis", prefix: store.prefix, ...(store.ttlSeconds ? { ttlSeconds: store.ttlSeconds } : {}) };
  if (store instanceof FsArtifactStore) return { kind: "fs", root: store.location };
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

/** A deep copy of a JSON-like value, as a JSON round trip would give (undefined properties left out), without the text. */
function copyJson<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(copyJson) as T;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = copyJson(x);
  }
  return out as T;
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
 * Runs a plan on a fleet: each ready step becomes a BullMQ job (deterministic id `<run>.<step>`) on the
 * queue its resources name, run by `latentflow worker` processes through the same step runner as the
 * local executor — same cache keys, same artifacts. Retries are BullMQ attempts with exponential
 * backoff; progress arrives through QueueEvents. The run record lives in Redis, so any process can
 * show it, and running the same run id again (`resume`) picks up jobs where they are.
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
  private async checkPersistence(store: ArtifactStore): Promise<void> {
    if (this.persistenceChecked || !this.onWarning || !(store instanceof RedisArtifactStore)) return;
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
    await this.checkPersistence(options.store);
    const onWarning = this.onWarning;
    const runId = options.runId ?? newRunId();
    const selected = selectSteps(plan, options.only);
    const records = options.runStore ?? this.runs;
    const log = options.log ?? silentLogger;
    const emit = options.onEvent ?? (() => {});
    const ref = storeRef(options.store);
    const previous = await records.load(runId);
    const record = initialRecord(plan, runId, this.name, selected);
    if (previous) record.startedAt = previous.startedAt;
    const started = Date.now();
    // Coalesced writes: rewriting the whole record at every step start and end made the coordinator the
    // fleet's bottleneck (see docs/fleet.md, Benchmark). The record grows with the steps, so big runs write
    // it less often (200 ms apart for a few steps, up to 1 s for hundreds); jobs show live state meanwhile.
    const saver = createRecordSaver(record, records, log, Math.min(1000, 200 + 2 * selected.size));
    const save = () => saver.save();

    const nodes = plan.nodes.filter((n) => selected.has(n.id));
    // Running a run id again is a request to carry it on, even after a cancel.
    await this.runs.clearCancel(runId);
    await this.runs.saveMeta(runId, { file: plan.spec.file, store: ref, ...(options.only ? { only: options.only } : {}), ...(this.plugins.length ? { plugins: this.plugins } : {}), queues: Object.fromEntries(nodes.map((n) => [n.id, queueOf(n)])) });
    await saver.flush();
    emit({ type: "run-start", runId, steps: [...selected] });

    const controller = new AbortController();
    const signal = controller.signal;
    const onAbort = () => controller.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    // Listeners this run attaches to the shared connections, detached when it ends.
    const detach: (() => void)[] = [];
    // `latentflow cancel <run>` from another process reaches this coordinator too.
    const sub = await this.cancels().catch((e: unknown) => {
      options.signal?.removeEventListener("abort", onAbort);
      throw e;
    });
    const onCancel = (_c: string, id: string) => id === runId && controller.abort();
    sub.on("message", onCancel);
    detach.push(() => sub.off("message", onCancel));

    const queues = new Map<string, Queue>();
    const stepOfJob = new Map<string, string>();
    // Shard jobs of sharded steps: progress counts their completions.
    const shardOfJob = new Map<string, { stepId: string; count: number; done: Set<string> }>();
    const flows = this.flows();
    // Settling jobs, by job id; a `completed` event hands over the job's return value directly (QueueEvents
    // has parsed it already).
    const wake = new Map<string, (returnvalue?: unknown) => void>();
    const early = new Map<string, unknown>();
    // Step starts come from BullMQ's own `active` events (workers send no event of their own for them):
    // the highest attempt announced, by step, and the retries (`delayed` events) heard, by job.
    const activeSeen = new Map<string, number>();
    const retriesSeen = new Map<string, number>();
    // The safety-net poll: one timer for the whole run, checking the jobs that have settled for a while.
    const settling = new Map<string, { check: () => Promise<void>; since: number; q: Queue }>();
    let eventChain = Promise.resolve();
    for (const name of new Set(nodes.map(queueOf))) {
      const conn = await this.queueConn(name).catch((e: unknown) => {
        options.signal?.removeEventListener("abort", onAbort);
        for (const d of detach) d();
        throw e;
      });
      const { q, qe } = conn;
      // This run's listeners; the reader is older than any job this run adds, so it hears all of them.
      const on = <U extends keyof QueueEventsListener>(event: U, listener: QueueEventsListener[U]) => {
        qe.on(event, listener);
        detach.push(() => qe.off(event, listener));
      };
      const started = (stepId: string, attempt: number) => {
        const rec = record.steps[stepId]!;
        rec.attempts = Math.max(rec.attempts, attempt);
        emit({ type: "step-start", runId, stepId, attempt });
      };
      on("active", ({ jobId }) => {
        const stepId = stepOfJob.get(jobId);
        if (stepId) {
          // Not another attempt: a sharded step's gathering job, a stalled job taken again.
          const n = (retriesSeen.get(jobId) ?? 0) + 1;
          if ((activeSeen.get(stepId) ?? 0) >= n) return;
          activeSeen.set(stepId, n);
          started(stepId, n);
          return;
        }
        const shard = shardOfJob.get(jobId);
        if (shard && !activeSeen.has(shard.stepId)) {
          activeSeen.set(shard.stepId, 1);
          started(shard.stepId, 1);
        }
      });
      on("progress", ({ jobId, data }) => {
        const stepId = stepOfJob.get(jobId);
        const p = data as StepJobProgress;
        if (!stepId || typeof p !== "object") return;
        // Workers of an earlier version announce each attempt themselves.
        if (p.kind === "start") {
          if ((activeSeen.get(stepId) ?? 0) >= p.attempt) return;
          activeSeen.set(stepId, p.attempt);
          started(stepId, p.attempt);
        } else emit({ type: "step-progress", runId, stepId, done: p.done, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.message ? { message: p.message } : {}) });
      });
      // A failed attempt with attempts left goes to BullMQ's delayed set (the backoff): that is a retry.
      on("delayed", ({ jobId, delay }) => {
        const stepId = stepOfJob.get(jobId);
        if (!stepId) return;
        retriesSeen.set(jobId, (retriesSeen.get(jobId) ?? 0) + 1);
        eventChain = eventChain.then(async () => {
          const job = await Job.fromId<StepJobData, StepJobResult>(q, jobId);
          const at = Number(delay);
          emit({ type: "step-retry", runId, stepId, attempt: job?.attemptsMade ?? 1, delayMs: Math.max(0, at > 1e12 ? at - Date.now() : at), error: decodeFailure(job?.failedReason).message });
        }).catch(() => {});
      });
      on("completed", ({ jobId, returnvalue }) => {
        const shard = shardOfJob.get(jobId);
        if (shard) {
          shard.done.add(jobId);
          emit({ type: "step-progress", runId, stepId: shard.stepId, done: shard.done.size, total: shard.count, message: `shard ${shard.done.size}/${shard.count}` });
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
      attempts: node.spec.retries + 1,
      backoff: { type: "exponential" as const, delay: 200 },
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
    const add = async (node: PlanNode, data: StepJobData, shards?: number): Promise<boolean> => {
      const q = queues.get(queueOf(node))!;
      const jobId = jobIdFor(runId, node.id);
      // Only a run id seen before can have jobs already: a fresh run skips the lookup.
      const existing = previous || rerun.has(node.id) ? await Job.fromId<StepJobData, StepJobResult>(q, jobId) : undefined;
      if (existing && rerun.has(node.id)) {
        // Run again because its outputs were lost: the finished job's result names artifacts that are gone.
        rerun.delete(node.id);
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

    // Cache lookups of steps that become ready together, in one round trip (a pipeline on a Redis store): a
    // step found missing is enqueued with that key as `absentKey`, and its worker skips its own lookup — one
    // round trip fewer on the path of every step that computes.
    const lookup = batcher<string, boolean>((keys) => {
      const store = options.store;
      return store instanceof RedisArtifactStore ? store.hasMany(keys) : Promise.all(keys.map((k) => store.has(k)));
    });
    /** The step's cache key if the coordinator can compute it (no fingerprint to read) and finds it not cached. */
    const absentKey = async (node: PlanNode): Promise<string | undefined> => {
      if (options.force || node.step.fingerprint || (node.spec.shard && node.step.shardable)) return undefined;
      const hashes: Record<string, string> = {};
      for (const [port, r] of Object.entries(node.inputs)) hashes[port] = outputsOf.get(r.step)![r.port]!.hash;
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
    // those of steps finishing together in one round trip (`putMany` on a Redis store). First writer wins, as
    // for any put: the outputs recorded are the stored ones.
    type Put = { key: string; type: PortType; files: Record<string, Uint8Array>; info?: Record<string, unknown>; manifest?: ArtifactManifest; replace?: boolean };
    const put = batcher<Put, ArtifactManifest>(async (items) => {
      const store = options.store;
      if (store instanceof RedisArtifactStore) return store.putMany(items);
      const out: ArtifactManifest[] = [];
      for (const it of items) out.push(await store.put(it.key, it.type, it.files, it.info, { replace: it.replace ?? false }));
      return out;
    }, PUT_INTERVAL_MS);
    const storeInline = async (r: StepJobResult): Promise<Record<string, OutputRecord>> => {
      const items = r.inline!.map(({ manifest: m, files }) => ({
        key: m.key,
        type: m.type,
        files: Object.fromEntries(Object.entries(files).map(([name, b64]) => [name, new Uint8Array(Buffer.from(b64, "base64"))])),
        ...(m.info ? { info: m.info } : {}),
        manifest: m,
        // A forced run replaces what is stored (a damaged copy is repaired, not kept).
        ...(options.force ? { replace: true } : {}),
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
              else await add(node, data, shards);
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

    // Outputs of finished steps as the job results name them; full manifests are read only where needed.
    const outputsOf = new Map<string, Record<string, OutputRecord>>();
    const pending = new Map<string, PlanNode>(nodes.map((n) => [n.id, n]));
    const running = new Map<string, Promise<void>>();
    const failed = new Set<string>();
    const byId = new Map(nodes.map((n) => [n.id, n]));
    // Steps put back to run again because artifacts they made were lost, and how often each was.
    const rerun = new Set<string>();
    const recomputed = new Map<string, number>();

    /**
     * A step found an input artifact missing: when the artifacts of finished steps are gone from the store (a
     * Redis restarted without persistence, an artifact expired or deleted), those steps run again, then this
     * one (at once when its inputs are back already: another step found them gone first). True when the step
     * was put back; false when it was put back too often already.
     */
    const recomputeLost = async (node: PlanNode): Promise<boolean> => {
      if (signal.aborted || (recomputed.get(node.id) ?? 0) >= 3) return false;
      const lost = new Set<string>();
      for (const r of Object.values(node.inputs)) {
        const out = outputsOf.get(r.step)?.[r.port];
        if (out && !(await options.store.has(out.key))) lost.add(r.step);
      }
      if ([...lost].some((id) => (recomputed.get(id) ?? 0) >= 3 || !byId.has(id))) return false;
      recomputed.set(node.id, (recomputed.get(node.id) ?? 0) + 1);
      for (const id of lost) {
        recomputed.set(id, (recomputed.get(id) ?? 0) + 1);
        activeSeen.delete(id);
        if (pending.has(id) || running.has(id)) continue;
        outputsOf.delete(id);
        Object.assign(record.steps[id]!, { status: "pending", outputs: {} });
        rerun.add(id);
        pending.set(id, byId.get(id)!);
      }
      if (lost.size) {
        log.warn(`step ${node.id}: the outputs of ${[...lost].map((id) => `'${id}'`).join(", ")} are gone from ${options.store.location}; running ${lost.size > 1 ? "them" : "it"} again`);
        onWarning?.(`step '${node.id}': input artifacts made by ${[...lost].map((id) => `'${id}'`).join(", ")} are gone from ${options.store.location} (a Redis restarted without persistence?); recomputing them`);
      }
      const rec = record.steps[node.id]!;
      rec.status = "pending";
      delete rec.error;
      rerun.add(node.id);
      activeSeen.delete(node.id);
      pending.set(node.id, node);
      return true;
    };
    const limit = options.concurrency ?? Number.POSITIVE_INFINITY;

    const start = async (node: PlanNode) => {
      pending.delete(node.id);
      const rec = record.steps[node.id]!;
      rec.status = "running";
      rec.startedAt = new Date().toISOString();
      const t0 = Date.now();
      void save();
      const inputs: Record<string, string> = {};
      for (const [port, r] of Object.entries(node.inputs)) inputs[port] = outputsOf.get(r.step)![r.port]!.key;
      const data = jobData(node, { runId, seed: plan.spec.seed, baseDir: plan.baseDir, force: options.force ?? false, store: ref, inputs });
      stepOfJob.set(jobIdFor(runId, node.id), node.id);
      let requeued = false;
      const p = (async () => {
        // A sharded step fans out into one job per shard, unless its gathered outputs are cached already:
        // only it needs its inputs' manifests (their item counts and hashes).
        const inputManifests: Record<string, ArtifactManifest> = {};
        if (node.spec.shard && node.step.shardable) {
          for (const [port, key] of Object.entries(inputs)) {
            const m = await options.store.stat(key);
            if (!m) throw new LatentflowError("E_ARTIFACT_MISSING", `input '${port}' of step '${node.id}': artifact ${key} is not in ${options.store.location}`);
            inputManifests[port] = m;
          }
        }
        const count = shardCount(node, inputManifests);
        const cached = count !== undefined && !options.force && (await stepCached(options.store, node, inputManifests, plan.baseDir));
        const shards = count !== undefined && count > 1 && !cached ? count : undefined;
        if (shards) {
          const entry = { stepId: node.id, count: shards, done: new Set<string>() };
          for (let i = 0; i < shards; i++) shardOfJob.set(shardJobIdFor(runId, node.id, i), entry);
        }
        if (!shards) {
          const absent = await absentKey(node);
          if (absent) data.absentKey = absent;
          if (!node.spec.shard) data.inlineBytes = INLINE_BYTES;
        }
        const fresh = await add(node, data, shards);
        return settle(node, data, shards, fresh);
      })()
        .then(async (o) => {
          await eventChain;
          if (!o.ok) {
            rec.error = decodeFailure(o.reason);
            if (rec.error.code === "E_ARTIFACT_MISSING" && (await recomputeLost(node))) return void (requeued = true);
            rec.status = signal.aborted || rec.error.code === "E_CANCELLED" ? "cancelled" : "failed";
            failed.add(node.id);
            if (rec.status === "failed") log.error(`step ${node.id} failed: ${rec.error.message}`);
            return;
          }
          const r = o.value;
          if (r.inline?.length) r.outputs = await storeInline(r);
          outputsOf.set(node.id, r.outputs);
          Object.assign(rec, { status: "succeeded", cache: r.cache, key: r.key, attempts: r.attempts, outputs: r.outputs, skipped: r.skipped, ...(r.shards ? { shards: r.shards } : {}) });
        })
        .catch(async (e: unknown) => {
          if (e instanceof LatentflowError && e.code === "E_ARTIFACT_MISSING" && (await recomputeLost(node).catch(() => false))) return void (requeued = true);
          rec.status = signal.aborted ? "cancelled" : "failed";
          rec.error = e instanceof LatentflowError ? { code: e.code, message: e.message } : { code: "E_QUEUE", message: String(e) };
          failed.add(node.id);
        })
        .finally(() => {
          running.delete(node.id);
          if (requeued) return wakeLoop();
          rec.finishedAt = new Date().toISOString();
          rec.durationMs = Date.now() - t0;
          void save();
          // The event gets its own copy (the record keeps changing); none is made without a listener.
          if (options.onEvent) emit({ type: "step-end", runId, stepId: node.id, record: copyJson(rec) });
          wakeLoop();
        });
      running.set(node.id, p);
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

    let cancelSent = false;
    // The scheduling loop sleeps until a step ends or the run is aborted; one listener for the whole run.
    let wakeLoop: () => void = () => {};
    signal.addEventListener("abort", () => wakeLoop(), { once: true });
    try {
      while (pending.size || running.size) {
        if (!signal.aborted) {
          startReady(pending, record, failed, (d) => outputsOf.has(d), () => running.size < limit, (node) => void start(node));
        } else {
          cancelPending(pending, record);
          if (!cancelSent) {
            cancelSent = true;
            // Workers abort running jobs of the run; the coordinator removes those still waiting.
            await this.runs.requestCancel(runId);
            for (const w of wake.values()) w();
          }
        }
        if (!running.size) {
          if (pending.size) throw new LatentflowError("E_INTERNAL", `scheduler stalled with ${[...pending.keys()].join(", ")} pending`);
          break;
        }
        await new Promise<void>((res) => {
          wakeLoop = res;
        });
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      clearInterval(pollTimer);
      for (const d of detach) d();
    }

    finishRecord(record, signal.aborted, failed.size > 0, started);
    await saver.flush();
    emit({ type: "run-end", runId, record });
    return record;
  }
}
