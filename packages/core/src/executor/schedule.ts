import { LatentflowError } from "../errors.js";
import type { Plan, PlanNode } from "../pipeline/validate.js";
import type { RunRecord, StepRecord } from "../runs/run-record.js";

// The scheduling rules of the engine (engine.ts); executors differ only in how a started step runs.

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


/**
 * Starts every pending step whose inputs are all ready, while `hasRoom()` allows. A step whose input
 * failed or will not run is marked not-run (it can never get its input in this run).
 */
export function startReady(
  pending: Map<string, PlanNode>,
  record: RunRecord,
  failed: Set<string>,
  ready: (stepId: string) => boolean,
  hasRoom: () => boolean,
  start: (node: PlanNode) => void,
): void {
  for (const node of [...pending.values()]) {
    if (!hasRoom()) break;
    if (node.deps.some((d) => failed.has(d) || record.steps[d]!.status === "not-run")) {
      pending.delete(node.id);
      record.steps[node.id]!.status = "not-run";
      failed.add(node.id);
      continue;
    }
    if (node.deps.every(ready)) start(node);
  }
}

/** Marks every step that never started as cancelled. */
export function cancelPending(pending: Map<string, PlanNode>, record: RunRecord): void {
  for (const node of pending.values()) record.steps[node.id]!.status = "cancelled";
  pending.clear();
}

/** Sets a finished run's status, error (the first failed step) and timing. */
export function finishRecord(record: RunRecord, aborted: boolean, anyFailed: boolean, startedMs: number): void {
  record.status = aborted ? "cancelled" : anyFailed ? "failed" : "succeeded";
  const firstFailed = Object.entries(record.steps).find(([, s]) => s.status === "failed");
  if (firstFailed) record.error = { code: firstFailed[1].error!.code, message: `step '${firstFailed[0]}' failed: ${firstFailed[1].error!.message}` };
  record.finishedAt = new Date().toISOString();
  record.durationMs = Date.now() - startedMs;
}
