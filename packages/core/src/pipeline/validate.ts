import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { z } from "zod";
import { LatentflowAggregateError, LatentflowError, type SourceLocation } from "../errors.js";
import type { PluginRegistry, StepDefinition } from "../plugin.js";
import type { PortType } from "../ports.js";
import { seedInt, stepSeed } from "../rng.js";
import { checkPipelineSize, closest, parsePipelinePartial, type PipelineSpec, type StepSpec } from "./spec.js";

/** A step input resolved to the output that feeds it. */
export interface ResolvedInput {
  step: string;
  port: string;
  type: PortType;
}

/** A validated step, ready to run. */
export interface PlanNode {
  id: string;
  uses: string;
  plugin: { name: string; version: string };
  step: StepDefinition;
  /** Params after the step's schema applied defaults. */
  params: unknown;
  inputs: Record<string, ResolvedInput>;
  /** Ids of steps this one waits for. */
  deps: string[];
  spec: StepSpec;
}

/** A validated pipeline: nodes in an order where every step follows its inputs. */
export interface Plan {
  spec: PipelineSpec;
  nodes: PlanNode[];
  /** Directory relative paths in params resolve against. */
  baseDir: string;
}

/** Validates a parsed pipeline against the installed plugins; returns the plan and every problem found. */
export function planPipeline(spec: PipelineSpec, registry: PluginRegistry, baseDir: string): { plan?: Plan; errors: LatentflowError[] } {
  return planSteps(spec, registry, baseDir, new Set());
}

/** planPipeline over a possibly partial spec: inputs naming a `broken` step are not reported again. */
function planSteps(spec: PipelineSpec, registry: PluginRegistry, baseDir: string, broken: ReadonlySet<string>): { plan?: Plan; errors: LatentflowError[] } {
  const errors: LatentflowError[] = [];
  const err = (code: string, message: string, location: SourceLocation, hint?: string) =>
    errors.push(new LatentflowError(code, message, { location, ...(hint ? { hint } : {}) }));
  const byId = new Map(spec.steps.map((s) => [s.id, s]));
  const resolved = new Map<string, { step: StepDefinition; plugin: { name: string; version: string } }>();

  for (const s of spec.steps) {
    const r = registry.resolve(s.uses);
    if (!r) {
      const pluginName = s.uses.slice(0, s.uses.indexOf("/"));
      if (!registry.plugin(pluginName)) {
        const near = closest(pluginName, registry.list().map((p) => p.name));
        err("E_UNKNOWN_PLUGIN", `step '${s.id}': no plugin '${pluginName}' is loaded (uses: ${s.uses})`, s.usesLoc,
          near ? `did you mean '${near}/…'?` : `install the package that provides it where you run latentflow (e.g. npm install @latentflow/${pluginName}); loaded: ${registry.list().map((p) => p.name).join(", ")}`);
      } else {
        const near = closest(s.uses, registry.stepNames());
        err("E_UNKNOWN_STEP", `step '${s.id}': plugin '${pluginName}' has no step '${s.uses.slice(pluginName.length + 1)}'`, s.usesLoc,
          near ? `did you mean '${near}'?` : `steps of ${pluginName}: ${registry.plugin(pluginName)!.steps.map((x) => x.name).join(", ")}`);
      }
      continue;
    }
    resolved.set(s.id, { step: r.step, plugin: { name: r.plugin.name, version: r.plugin.version } });
  }

  const nodes = new Map<string, PlanNode>();
  for (const s of spec.steps) {
    const r = resolved.get(s.id);
    if (!r) continue;
    const params = withStepSeed(checkParams(s, r.step, err), r.step, spec.seed, s.id);
    const inputs: Record<string, ResolvedInput> = {};
    // Ports offered as did-you-mean for a misspelt input: "not connected" would report the same typo twice.
    const suggested = new Set<string>();
    for (const [port, ref] of Object.entries(s.in)) {
      const declared = r.step.inputs[port];
      if (!declared) {
        const near = closest(port, Object.keys(r.step.inputs));
        if (near) suggested.add(near);
        err("E_UNKNOWN_INPUT", `step '${s.id}' (${s.uses}) has no input '${port}'`, s.inLocs[port] ?? ref.loc,
          near ? `did you mean '${near}'?` : `its inputs: ${Object.keys(r.step.inputs).join(", ") || "none"}`);
        continue;
      }
      const src = byId.get(ref.step);
      if (!src && broken.has(ref.step)) continue; // that step's own error is already reported
      if (!src) {
        const near = closest(ref.step, [...byId.keys()]);
        err("E_UNKNOWN_INPUT", `step '${s.id}': input '${port}' names step '${ref.step}', which does not exist`, ref.loc, near ? `did you mean '${near}'?` : `steps: ${[...byId.keys()].join(", ")}`);
        continue;
      }
      const srcDef = resolved.get(ref.step);
      if (!srcDef) continue; // its own error is already reported
      const outs = Object.keys(srcDef.step.outputs);
      let outPort = ref.port;
      if (!outPort) {
        if (outs.length === 1) outPort = outs[0];
        else if (outs.includes(port)) outPort = port;
        else {
          err("E_AMBIGUOUS_INPUT", `step '${s.id}': input '${port}' names step '${ref.step}', which has several outputs (${outs.join(", ")})`, ref.loc, `write '${ref.step}.<output>', e.g. '${ref.step}.${outs[0]}'`);
          continue;
        }
      }
      const outSpec = srcDef.step.outputs[outPort!];
      if (!outSpec) {
        const near = closest(outPort!, outs);
        err("E_UNKNOWN_INPUT", `step '${s.id}': step '${ref.step}' (${byId.get(ref.step)!.uses}) has no output '${outPort}'`, ref.loc, near ? `did you mean '${ref.step}.${near}'?` : `its outputs: ${outs.join(", ")}`);
        continue;
      }
      if (outSpec.type !== declared.type) {
        err("E_PORT_TYPE_MISMATCH", `step '${s.id}': input '${port}' expects ${declared.type}, but '${ref.step}.${outPort}' gives ${outSpec.type}`, ref.loc,
          `connect an output of type ${declared.type}; run 'latentflow plugins' to see each step's ports`);
        continue;
      }
      inputs[port] = { step: ref.step, port: outPort!, type: outSpec.type };
    }
    for (const [port, declared] of Object.entries(r.step.inputs)) {
      if (!declared.optional && !(port in s.in) && !suggested.has(port)) {
        err("E_MISSING_INPUT", `step '${s.id}' (${s.uses}) needs input '${port}' (${declared.type}), which is not connected`, s.inLoc ?? s.loc,
          s.inLoc ? `add '${port}: <step>' under 'in:'` : `add 'in: { ${port}: <step> }'`);
      }
    }
    if (s.shard && !r.step.shardable) {
      err("E_SHARD", `step '${s.id}' (${s.uses}) cannot be sharded: it declares no shardable input`, s.shard.loc, "remove 'shard:' or use a step that processes items independently");
    }
    nodes.set(s.id, {
      id: s.id,
      uses: s.uses,
      plugin: r.plugin,
      step: r.step,
      params,
      inputs,
      deps: [...new Set(Object.values(s.in).map((x) => x.step))].filter((d) => byId.has(d)),
      spec: s,
    });
  }

  const order = topologicalOrder(spec.steps, err);
  if (errors.length) return { errors };
  return { plan: { spec, nodes: order.map((id) => nodes.get(id)!), baseDir }, errors };
}

