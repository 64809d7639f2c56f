import { LatentflowError, type SourceLocation } from "../errors.js";
import type { PluginRegistry } from "../plugin.js";
import type { OnError, StepSpec } from "../pipeline/spec.js";
import type { PlanNode } from "../pipeline/validate.js";
import { retryPolicyOf, type RetryPolicy } from "./retry.js";

/**
 * One call of one step of a run, as data: what a launcher sends to wherever the step runs (a fleet worker,
 * another thread) and what `planNodeOf` turns back into the plan node `runStep`/`runShard` run. JSON only —
 * references and params, never code: the receiving side finds the step in its own plugin registry.
 */
export interface StepInvocation {
  v: 1;
  runId: string;
  stepId: string;
  /** `<plugin>/<step>`, as in the pipeline file. */
  uses: string;
  /** The plugin and the exact version the plan was made with; another version is refused. */
  plugin: { name: string; version: string };
  /** Params after the step's schema applied defaults. */
  params: unknown;
  /** Input port → artifact key of the output feeding it. */
  inputs: Record<string, string>;
  shard?: { size: number };
  /** Run only this shard of a sharded step (and store it); without it, the whole step (gathering shards from the cache). */
  shardIndex?: number;
  onError: OnError;
  retry: RetryPolicy;
  timeoutMs?: number;
  /** The run's seed: a step's randomness comes from it and the step id. */
  seed: string;
  /** Directory relative paths in params resolve against. */
  baseDir: string;
  force: boolean;
  /** Set when the launcher found this cache key (the step's) absent from the store: the runner skips its lookup. */
  absentKey?: string;
}

/** The invocation of a plan node (or of one shard of it) with its inputs' artifact keys. */
export function invocationOf(
  node: PlanNode,
  run: { runId: string; seed: string; baseDir: string; force: boolean; inputs: Record<string, string>; shardIndex?: number; absentKey?: string },
): StepInvocation {
  return {
    v: 1,
    runId: run.runId,
    stepId: node.id,
    uses: node.uses,
    plugin: { name: node.plugin.name, version: node.plugin.version },
    params: node.params ?? {},
    inputs: run.inputs,
    ...(node.spec.shard ? { shard: { size: node.spec.shard.size } } : {}),
    ...(run.shardIndex !== undefined ? { shardIndex: run.shardIndex } : {}),
    onError: node.spec.onError,
    retry: retryPolicyOf(node.spec),
    ...(node.spec.timeoutMs !== undefined ? { timeoutMs: node.spec.timeoutMs } : {}),
    seed: run.seed,
    baseDir: run.baseDir,
    force: run.force,
    ...(run.absentKey ? { absentKey: run.absentKey } : {}),
  };
}

/**
 * The plan node an invocation describes, with the step definition taken from `registry`. Throws
 * E_PLUGIN_MISSING when the registry lacks the plugin, its version or the step. Inputs are already
 * resolved to artifacts, so the node has no dependencies of its own.
 */
export function planNodeOf(inv: StepInvocation, registry: PluginRegistry, where = "this process"): PlanNode {
  const plugin = registry.plugin(inv.plugin.name);
  const step = plugin?.steps.find((s) => `${plugin.name}/${s.name}` === inv.uses);
  if (!plugin || plugin.version !== inv.plugin.version || !step) {
    const have = registry.list().map((p) => `${p.name}@${p.version}`);
    throw new LatentflowError("E_PLUGIN_MISSING", `${where} cannot run ${inv.uses} (${inv.plugin.name}@${inv.plugin.version}); it has ${have.join(", ")}`, {
      hint: `install ${inv.plugin.name} at version ${inv.plugin.version} where the step runs`,
      data: { uses: inv.uses, plugin: inv.plugin, have },
    });
  }
  // Where the step was written is not known here; errors name the step by id instead.
  const loc: SourceLocation = { file: `run ${inv.runId}`, line: 0, column: 0 };
  const spec: StepSpec = {
    id: inv.stepId,
    uses: inv.uses,
    with: typeof inv.params === "object" && inv.params !== null ? { ...(inv.params as Record<string, unknown>) } : {},
    in: {},
    ...(inv.shard ? { shard: { size: inv.shard.size, loc } } : {}),
    retries: inv.retry.attempts - 1,
    ...(inv.timeoutMs !== undefined ? { timeoutMs: inv.timeoutMs } : {}),
    onError: inv.onError,
    loc,
    usesLoc: loc,
    paramLocs: {},
    inLocs: {},
  };
  return { id: inv.stepId, uses: inv.uses, plugin: { name: plugin.name, version: plugin.version }, step, params: inv.params, inputs: {}, deps: [], spec };
}
