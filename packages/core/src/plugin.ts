import type { z } from "zod";
import { LatentflowError } from "./errors.js";
import type { PortType, PortTypes } from "./ports.js";
import { PORT_TYPES, isShardable } from "./ports.js";
import type { ResourceCache } from "./resources.js";
import type { Rng } from "./rng.js";
import type { ArtifactStore } from "./store/artifact-store.js";

/** One input or output of a step. */
export interface PortSpec<T extends PortType = PortType> {
  type: T;
  description?: string;
  /** Inputs only: the step runs without it. */
  optional?: boolean;
}

export type PortsSpec = Record<string, PortSpec>;

/** The values a step receives, typed from its declared inputs. */
export type InputValues<I extends PortsSpec> = {
  [K in keyof I]: I[K]["optional"] extends true ? PortTypes[I[K]["type"]] | undefined : PortTypes[I[K]["type"]];
};

/** The values a step returns, typed from its declared outputs. */
export type OutputValues<O extends PortsSpec> = { [K in keyof O]: PortTypes[O[K]["type"]] };

/** What a step needs to run; the queue executor routes jobs by `queue`. */
export interface StepResources {
  /** Queue (worker pool) the step runs on in fleet mode; defaults to "default". */
  queue?: string;
  /** Peak memory the step may use, in MiB, for schedulers. */
  memoryMb?: number;
  accelerator?: "cpu" | "gpu";
  /** Heavy compute: the local executor counts it against the CPU budget. */
  cpuBound?: boolean;
}

export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** An item a step could not process, kept in the run record when the policy is `skip`. */
export interface SkippedItem {
  index: number;
  id?: string;
  code: string;
  message: string;
}

/** Everything a step may touch while it runs. */
export interface StepContext {
  readonly runId: string;
  readonly stepId: string;
  /** Set when this call processes one shard of a sharded step. */
  readonly shard?: { index: number; count: number; offset: number };
  readonly store: ArtifactStore;
  readonly log: Logger;
  /** Reports progress: `done` of `total` units. */
  progress(done: number, total?: number, message?: string): void;
  readonly signal: AbortSignal;
  /** Seeded from the run seed and the step id: reruns draw the same numbers. */
  readonly rng: Rng;
  /** A directory private to this call, removed after it. */
  readonly scratchDir: string;
  /**
   * Models and other heavy things shared by every step and shard this process runs: `resources.use(key,
   * load, dispose)` loads once per key and hands the same value to later calls (see ResourceCache).
   */
  readonly resources: ResourceCache;
  /** Resolves a path written in the pipeline file, relative to that file. */
  resolvePath(path: string): string;
  /**
   * Reports an item that failed. Under policy `fail` it throws (the step fails); under `skip` it records
   * the item in the run's report and returns, and the step leaves the item out of its output.
   */
  itemFailed(item: { index: number; id?: string }, error: unknown): void;
}

/** A step: typed ports, a params schema, and `run`. */
export interface StepDefinition<I extends PortsSpec = PortsSpec, O extends PortsSpec = PortsSpec, P = any> {
  /** Name within its plugin: `uses: <plugin>/<name>`. */
  name: string;
  description: string;
  inputs: I;
  outputs: O;
  params: z.ZodType<P>;
  resources?: StepResources;
  /** The input that `shard:` in a pipeline may split into chunks; every output must be gatherable. */
  shardable?: keyof I & string;
  /**
   * Extra cache-key material for what params do not capture: the content of files a step reads.
   * Without it, editing a data file in place would leave stale results in the cache.
   */
  fingerprint?(params: P, env: { resolvePath(path: string): string }): Promise<string>;
  run(ctx: StepContext, inputs: InputValues<I>, params: P): Promise<OutputValues<O>>;
}