/**
 * A step with a `seed` param that the pipeline leaves unset gets the run's seed for this step
 * (`stepSeed`): its randomness follows the pipeline's `seed:` and the step id, and, being a param, the
 * seed is part of its cache key and of every invocation of it. A seed param that takes integers only
 * gets the seed's integer form (`seedInt`).
 */
function withStepSeed(params: unknown, step: StepDefinition, runSeed: string, stepId: string): unknown {
  const schema = step.params;
  if (!(schema instanceof z.ZodObject) || !("seed" in schema.shape) || typeof params !== "object" || params === null) return params;
  const p = params as Record<string, unknown>;
  if (p.seed !== undefined) return params;
  const seedSchema = schema.shape.seed as z.ZodType;
  const seed = stepSeed(runSeed, stepId);
  return { ...p, seed: seedSchema.safeParse(seed).success ? seed : seedInt(seed) };
}

function checkParams(s: StepSpec, step: StepDefinition, err: (code: string, message: string, location: SourceLocation, hint?: string) => void): unknown {
  const schema = step.params;
  if (schema instanceof z.ZodObject) {
    const known = Object.keys(schema.shape);
    for (const key of Object.keys(s.with)) {
      if (!known.includes(key)) {
        const near = closest(key, known);
        err("E_PARAM", `step '${s.id}' (${s.uses}): unknown param '${key}'`, s.paramKeyLocs?.[key] ?? s.paramLocs[key] ?? s.loc, near ? `did you mean '${near}'? params: ${known.join(", ")}` : `params: ${known.join(", ") || "none"}`);
      }
    }
  }
  const parsed = schema.safeParse(s.with);
  if (parsed.success) return parsed.data;
  const help = `run 'latentflow plugins ${s.uses}' for its params`;
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys") continue; // reported above, with a hint
    const key = issue.path.length ? String(issue.path[0]) : undefined;
    const path = issue.path.join(".");
    const missing = key !== undefined && !(key in s.with);
    // zod says "Invalid input: expected number, received string"; the user wants the value they wrote.
    const expected = issue.message.replace(/^[A-Za-z ]+: (?=expected)/, "").replace(/, received \w+$/, "");
    if (missing) {
      err("E_PARAM", `step '${s.id}' (${s.uses}): missing required param '${path}' (${expected})`, s.withLoc ?? s.loc, `add '${path}: …' under 'with:'; ${help}`);
    } else {
      const found = issue.path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), s.with);
      err("E_PARAM", `step '${s.id}' (${s.uses}): param '${path || "with"}': ${expected}, found ${JSON.stringify(found) ?? String(found)}`, (key && s.paramLocs[key]) || s.withLoc || s.usesLoc, help);
    }
  }
  return undefined;
}

