import { LatentflowError } from "../errors.js";
import type { Plan, PlanNode } from "../pipeline/validate.js";
import { createRecordSaver } from "../runs/record-saver.js";
import { newRunId, type OutputRecord, type RunRecord, type RunStore, type StepRecord } from "../runs/run-record.js";
import { errorRecord } from "./error-record.js";
import { silentLogger, type RunOptions } from "./executor.js";
import { cancelPending, finishRecord, initialRecord, selectSteps, startReady } from "./schedule.js";
import type { StepResult } from "./step-runner.js";

/** What a launcher is told about one launch of a step, and how it reports back. */
export interface LaunchHooks {
  runId: string;
  /** The run's signal: aborted when the run is cancelled. */
  signal: AbortSignal;
  /**
   * True when the step ran before in this run and is launched again because artifacts it made were lost:
   * whatever the earlier launch left behind (a finished job) is stale.
   */
  again: boolean;
  /** An attempt of the step (1-based) started. */
  onAttempt(attempt: number): void;
  /** Attempt `attempt` failed and the step is tried again after `delayMs`. */
  onRetry(attempt: number, delayMs: number, error: string): void;
  onProgress(done: number, total?: number, message?: string): void;
}

/**
 * Where an executor's steps run. `launch` gets the step done — from cache, in this process, on a fleet —
 * and resolves with the step runner's result, or rejects with the step's error (a LatentflowError keeps
 * its code, hint and data in the record). Everything else (order, concurrency, retries' policy, records,
 * events, cancellation, recomputing lost artifacts) is the engine's.
 */
export interface StepLauncher {
  launch(node: PlanNode, inputs: Record<string, OutputRecord>, hooks: LaunchHooks): Promise<StepResult>;
  /** Called once when the run is cancelled, before the launches in flight settle. */
  cancel?(): Promise<void> | void;
}

export interface EngineSettings {
  /** The executor's name, kept in the run record. */
  executor: string;
  launcher: StepLauncher;
  /** Steps in flight at once when `options.concurrency` is not given. */
  concurrency: number;
  /** Where the record is kept when `options.runStore` is not given. */
  runStore?: RunStore;
  /** Least time between two saves of the record (see createRecordSaver). Default 200 ms. */
  saveIntervalMs?: number;
  /** When the run started, for a run carried on from an earlier record. */
  startedAt?: string;
  /** Told what a user should know (steps recomputed because their artifacts were lost). */
  onWarning?(message: string): void;
}

/** How often a step (and each step whose outputs it needs) is put back after its inputs were lost, at most. */
const MAX_RECOMPUTE = 3;

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

/**
 * The engine under every executor: runs a plan's selected steps in dependency order, independent branches
 * concurrently up to the concurrency, each through the launcher. A failed step stops its dependents, not
 * its independent siblings; a step that finds an input artifact gone (E_ARTIFACT_MISSING) has the steps
 * that made it run again first. The run record is saved as it changes (coalesced) and events go out.
 */
