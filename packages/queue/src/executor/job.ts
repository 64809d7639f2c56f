import type { ArtifactManifest, PlanNode, StoreLocator } from "@latentflow/core";
import { invocationOf, type StepError, type StepInvocation, type StepResult } from "@latentflow/core/engine";

/** Where a job's artifacts live, by reference: workers open the store themselves (from its `locator()`). */
export type StoreRef = { kind: "redis"; prefix: string; ttlSeconds?: number } | { kind: "fs"; root: string };

/**
 * A step job's payload: core's step invocation (references and params only, never code) plus where its
 * store is and how its outputs come back.
 */
export interface StepJobData extends StepInvocation {
  store: StoreRef;
  /**
   * Set by a coordinator that stores small outputs itself: outputs of up to this many bytes in all come back
   * in the job's result (`inline`) instead of being stored by the worker. Never set on sharded steps.
   */
  inlineBytes?: number;
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

/** Builds the payload of a step's job: the step's invocation and the store its worker opens. */
export function jobData(node: PlanNode, run: { runId: string; seed: string; baseDir: string; force: boolean; store: StoreRef; inputs: Record<string, string> }): StepJobData {
  return { ...invocationOf(node, run), store: run.store };
}

/** The store reference of a store's locator, or undefined when workers could not open it. */
export function storeRefOf(locator: StoreLocator | undefined): StoreRef | undefined {
  if (locator?.kind === "redis" && typeof locator.prefix === "string") {
    return { kind: "redis", prefix: locator.prefix, ...(typeof locator.ttlSeconds === "number" && locator.ttlSeconds > 0 ? { ttlSeconds: locator.ttlSeconds } : {}) };
  }
  if (locator?.kind === "fs" && typeof locator.root === "string") return { kind: "fs", root: locator.root };
  return undefined;
}

/**
 * A step's error as BullMQ's failedReason: readable in dashboards (`CODE message`, then `hint:` and `data:`
 * lines), parsed back by the coordinator into the same record (`decodeFailure`).
 */
export function encodeFailure(error: StepError): string;
export function encodeFailure(code: string, message: string, hint?: string): string;
export function encodeFailure(a: StepError | string, message?: string, hint?: string): string {
  const e: StepError = typeof a === "string" ? { code: a, message: message ?? "", ...(hint ? { hint } : {}) } : a;
  return `${e.code} ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}${e.data ? `\n  data: ${JSON.stringify(e.data)}` : ""}`;
}

/** The record of a failedReason written by `encodeFailure`; text of any other form is an E_STEP_FAILED message. */
export function decodeFailure(reason: string | undefined): StepError {
  const m = /^(E_[A-Z0-9_]+) ([\s\S]*?)(?:\n {2}hint: ([\s\S]*?))?(?:\n {2}data: (\{.*\}))?$/.exec(reason ?? "");
  if (!m) return { code: "E_STEP_FAILED", message: reason || "the job failed without a reason" };
  let data: Record<string, unknown> | undefined;
  if (m[4]) {
    try {
      data = JSON.parse(m[4]) as Record<string, unknown>;
    } catch {
      data = undefined;
    }
  }
  return { code: m[1]!, message: m[2]!, ...(m[3] ? { hint: m[3] } : {}), ...(data ? { data } : {}) };
}
