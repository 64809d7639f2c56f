import { availableParallelism } from "node:os";
import { LatentflowError } from "../errors.js";
import type { Plan, PlanNode } from "../pipeline/validate.js";
import { createRecordSaver } from "../runs/record-saver.js";
import { ResourceCache } from "../resources.js";
import { newRunId, type RunRecord, type StepRecord } from "../runs/run-record.js";
import type { ArtifactManifest } from "../store/artifact-store.js";
import { silentLogger, type Executor, type RunOptions } from "./executor.js";
import { cancelPending, finishRecord, startReady } from "./schedule.js";
import { runStep } from "./step-runner.js";

/** The steps to run for `only`: those named and everything upstream of them. */
export function selectSteps(plan: Plan, only?: string[]): Set<string> {
  if (!only?.length) return new Set(plan.nodes.map((n) => n.id));
  const byId = new Map(plan.nodes.map((n) => [n.id, n]));
  const out = new Set<string>();
  const add = (id: string) => {
    if (out.has(id)) return;
    const n = byId.get(id);
    if (!n) throw new LatentflowError("E_UNKNOWN_STEP", `--only names step '${id}', which is not in ${plan.spec.file}`, { hint: `steps: ${[...byId.keys()].join(", ")}` });
    out.add(id);
    n.deps.forEach(add);
  };
  only.forEach(add);
  return out;
}

/** A fresh run record with every step pending (or not-run when not selected). */
export function initialRecord(plan: Plan, runId: string, executor: string, selected: Set<string>): RunRecord {
  const steps: Record<string, StepRecord> = {};
  for (const n of plan.nodes) steps[n.id] = { status: selected.has(n.id) ? "pending" : "not-run", uses: n.uses, attempts: 0, outputs: {}, skipped: [] };
  return { id: runId, pipeline: plan.spec.name, file: plan.spec.file, executor, status: "running", startedAt: new Date().toISOString(), steps };
}

function errorOf(e: unknown): { code: string; message: string; hint?: string } {
  if (e instanceof LatentflowError) return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { code: "E_STEP_FAILED", message: e instanceof Error ? e.message : String(e) };
}

/**
 * Runs a plan in this process: steps in dependency order, independent branches concurrently up to
 * `concurrency`, each step from cache when its key is already stored. A failed step stops its
 * dependents, not its independent siblings. The run record is saved after every change.
 */
export class LocalExecutor implements Executor {
  readonly name = "local";

  async run(plan: Plan, options: RunOptions): Promise<RunRecord> {
    const runId = options.runId ?? newRunId();
    const selected = selectSteps(plan, options.only);
    const record = initialRecord(plan, runId, this.name, selected);
    const concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    const log = options.log ?? silentLogger;
    const signal = options.signal ?? new AbortController().signal;
    const emit = options.onEvent ?? (() => {});
    const saver = createRecordSaver(record, options.runStore, log);
    const save = () => saver.save();
    await saver.flush();
    emit({ type: "run-start", runId, steps: [...selected] });

    const outputsOf = new Map<string, Record<string, ArtifactManifest>>();
    const pending = new Map<string, PlanNode>(plan.nodes.filter((n) => selected.has(n.id)).map((n) => [n.id, n]));
    const running = new Map<string, Promise<void>>();
    const failed = new Set<string>();
    const started = Date.now();
    const resources = options.resources ?? new ResourceCache();

    const start = (node: PlanNode) => {
      pending.delete(node.id);
      const rec = record.steps[node.id]!;
      rec.status = "running";
      rec.startedAt = new Date().toISOString();
      const t0 = Date.now();
      void save();
      const inputs: Record<string, ArtifactManifest> = {};
      for (const [port, ref] of Object.entries(node.inputs)) inputs[port] = outputsOf.get(ref.step)![ref.port]!;
      const p = runStep(node, inputs, {
        store: options.store,
        runId,
        seed: plan.spec.seed,
        baseDir: plan.baseDir,
        signal,
        log,
        force: options.force ?? false,
        concurrency,
        ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
        resources,
        onProgress: (done, total, message) => emit({ type: "step-progress", runId, stepId: node.id, done, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) }),
        onRetry: (attempt, delayMs, error) => emit({ type: "step-retry", runId, stepId: node.id, attempt, delayMs, error: String(error) }),
        onAttempt: (attempt) => {
          rec.attempts = Math.max(rec.attempts, attempt);
          emit({ type: "step-start", runId, stepId: node.id, attempt });
        },
      })
        .then(async (r) => {
          const manifests: Record<string, ArtifactManifest> = {};
          for (const [port, o] of Object.entries(r.outputs)) manifests[port] = (await options.store.stat(o.key))!;
          outputsOf.set(node.id, manifests);
          Object.assign(rec, { status: "succeeded", cache: r.cache, key: r.key, attempts: r.attempts, outputs: r.outputs, skipped: r.skipped, ...(r.shards ? { shards: r.shards } : {}) });
        })
        .catch((e: unknown) => {
          rec.status = signal.aborted ? "cancelled" : "failed";
          rec.error = errorOf(e);
          failed.add(node.id);
          if (!signal.aborted) log.error(`step ${node.id} failed: ${rec.error.message}`);
        })
        .finally(() => {
          rec.finishedAt = new Date().toISOString();
          rec.durationMs = Date.now() - t0;
          running.delete(node.id);
          void save();
          emit({ type: "step-end", runId, stepId: node.id, record: JSON.parse(JSON.stringify(rec)) });
        });
      running.set(node.id, p);
    };

    while (pending.size || running.size) {
      if (!signal.aborted) startReady(pending, record, failed, (d) => outputsOf.has(d), () => running.size < concurrency, start);
      else cancelPending(pending, record);
      if (!running.size) {
        if (pending.size) throw new LatentflowError("E_INTERNAL", `scheduler stalled with ${[...pending.keys()].join(", ")} pending`);
        break;
      }
      await Promise.race(running.values());
    }

    finishRecord(record, signal.aborted, failed.size > 0, started);
    if (!options.resources) {
      await resources.dispose().catch((e: unknown) => log.warn(`freeing the run's resources failed: ${e instanceof Error ? e.message : String(e)}`));
    }
    await saver.flush();
    emit({ type: "run-end", runId, record });
    return record;
  }
}