/**
 * Steps in an order where each follows its inputs, reporting each cycle once. Depth-first with an explicit
 * stack, so a chain of any length (a 10,000-step cycle) costs memory, not the call stack.
 */
function topologicalOrder(steps: StepSpec[], err: (code: string, message: string, location: SourceLocation, hint?: string) => void): string[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depsOf = (id: string) => [...new Set(Object.values(byId.get(id)!.in).map((x) => x.step))].filter((d) => byId.has(d));
  const state = new Map<string, 0 | 1 | 2>();
  const order: string[] = [];
  const reported = new Set<string>();
  // The path from the root being visited: each frame holds its step's dependencies and the next one to visit.
  const path: { id: string; deps: string[]; next: number }[] = [];
  const onPath = new Map<string, number>();
  const enter = (id: string) => {
    state.set(id, 1);
    onPath.set(id, path.length);
    path.push({ id, deps: depsOf(id), next: 0 });
  };
  for (const s of steps) {
    if ((state.get(s.id) ?? 0) !== 0) continue;
    enter(s.id);
    while (path.length) {
      const top = path[path.length - 1]!;
      if (top.next === top.deps.length) {
        path.pop();
        onPath.delete(top.id);
        state.set(top.id, 2);
        order.push(top.id);
        continue;
      }
      const d = top.deps[top.next++]!;
      const st = state.get(d) ?? 0;
      if (st === 0) enter(d);
      else if (st === 1) {
        const cycle = [...path.slice(onPath.get(d)!).map((f) => f.id), d];
        const sig = [...new Set(cycle)].sort().join(",");
        if (!reported.has(sig)) {
          reported.add(sig);
          // The input that closes the loop is the one to point at: removing it breaks the cycle.
          const ref = Object.values(byId.get(top.id)!.in).find((x) => x.step === d);
          const shown = cycle.length > 12 ? [...cycle.slice(0, 5), `… ${cycle.length - 10} more …`, ...cycle.slice(-5)] : cycle;
          err("E_CYCLE", `steps form a cycle: ${shown.join(" → ")}${cycle.length > 12 ? ` (${cycle.length - 1} steps)` : ""}`, ref?.loc ?? byId.get(d)!.loc, "a step cannot depend on its own output; break the loop by removing one of these inputs");
        }
      }
    }
  }
  return order;
}

/** Parses and validates pipeline text; throws one LatentflowAggregateError listing every problem. */
export function loadPipelineText(text: string, file: string, registry: PluginRegistry, baseDir: string): Plan {
  // Steps that parsed are validated even when others did not, so one throw lists every problem.
  const { spec, errors, broken } = parsePipelinePartial(text, file);
  const planned = spec ? planSteps(spec, registry, baseDir, broken) : undefined;
  const all = [...errors, ...(planned?.errors ?? [])];
  if (all.length || !planned?.plan) {
    // In file order, as an editor's problem list would show them.
    const sorted = all.map((e, i) => ({ e, i })).sort((a, b) => (a.e.location?.line ?? 0) - (b.e.location?.line ?? 0) || (a.e.location?.column ?? 0) - (b.e.location?.column ?? 0) || a.i - b.i).map((x) => x.e);
    throw new LatentflowAggregateError(sorted, `${file}: ${all.length} problem${all.length === 1 ? "" : "s"}`);
  }
  return planned.plan;
}

/** Reads, parses and validates a pipeline file. */
export async function loadPipelineFile(path: string, registry: PluginRegistry): Promise<Plan> {
  const abs = resolve(path);
  let text: string;
  try {
    // Refused before it is read: a 50 MB file would take gigabytes to parse.
    const tooLarge = checkPipelineSize(abs, (await stat(abs)).size);
    if (tooLarge) throw new LatentflowAggregateError([tooLarge], `${abs}: 1 problem`);
    text = await readFile(abs, "utf8");
  } catch (e) {
    if (e instanceof LatentflowError) throw e;
    throw new LatentflowError("E_FILE", `cannot read pipeline file ${abs}: ${(e as Error).message}`, { cause: e });
  }
  return loadPipelineText(text, abs, registry, resolve(abs, ".."));
}
