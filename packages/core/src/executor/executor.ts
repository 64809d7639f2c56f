import type { Logger } from "../plugin.js";
import type { Plan } from "../pipeline/validate.js";
import type { RunRecord, RunStore, StepRecord } from "../runs/run-record.js";
import type { ResourceCache } from "../resources.js";
import type { ArtifactStore } from "../store/artifact-store.js";

/** What happens during a run, for progress bars and `--json` output. */
export type RunEvent =
  | { type: "run-start"; runId: string; steps: string[] }
  | { type: "step-start"; runId: string; stepId: string; attempt: number }
  | { type: "step-progress"; runId: string; stepId: string; done: number; total?: number; message?: string }
  | { type: "step-retry"; runId: string; stepId: string; attempt: number; delayMs: number; error: string }
  | { type: "step-end"; runId: string; stepId: string; record: StepRecord }
  | { type: "run-end"; runId: string; record: RunRecord };

export interface RunOptions {
  store: ArtifactStore;
  runStore?: RunStore;
  runId?: string;
  /** Recompute selected steps even when their outputs are cached. */
  force?: boolean;
  /** Run only these steps (and whatever they need, from cache when possible). */
  only?: string[];
  /** Most steps (or shards) in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  log?: Logger;
  /** Where steps get their scratch directories. */
  scratchDir?: string;
  /**
   * Models and other resources shared by the run's steps and shards. Given, it is the caller's to dispose
   * (and outlives the run: a long-lived process keeps its models); not given, the executor makes one for
   * the run and frees it at the run's end.
   */
  resources?: ResourceCache;
}

/**
 * Runs a validated plan. Every executor gives the same artifacts for the same plan (same cache keys,
 * same bytes): they differ only in where the work happens. Conformance: the executor contract suite.
 */
export interface Executor {
  readonly name: string;
  run(plan: Plan, options: RunOptions): Promise<RunRecord>;
}

/** A logger that drops everything; the default when none is given. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
