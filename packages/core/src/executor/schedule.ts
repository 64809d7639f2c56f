import type { PlanNode } from "../pipeline/validate.js";
import type { RunRecord } from "../runs/run-record.js";

// The scheduling rules every executor shares; executors differ only in how a started step runs.

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