/** Declares a step with its port and param types inferred. */
export function defineStep<I extends Record<string, PortType>, O extends Record<string, PortType>, S extends z.ZodType>(def: {
  name: string;
  description: string;
  inputs: { [K in keyof I]: PortSpec<I[K]> };
  outputs: { [K in keyof O]: PortSpec<O[K]> };
  params: S;
  resources?: StepResources;
  shardable?: keyof I & string;
  fingerprint?(params: z.output<S>, env: { resolvePath(path: string): string }): Promise<string>;
  // Optional inputs arrive as undefined when not connected.
  run(ctx: StepContext, inputs: { [K in keyof I]: PortTypes[I[K]] }, params: z.output<S>): Promise<{ [K in keyof O]: PortTypes[O[K]] }>;
}): StepDefinition<{ [K in keyof I]: PortSpec<I[K]> }, { [K in keyof O]: PortSpec<O[K]> }, z.output<S>> {
  return def as never;
}

/** A package's plugin object: its name (the prefix in `uses:`), version and steps. */
export interface Plugin {
  name: string;
  version: string;
  description?: string;
  steps: StepDefinition<any, any, any>[];
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** Declares a plugin and checks its step declarations once, at load. */
export function definePlugin(plugin: Plugin): Plugin {
  if (!NAME.test(plugin.name)) throw new LatentflowError("E_PLUGIN", `plugin name must match ${NAME}, found '${plugin.name}'`);
  const seen = new Set<string>();
  for (const step of plugin.steps) {
    const where = `plugin ${plugin.name}, step '${step.name}'`;
    if (!NAME.test(step.name)) throw new LatentflowError("E_PLUGIN", `${where}: name must match ${NAME}`);
    if (seen.has(step.name)) throw new LatentflowError("E_PLUGIN", `${where}: declared twice`);
    seen.add(step.name);
    for (const [port, spec] of [...Object.entries(step.inputs as PortsSpec), ...Object.entries(step.outputs as PortsSpec)]) {
      if (!PORT_TYPES.includes(spec.type)) throw new LatentflowError("E_PLUGIN", `${where}: port '${port}' has unknown type '${spec.type}'`);
    }
    if (step.shardable) {
      const spec = (step.inputs as PortsSpec)[step.shardable];
      if (!spec || !isShardable(spec.type)) throw new LatentflowError("E_PLUGIN", `${where}: shardable input '${step.shardable}' must be a declared vectors, tensor or records input`);
      for (const [port, out] of Object.entries(step.outputs as PortsSpec)) {
        if (!isShardable(out.type)) throw new LatentflowError("E_PLUGIN", `${where}: sharded steps must have gatherable outputs; '${port}' is ${out.type}`);
      }
    }
  }
  return plugin;
}

/** The installed plugins, looked up by `plugin/step`. */
export class PluginRegistry {
  private readonly plugins = new Map<string, Plugin>();

  constructor(plugins: Plugin[] = []) {
    for (const p of plugins) this.register(p);
  }

  register(plugin: Plugin): this {
    const existing = this.plugins.get(plugin.name);
    if (existing && existing !== plugin) {
      throw new LatentflowError("E_PLUGIN", `two plugins named '${plugin.name}' (${existing.version} and ${plugin.version})`);
    }
    this.plugins.set(plugin.name, plugin);
    return this;
  }

  list(): Plugin[] {
    return [...this.plugins.values()];
  }

  plugin(name: string): Plugin | undefined {
    return this.plugins.get(name);
  }

  /** The step and its plugin for `uses: plugin/step`, or undefined. */
  resolve(uses: string): { plugin: Plugin; step: StepDefinition } | undefined {
    const slash = uses.indexOf("/");
    if (slash < 0) return undefined;
    const plugin = this.plugins.get(uses.slice(0, slash));
    const step = plugin?.steps.find((s) => s.name === uses.slice(slash + 1));
    return plugin && step ? { plugin, step } : undefined;
  }

  /** Every `plugin/step` name, for hints. */
  stepNames(): string[] {
    return this.list().flatMap((p) => p.steps.map((s) => `${p.name}/${s.name}`));
  }
}
