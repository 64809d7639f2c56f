import { Job, Queue } from "bullmq";
import { LatentflowError, type RunRecord } from "@latentflow/core";
import { redisOptions, type RedisTarget } from "../connection.js";
import { jobIdFor } from "../executor/job.js";
import type { RedisRunStore } from "./redis-run-store.js";

/** A step's BullMQ job as `status` shows it. */
export interface StepJobState {
  step: string;
  queue: string;
  jobId: string;
  /** BullMQ's state, or "absent" when no job was enqueued (yet). */
  state: string;
  attemptsMade: number;
  progress?: unknown;
}

async function withQueues<T>(redis: RedisTarget, prefix: string, names: Iterable<string>, fn: (q: (name: string) => Queue) => Promise<T>): Promise<T> {
  const queues = new Map<string, Queue>();
  const get = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: redisOptions(redis), prefix });
      q.on("error", () => {});
      queues.set(name, q);
    }
    return q;
  };
  for (const n of names) get(n);
  try {
    return await fn(get);
  } finally {
    await Promise.all([...queues.values()].map((q) => q.close()));
  }
}

function notFound(id: string): LatentflowError {
  return new LatentflowError("E_NOT_FOUND", `no run '${id}' in this Redis (prefix checked)`, { hint: "'latentflow runs --redis <url>' lists runs; check --prefix" });
}

/** A run's record and the live state of each step's job: what `latentflow status <run>` shows. */
export async function runStatus(runs: RedisRunStore, redis: RedisTarget, id: string): Promise<{ record: RunRecord; jobs: StepJobState[] }> {
  const record = await runs.load(id);
  const meta = await runs.loadMeta(id);
  if (!record || !meta) throw notFound(id);
  const jobs = await withQueues(redis, runs.prefix, Object.values(meta.queues), async (q) => {
    const out: StepJobState[] = [];
    for (const [step, queue] of Object.entries(meta.queues)) {
      const jobId = jobIdFor(id, step);
      const job = await Job.fromId(q(queue), jobId);
      out.push({ step, queue, jobId, state: job ? await job.getState() : "absent", attemptsMade: job?.attemptsMade ?? 0, ...(job?.progress ? { progress: job.progress } : {}) });
    }
    return out;
  });
  return { record, jobs };
}

/**
 * Cancels a run from any process: workers abort its running jobs, its waiting jobs are removed, and its
 * coordinator (if one is alive) ends the run as cancelled. With no coordinator, the record is closed here.
 */
export async function cancelRun(runs: RedisRunStore, redis: RedisTarget, id: string, waitMs = 3000): Promise<RunRecord> {
  const meta = await runs.loadMeta(id);
  if (!meta || !(await runs.load(id))) throw notFound(id);
  await runs.requestCancel(id);
  await withQueues(redis, runs.prefix, Object.values(meta.queues), async (q) => {
    for (const [step, queue] of Object.entries(meta.queues)) {
      const job = await Job.fromId(q(queue), jobIdFor(id, step));
      if (job && ["waiting", "delayed", "prioritized"].includes(await job.getState())) await job.remove().catch(() => {});
    }
  });
  const deadline = Date.now() + waitMs;
  let record = (await runs.load(id))!;
  while (record.status === "running" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    record = (await runs.load(id))!;
  }
  if (record.status === "running") {
    // No coordinator closed it: nobody is running it, so close it as cancelled.
    for (const s of Object.values(record.steps)) if (s.status === "pending" || s.status === "running") s.status = "cancelled";
    record.status = "cancelled";
    record.finishedAt = new Date().toISOString();
    await runs.save(record);
  }
  return record;
}