export async function runPlan(plan: Plan, options: RunOptions, settings: EngineSettings): Promise<RunRecord> {
  const runId = options.runId ?? newRunId();
  const selected = selectSteps(plan, options.only);
  const record = initialRecord(plan, runId, settings.executor, selected);
  if (settings.startedAt) record.startedAt = settings.startedAt;
  const log = options.log ?? silentLogger;
  const signal = options.signal ?? new AbortController().signal;
  const emit = options.onEvent ?? (() => {});
  const limit = Math.max(1, options.concurrency ?? settings.concurrency);
  const launcher = settings.launcher;
  const saver = createRecordSaver(record, options.runStore ?? settings.runStore, log, settings.saveIntervalMs);
  const save = () => saver.save();
  const started = Date.now();
  await saver.flush();
  emit({ type: "run-start", runId, steps: [...selected] });

  const nodes = plan.nodes.filter((n) => selected.has(n.id));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Outputs of finished steps as their results name them; launchers read full manifests where they need them.
  const outputsOf = new Map<string, Record<string, OutputRecord>>();
  const pending = new Map<string, PlanNode>(nodes.map((n) => [n.id, n]));
  const running = new Map<string, Promise<void>>();
  const failed = new Set<string>();
  // Steps launched before in this run (their outputs were lost), and how often each was put back.
  const again = new Set<string>();
  const recomputed = new Map<string, number>();

  // The loop sleeps until a step ends or the run is aborted.
  let wakeLoop: () => void = () => {};
  const onAbort = () => wakeLoop();
  signal.addEventListener("abort", onAbort, { once: true });

  /**
   * A step found an input artifact missing: when the artifacts of finished steps are gone from the store (a
   * Redis restarted without persistence, an artifact expired or deleted), those steps run again, then this
   * one (at once when its inputs are back already: another step found them gone first). False when the
   * step was put back too often already.
   */
  const recomputeLost = async (node: PlanNode): Promise<boolean> => {
    if (signal.aborted || (recomputed.get(node.id) ?? 0) >= MAX_RECOMPUTE) return false;
    const lost = new Set<string>();
    for (const r of Object.values(node.inputs)) {
      const out = outputsOf.get(r.step)?.[r.port];
      if (out && !(await options.store.has(out.key))) lost.add(r.step);
    }
    if ([...lost].some((id) => (recomputed.get(id) ?? 0) >= MAX_RECOMPUTE || !byId.has(id))) return false;
    recomputed.set(node.id, (recomputed.get(node.id) ?? 0) + 1);
    for (const id of lost) {
      recomputed.set(id, (recomputed.get(id) ?? 0) + 1);
      if (pending.has(id) || running.has(id)) continue;
      outputsOf.delete(id);
      Object.assign(record.steps[id]!, { status: "pending", outputs: {} });
      again.add(id);
      pending.set(id, byId.get(id)!);
    }
    if (lost.size) {
      const names = [...lost].map((id) => `'${id}'`).join(", ");
      log.warn(`step ${node.id}: the outputs of ${names} are gone from ${options.store.location}; running ${lost.size > 1 ? "them" : "it"} again`);
      settings.onWarning?.(`step '${node.id}': input artifacts made by ${names} are gone from ${options.store.location} (a Redis restarted without persistence?); recomputing them`);
    }
    const rec = record.steps[node.id]!;
    rec.status = "pending";
    delete rec.error;
    again.add(node.id);
    pending.set(node.id, node);
    return true;
  };

  const start = (node: PlanNode) => {
    pending.delete(node.id);
    const rec: StepRecord = record.steps[node.id]!;
    rec.status = "running";
    rec.startedAt = new Date().toISOString();
    const t0 = Date.now();
    void save();
    const inputs: Record<string, OutputRecord> = {};
    for (const [port, r] of Object.entries(node.inputs)) inputs[port] = outputsOf.get(r.step)![r.port]!;
    const relaunch = again.delete(node.id);
    let requeued = false;
    const p = Promise.resolve()
      .then(() =>
        launcher.launch(node, inputs, {
          runId,
          signal,
          again: relaunch,
          onAttempt: (attempt) => {
            rec.attempts = Math.max(rec.attempts, attempt);
            emit({ type: "step-start", runId, stepId: node.id, attempt });
          },
          onRetry: (attempt, delayMs, error) => emit({ type: "step-retry", runId, stepId: node.id, attempt, delayMs, error }),
          onProgress: (done, total, message) => emit({ type: "step-progress", runId, stepId: node.id, done, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) }),
        }),
      )
      .then((r) => {
        outputsOf.set(node.id, r.outputs);
        Object.assign(rec, { status: "succeeded", cache: r.cache, key: r.key, attempts: r.attempts, outputs: r.outputs, skipped: r.skipped, ...(r.shards ? { shards: r.shards } : {}) });
      })
      .catch(async (e: unknown) => {
        const error = errorRecord(e);
        if (error.code === "E_ARTIFACT_MISSING" && (await recomputeLost(node).catch(() => false))) return void (requeued = true);
        rec.error = error;
        rec.status = signal.aborted || error.code === "E_CANCELLED" ? "cancelled" : "failed";
        failed.add(node.id);
        if (rec.status === "failed") log.error(`step ${node.id} failed: ${error.message}`);
      })
      .finally(() => {
        running.delete(node.id);
        if (!requeued) {
          rec.finishedAt = new Date().toISOString();
          rec.durationMs = Date.now() - t0;
          void save();
          // The event gets its own copy (the record keeps changing); none is made without a listener.
          if (options.onEvent) emit({ type: "step-end", runId, stepId: node.id, record: copyJson(rec) });
        }
        wakeLoop();
      });
    running.set(node.id, p);
  };

  let cancelled = false;
  try {
    while (pending.size || running.size) {
      if (!signal.aborted) startReady(pending, record, failed, (d) => outputsOf.has(d), () => running.size < limit, start);
      else {
        cancelPending(pending, record);
        if (!cancelled) {
          cancelled = true;
          await Promise.resolve(launcher.cancel?.()).catch((e: unknown) => log.warn(`cancelling run ${runId}: ${e instanceof Error ? e.message : String(e)}`));
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
    signal.removeEventListener("abort", onAbort);
  }

  finishRecord(record, signal.aborted, failed.size > 0, started);
  await saver.flush();
  emit({ type: "run-end", runId, record });
  return record;
}
