import type { ArtifactManifest, OnError, PlanNode, StepResult } from "@latentflow/core";

/** Where a job's artifacts live, by reference: workers open the store themselves. */
export type StoreRef = { kind: "redis"; prefix: string; ttlSeconds?: number } | { kind: "fs"; root: string };

/** A step job's payload: references and params only, never code. */
export interface StepJobData {
  v: 1;
  runId: string;
  stepId: string;
  uses: string;
  plugin: { name: string; version: string };
  /** Params after the coordinator's schema applied defaults. */
  params: unknown;
  /** Input port → artifact key of the output feeding it. */
  inputs: Record<string, string>;
  shard?: { size: number };
  onError: OnError;
  retries: number;
  timeoutMs?: number;
  seed: string;
  baseDir: string;
  force: boolean;
  store: StoreRef;
  /**
   * Set by a coordinator that stores small outputs itself: outputs of up to this many bytes in all come back
   * in the job's result (`inline`) instead of being stored by the worker. Never set on sharded steps.
   */
  inlineBytes?: number;
  /** Set when the coordinator found this cache key (the step's) not cached: the worker skips its lookup. */
  absentKey?: string;
  /** Set on a shard's job: run only this shard of a sharded step (its parent job gathers). */
  shardIndex?: number;
}

/** An output handed back in a job's result, for the coordinator to store: its manifest (as the worker built it) and its files, base64-encoded. */
export interface InlineArtifact {
  manifest: ArtifactManifest;
  files: Record<string, string>;
}

/**
 * A step job's result: the step runner's result, with attempts counted over BullMQ's attempts. Outputs in
 * `inline` are not in the store yet: their manifests in `outputs` are the worker's, and the coordinator
 * stores them (first writer wins) and takes the stored manifests before the step counts as done.
 */
export type StepJobResult = StepResult & { inline?: InlineArtifact[] };

/** Progress messages a worker sends through `job.updateProgress`. */
export type StepJobProgress = { kind: "start"; attempt: number } | { kind: "progress"; done: number; total?: number; message?: string };

/** The queue a step runs on: its declared resources, else "default". */
export function queueOf(node: PlanNode): string {
  return node.step.resources?.queue ?? "default";
}

/** Deterministic job id: a coordinator that restarts (or a second one) never enqueues a step twice. */
export function jobIdFor(runId: string, stepId: string): string {
  return `${runId}.${stepId}`;
}

/** Job id of shard `index` of a step: a child of the step's job in a BullMQ flow. */
export function shardJobIdFor(runId: string, stepId: string, index: number): string {
  return `${jobIdFor(runId, stepId)}.shard-${index}`;
}

/** Builds the payload of a step's job. */
export function jobData(node: PlanNode, ctx: { runId: string; seed: string; baseDir: string; force: boolean; store: StoreRef; inputs: Record<string, string> }): StepJobData {
  return {
    v: 1,
    runId: ctx.runId,
    stepId: node.id,
    uses: node.uses,
    plugin: node.plugin,
    params: node.params ?? {},
    inputs: ctx.inputs,
    ...(node.spec.shard ? { shard: { size: node.spec.shard.size } } : {}),
    onError: node.spec.onError,
    retries: node.spec.retries,
    ...(node.spec.timeoutMs !== undefined ? { timeoutMs: node.spec.timeoutMs } : {}),
    seed: ctx.seed,
    baseDir: ctx.baseDir,
    force: ctx.force,
    store: ctx.store,
  };
}

/** A worker's failure, as BullMQ's failedReason: readable in dashboards, parsed back by the coordinator. */
export function encodeFailure(code: string, message: string, hint?: string): string {
  return `${code} ${message}${hint ? `\n  hint: ${hint}` : ""}`;
}

export function decodeFailure(reason: string | undefined): { code: string; message: string; hint?: string } {
  const m = /^(E_[A-Z0-9_]+) ([\s\S]*?)(?:\n {2}hint: ([\s\S]*))?$/.exec(reason ?? "");
  if (!m) return { code: "E_STEP_FAILED", message: reason || "the job failed without a reason" };
  return { code: m[1]!, message: m[2]!, ...(m[3] ? { hint: m[3] } : {}) };
}
