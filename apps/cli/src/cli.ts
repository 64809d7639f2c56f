import { statSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import {
  FsArtifactStore,
  FsRunStore,
  isRunId,
  LatentflowError,
  LocalExecutor,
  loadArtifactValue,
  paramsJsonSchema,
  parsePipelinePartial,
  loadPipelineText,
  missingInputFiles,
  LatentflowAggregateError,
  pipelineJsonSchema,
  type ArtifactManifest,
  type ArtifactStore,
  type Executor,
  type Plan,
  type RunStore,
  type PluginRegistry,
  type RunRecord,
  type VectorSet,
  createMedia,
  extensionFor,
  type Item,
  type Media,
} from "@latentflow/core";
import { writeItemFiles, writeProjector } from "@latentflow/core/io";
import { dashboardModule, fleetOptions, fleetStore, formatStatus, queueModule, requireRedis, stderrLogger, storeFromRef, type FleetOptions } from "./fleet.js";
import { loadPlugins, type PluginBases } from "@latentflow/core/plugins";
import { createReporter, type OutputMode } from "./progress.js";
import { renderOutput } from "./show.js";
import { onStopSignals } from "./signals.js";
import { addStoreCommands } from "./store-commands.js";

/** A parser for options that take a whole number of at least `min`, refusing 0, -3 or 'abc' with a coded error. */
function intOption(flag: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new LatentflowError("E_OPTION", `${flag} expects a whole number of at least ${min}, found '${v}'`, { hint: `e.g. ${flag} ${Math.max(min, 2)}` });
    }
    return n;
  };
}

/**
 * A list option (`--only a,b` or `--only a --only b`). Not variadic: `--only step pipeline.yaml` must
 * leave the pipeline file to the command instead of reading it as a second step.
 */
function listOption(v: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...v.split(",").map((x) => x.trim()).filter(Boolean)];
}

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, cancelled: 130 } as const;

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

function home(opts: { home?: string }): { store: FsArtifactStore; runs: FsRunStore; dir: string } {
  const dir = resolve(opts.home ?? process.env.LATENTFLOW_HOME ?? ".latentflow");
  // Checked before anything runs: a file here would otherwise surface as ENOTDIR from the first step that stores.
  let problem: string | undefined;
  try {
    if (!statSync(dir).isDirectory()) problem = "it is a file";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") problem = "a part of its path is a file";
    else if (code !== "ENOENT") problem = `it cannot be read (${code ?? (e as Error).message})`;
  }
  if (problem) {
    throw new LatentflowError("E_HOME", `--home (or $LATENTFLOW_HOME) must be a directory for the artifact store and run records; ${dir}: ${problem}`, {
      hint: "point --home at a directory (it is created when missing), e.g. --home .latentflow",
      data: { home: dir },
    });
  }
  return { dir, store: new FsArtifactStore(resolve(dir, "store")), runs: new FsRunStore(resolve(dir, "runs")) };
}

/**
 * Where plugins come from: this CLI's own installation, then the project the user runs in. Never the
 * pipeline file's folder: a pipeline chooses among installed plugins, it cannot bring its own.
 */
export function pluginBases(): PluginBases {
  return [import.meta.url, process.cwd()];
}

/** Reads, parses, loads the plugins it names or uses, and validates a pipeline file. */
export async function preparePipeline(file: string, extraPlugins: string[] = []): Promise<{ plan: Plan; registry: PluginRegistry }> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch (e) {
    throw new LatentflowError("E_FILE", `cannot read pipeline file ${abs}: ${(e as Error).message}`);
  }
  // Plugins named in the file must be loaded before its steps can be checked; the file is then checked
  // whole, so one report lists every problem.
  const { spec } = parsePipelinePartial(text, abs);
  const registry = await loadPlugins({
    from: pluginBases(),
    packages: [...(spec?.plugins ?? []).map((p) => ({ name: p.name, loc: p.loc })), ...extraPlugins],
    uses: (spec?.steps ?? []).map((s) => s.uses.slice(0, Math.max(0, s.uses.indexOf("/")))).filter(Boolean),
  });
  const plan = loadPipelineText(text, abs, registry, resolve(abs, ".."));
  const missing = missingInputFiles(plan);
  if (missing.length) throw new LatentflowAggregateError(missing, `${abs}: ${missing.length} input file${missing.length === 1 ? "" : "s"} not found`);
  return { plan, registry };
}

function outputMode(opts: { json?: boolean }): OutputMode {
  if (opts.json) return "json";
  return process.stderr.isTTY && !process.env.CI ? "tty" : "plain";
}

async function summarize(store: ArtifactStore, record: RunRecord, plan: Plan, io: Io): Promise<void> {
  const consumed = new Set(plan.nodes.flatMap((n) => n.deps));
  io.stdout(`run ${record.id}: ${record.status} in ${((record.durationMs ?? 0) / 1000).toFixed(2)} s\n`);
  for (const [id, s] of Object.entries(record.steps)) {
    const how = s.status === "succeeded" ? (s.cache === "hit" ? "cached" : "computed") : s.error ? `${s.error.code}: ${s.error.message}` : "";
    io.stdout(`  ${id.padEnd(16)} ${s.status.padEnd(10)} ${how}${s.skipped.length ? ` (${s.skipped.length} items skipped)` : ""}\n`);
    if (s.error?.hint) io.stdout(`  ${"".padEnd(16)} hint: ${s.error.hint}\n`);
  }
  // Small JSON outputs of the final steps are the run's answer: show them.
  for (const n of plan.nodes) {
    if (consumed.has(n.id)) continue;
    for (const [port, o] of Object.entries(record.steps[n.id]?.outputs ?? {})) {
      if (o.type !== "json" || o.size > 4096) continue;
      const m = await store.stat(o.key);
      if (!m) continue;
      const value = await loadArtifactValue(store, m);
      io.stdout(`${n.id}.${port}: ${JSON.stringify(value, (k, v) => (k === "perClass" ? undefined : v))}\n`);
    }
  }
}

function describeValue(value: unknown, type: string): unknown {
  if (type === "vectors") {
    const v = value as VectorSet;
    return { space: v.space, rows: v.ids.length, firstIds: v.ids.slice(0, 5), firstMeta: v.meta?.slice(0, 3) };
  }
  if (type === "records") {
    const r = value as unknown[];
    return { rows: r.length, first: r.slice(0, 3) };
  }
  if (type === "tensor") {
    const t = value as { dtype: string; shape: number[] };
    return { dtype: t.dtype, shape: t.shape };
  }
  if (type === "items") {
    const items = value as Item[];
    const kinds: Record<string, number> = {};
    for (const it of items) kinds[it.payload.kind] = (kinds[it.payload.kind] ?? 0) + 1;
    const brief = (it: Item) => {
      const p = it.payload;
      const what = p.kind === "text" ? { text: p.text.slice(0, 80) } : p.kind === "media" ? { mediaType: p.mediaType, bytes: p.bytes?.length, ref: p.ref } : p.kind === "image" ? { width: p.width, height: p.height, channels: p.channels } : { sampleRate: p.sampleRate, channels: p.channels.length, seconds: (p.channels[0]?.length ?? 0) / p.sampleRate };
      return { id: it.id, meta: it.meta, kind: p.kind, ...what };
    };
    return { items: items.length, kinds, first: items.slice(0, 3).map(brief) };
  }
  if (type === "media") {
    const m = value as Media;
    return { mediaType: m.mediaType, name: m.name, bytes: m.bytes.length, meta: m.meta };
  }
  if (type === "model") {
    const m = value as { kind: string; format: string; meta: unknown; files: Record<string, Uint8Array> };
    return { kind: m.kind, format: m.format, meta: m.meta, files: Object.keys(m.files) };
  }
  return value;
}

/** A run of the local home by id, or the newest one for `latest`. */
async function findRun(h: { runs: FsRunStore; dir: string }, runId: string): Promise<RunRecord> {
  const run = runId === "latest" ? (await h.runs.list()).at(-1) : await h.runs.load(runId);
  if (!run) throw new LatentflowError("E_NOT_FOUND", runId === "latest" ? `no runs yet in ${h.dir}` : `no run '${runId}' in ${h.dir}`, { hint: "'latentflow runs' lists runs" });
  return run;
}

const TARGET = /^([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?$/;

/** The manifest of the stored output `target` (step, or step.port) of a run; the error names what there is. */
async function stepArtifact(store: ArtifactStore, run: RunRecord, target: string): Promise<{ manifest: ArtifactManifest; step: string; port: string }> {
  const m = TARGET.exec(target);
  if (!m) throw new LatentflowError("E_STEP_ID", `expected a step id or step.port (letters, digits, '_' or '-'), found ${JSON.stringify(target)}`, { hint: `steps: ${Object.keys(run.steps).join(", ")}` });
  const [, stepId, port] = m;
  // Own properties only: a step named `constructor` or `__proto__` is not a step of the run.
  const step = Object.hasOwn(run.steps, stepId!) ? run.steps[stepId!] : undefined;
  if (!step) throw new LatentflowError("E_NOT_FOUND", `run ${run.id} has no step '${stepId}'`, { hint: `steps: ${Object.keys(run.steps).join(", ")}` });
  const ports = Object.keys(step.outputs);
  const chosen = port ?? (ports.length === 1 ? ports[0] : undefined);
  const out = chosen && Object.hasOwn(step.outputs, chosen) ? step.outputs[chosen] : undefined;
  if (!out) throw new LatentflowError("E_NOT_FOUND", `step '${stepId}' of run ${run.id} has ${ports.length ? `outputs ${ports.join(", ")}` : "no outputs (did it succeed?)"}; name one as ${stepId}.<port>`);
  const manifest = await store.stat(out.key);
  if (!manifest) throw new LatentflowError("E_ARTIFACT_MISSING", `artifact ${out.key} is no longer in the store`, { hint: "re-run the pipeline to recompute it" });
  return { manifest, step: stepId!, port: chosen! };
}

/** The stored output `target` (step, or step.port) of a run, loaded. */
async function stepOutput(store: ArtifactStore, run: RunRecord, target: string): Promise<{ value: unknown; type: string; port: string }> {
  const { manifest, port } = await stepArtifact(store, run, target);
  return { value: await loadArtifactValue(store, manifest), type: manifest.type, port };
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command("latentflow")
    .description("Run, validate and inspect Latentflow pipelines.")
    .version("0.1.0")
    .option("--home <dir>", "where the artifact store and run records live (default: $LATENTFLOW_HOME or ./.latentflow)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  /** Runs a plan with signals wired to cancellation, progress shown, and the summary printed. */
  const execute = async (plan: Plan, executor: Executor, store: ArtifactStore, runs: RunStore, opts: { concurrency?: number; force?: boolean; only?: string[]; json?: boolean; runId?: string; show?: string[]; limit?: number }) => {
    for (const target of opts.show ?? []) {
      const id = target.split(".")[0]!;
      if (!plan.nodes.some((n) => n.id === id)) {
        throw new LatentflowError("E_NOT_FOUND", `--show ${target}: the pipeline has no step '${id}'`, { hint: `steps: ${plan.nodes.map((n) => n.id).join(", ")}` });
      }
    }
    const controller = new AbortController();
    const offSignals = onStopSignals(() => {
      io.stderr("\ncancelling: letting running steps stop; finished work stays cached (signal again to exit now)\n");
      controller.abort();
    }, io.stderr);
    const mode = outputMode(opts);
    const reporter = createReporter(mode, io.stdout);
    let record: RunRecord;
    try {
      record = await executor.run(plan, {
        store,
        runStore: runs,
        ...(opts.runId ? { runId: opts.runId } : {}),
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        force: opts.force ?? false,
        ...(opts.only ? { only: opts.only } : {}),
        signal: controller.signal,
        onEvent: reporter.onEvent,
      });
    } finally {
      reporter.stop();
      offSignals();
    }
    if (mode !== "json") await summarize(store, record, plan, io);
    // Whatever finished is shown, even when a later step failed.
    for (const target of opts.show ?? []) {
      if (record.steps[target.split(".")[0]!]?.status !== "succeeded") {
        io.stderr(`--show ${target}: the step did not succeed in this run\n`);
        continue;
      }
      const { value, type } = await stepOutput(store, record, target);
      io.stdout(`\n── ${target} ──\n${renderOutput(value, type, opts.limit)}`);
    }
    code = record.status === "succeeded" ? EXIT.ok : record.status === "cancelled" ? EXIT.cancelled : EXIT.failed;
  };

  fleetOptions(
    program
      .command("run")
      .description("run a pipeline (recomputes only what is not cached)")
      .argument("<pipeline>", "pipeline YAML file")
      .addOption(new Option("--executor <name>", "where steps run: in this process, or on a worker fleet through Redis").choices(["local", "queue"]).default("local"))
      .option("--concurrency <n>", "most steps or shards in flight", intOption("--concurrency", 1))
      .option("--force", "recompute selected steps even if cached")
      .option("--only <steps>", "run only these steps and what they need; comma separated or repeated", listOption)
      .option("--plugins <names>", "extra plugin packages to load; comma separated or repeated", listOption)
      .option("--store <where>", "queue executor: 'redis' (default) or a directory every worker mounts")
      .option("--json", "NDJSON events on stdout, final record last")
      .option("--show <steps>", "print these steps' outputs when the run ends (step or step.port); comma separated or repeated", listOption)
      .option("--limit <n>", "--show: most rows printed per output", intOption("--limit", 1), 20),
    false,
  ).action(async (file: string, opts: FleetOptions & { executor: string; concurrency?: number; force?: boolean; only?: string[]; plugins?: string[]; json?: boolean; show?: string[]; limit?: number }) => {
    const { plan } = await preparePipeline(file, opts.plugins);
    if (opts.executor === "queue") {
      const q = await queueModule();
      const executor = new q.QueueExecutor({ redis: requireRedis(opts, "--executor queue"), prefix: opts.prefix!, ...(opts.plugins ? { plugins: opts.plugins } : {}), onWarning: (m) => io.stderr(`warning: ${m}\n`) });
      const store = await fleetStore(q, opts);
      try {
        await execute(plan, executor, store, executor.runs, opts);
      } finally {
        await store.close?.();
        await executor.close();
      }
      return;
    }
    const h = home(program.opts());
    await execute(plan, new LocalExecutor(), h.store, h.runs, opts);
  });

  fleetOptions(
    program
      .command("resume")
      .description("carry on a fleet run (after its coordinator died, or a cancel): finished steps come from their jobs or the cache")
      .argument("<run-id>")
      .option("--plugins <names>", "extra plugin packages to load; comma separated or repeated", listOption)
      .option("--json", "NDJSON events on stdout, final record last"),
  ).action(async (runId: string, opts: FleetOptions & { plugins?: string[]; json?: boolean }) => {
    const q = await queueModule();
    const redis = requireRedis(opts, "resume");
    const runs = new q.RedisRunStore(redis, opts.prefix);
    const meta = await runs.loadMeta(runId).finally(() => runs.close());
    if (!meta) throw new LatentflowError("E_NOT_FOUND", `no fleet run '${runId}' in ${q.describeRedis(redis)} (prefix ${opts.prefix})`, { hint: "'latentflow runs --redis <url>' lists runs" });
    const plugins = [...new Set([...(meta.plugins ?? []), ...(opts.plugins ?? [])])];
    const { plan } = await preparePipeline(meta.file, plugins);
    const executor = new q.QueueExecutor({ redis, prefix: opts.prefix!, plugins, onWarning: (m) => io.stderr(`warning: ${m}\n`) });
    const store = storeFromRef(q, meta.store, redis);
    try {
      await execute(plan, executor, store, executor.runs, { ...opts, runId, ...(meta.only ? { only: meta.only } : {}) });
    } finally {
      await store.close?.();
      await executor.close();
    }
  });

  fleetOptions(
    program
      .command("worker")
      .description("take step jobs from Redis and run them (one process of a worker fleet)")
      .option("--plugins <names>", "plugin packages this worker runs (core is always in); comma separated or repeated", listOption, [])
      .option("--queues <names>", "queues to take jobs from (default: default); comma separated or repeated", listOption)
      .option("--concurrency <n>", "jobs at once per queue", intOption("--concurrency", 1), 1)
      .option("--lock-duration <ms>", "a job whose worker stops renewing its lock this long goes to another worker", intOption("--lock-duration", 1))
      .option("--stalled-interval <ms>", "how often to look for stalled jobs", intOption("--stalled-interval", 1))
      .option("--verbose", "log every job"),
  ).action(async (opts: FleetOptions & { plugins: string[]; queues?: string[]; concurrency: number; lockDuration?: number; stalledInterval?: number; verbose?: boolean }) => {
    const q = await queueModule();
    const list = (xs: string[]) => xs.flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
    const registry = await loadPlugins({ from: pluginBases(), packages: list(opts.plugins) });
    // Heard from the start: a first signal stops gracefully (or stops the start), a second exits at once.
    const starting = new AbortController();
    let stop: () => void = () => starting.abort();
    onStopSignals(() => stop(), io.stderr);
    let fatal: (e: LatentflowError) => void = () => {};
    const worker = await q.startWorker({
      redis: requireRedis(opts, "worker"),
      prefix: opts.prefix!,
      plugins: registry.list(),
      ...(opts.queues ? { queues: list(opts.queues) } : {}),
      concurrency: opts.concurrency,
      ...(opts.lockDuration ? { lockDuration: opts.lockDuration } : {}),
      ...(opts.stalledInterval ? { stalledInterval: opts.stalledInterval } : {}),
      log: stderrLogger(opts.verbose ?? false, io.stderr),
      signal: starting.signal,
      onFatal: (e) => fatal(e),
    });
    io.stdout(`ready ${q.describeRedis(opts.redis!)} queues=${worker.queues.join(",")} plugins=${worker.plugins.join(",")}\n`);
    await new Promise<void>((done) => {
      // SIGTERM: finish running jobs; a second signal exits at once (their locks expire and they go to others).
      stop = () => {
        io.stderr("finishing running jobs (signal again to exit now)\n");
        void worker.close(false).then(done);
      };
      fatal = (e) => {
        io.stderr(`${e.format()}\n`);
        code = EXIT.invalid;
        done();
      };
    });
  });

  fleetOptions(
    program
      .command("dashboard")
      .description("serve a bull-board page over the fleet's queues (binds to 127.0.0.1; answers only to this machine's names; a token is optional)")
      .option("--host <host>", "interface to listen on; anything but loopback exposes the page to the network", "127.0.0.1")
      .option("--allowed-hosts <names...>", "more host names the page answers to (e.g. the name of a proxy in front of it); others get 403")
      .option("--token <token>", "require this token on every request (default: $LATENTFLOW_DASHBOARD_TOKEN; prefer the variable: options show in ps)")
      .option("--port <port>", "port to listen on (0: a free one)", (v) => Number.parseInt(v, 10), 3000)
      .option("--queues <names>", "show only these queues (default: every queue found under the prefix, rescanned on reload); comma separated or repeated", listOption)
      .option("--read-only", "hide the buttons that retry, remove, pause or obliterate"),
  ).action(async (opts: FleetOptions & { host: string; port: number; queues?: string[]; readOnly?: boolean; allowedHosts?: string[]; token?: string }) => {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new LatentflowError("E_OPTION", `--port is a number from 0 to 65535, found '${opts.port}'`);
    const d = await dashboardModule();
    const token = opts.token ?? (process.env.LATENTFLOW_DASHBOARD_TOKEN || undefined);
    const list = (xs: string[]) => xs.flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
    const dashboard = await d.startDashboard({
      redis: requireRedis(opts, "dashboard"),
      prefix: opts.prefix!,
      host: opts.host,
      port: opts.port,
      ...(opts.queues ? { queues: list(opts.queues) } : {}),
      readOnly: opts.readOnly ?? false,
      ...(opts.allowedHosts ? { allowedHosts: list(opts.allowedHosts) } : {}),
      ...(token !== undefined ? { token } : {}),
      onWarning: (m) => io.stderr(`${m}\n`),
    });
    const access = token !== undefined ? "; token required: open the page once as <url>?token=<token>" : "";
    io.stdout(`dashboard ${dashboard.url} (prefix ${opts.prefix}, queues: ${dashboard.queues().join(", ") || "none yet"}${access}); Ctrl-C stops it\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void dashboard.close().then(done);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  });

  fleetOptions(
    program
      .command("status")
      .description("show a fleet run: its record and the state of each step's job")
      .argument("<run-id>")
      .option("--json", "as JSON"),
  ).action(async (runId: string, opts: FleetOptions & { json?: boolean }) => {
    const q = await queueModule();
    const redis = requireRedis(opts, "status");
    const runs = new q.RedisRunStore(redis, opts.prefix);
    try {
      const { record, jobs } = await q.runStatus(runs, redis, runId);
      io.stdout(opts.json ? `${JSON.stringify({ record, jobs }, null, 2)}\n` : formatStatus(record, jobs));
    } finally {
      await runs.close();
    }
  });

  fleetOptions(
    program
      .command("cancel")
      .description("cancel a fleet run from anywhere: running jobs abort, waiting ones are removed; resume carries it on later")
      .argument("<run-id>"),
  ).action(async (runId: string, opts: FleetOptions) => {
    const q = await queueModule();
    const redis = requireRedis(opts, "cancel");
    const runs = new q.RedisRunStore(redis, opts.prefix);
    try {
      const record = await q.cancelRun(runs, redis, runId);
      io.stdout(`run ${runId}: ${record.status}\n`);
    } finally {
      await runs.close();
    }
  });

  program
    .command("validate")
    .description("check a pipeline file without running it; lists every problem with file:line:column")
    .argument("<pipeline>")
    .option("--plugins <names>", "extra plugin packages to load; comma separated or repeated", listOption)
    .option("--json", "problems as JSON")
    .action(async (file: string, opts: { plugins?: string[]; json?: boolean }) => {
      let plan: Plan;
      try {
        ({ plan } = await preparePipeline(file, opts.plugins));
      } catch (e) {
        // Editors and CI read --json from stdout, and a broken file is exactly when they need it.
        if (!opts.json || !(e instanceof LatentflowError)) throw e;
        const errors = e instanceof LatentflowAggregateError ? e.errors : [e];
        io.stdout(`${JSON.stringify({ ok: false, file: resolve(file), errors: errors.map((x) => x.toJSON()) })}\n`);
        code = EXIT.invalid;
        return;
      }
      if (opts.json) io.stdout(`${JSON.stringify({ ok: true, steps: plan.nodes.map((n) => ({ id: n.id, uses: n.uses, deps: n.deps })) })}\n`);
      else io.stdout(`${plan.spec.file}: ok, ${plan.nodes.length} steps (${plan.nodes.map((n) => n.id).join(" → ")})\n`);
    });

  program
    .command("schema")
    .description("print the JSON Schema of pipeline files for the installed plugins")
    .option("--plugins <names>", "extra plugin packages to include; comma separated or repeated", listOption)
    .action(async (opts: { plugins?: string[] }) => {
      const registry = await loadPlugins({ from: pluginBases(), packages: opts.plugins ?? [], all: true, onWarning: (m) => io.stderr(`${m}\n`) });
      io.stdout(`${JSON.stringify(pipelineJsonSchema(registry), null, 2)}\n`);
    });

  program
    .command("plugins")
    .description("list the installed plugins, their steps, ports and params")
    .argument("[step]", "show one step in full, e.g. core/read-idx")
    .option("--plugins <names>", "extra plugin packages to load; comma separated or repeated", listOption)
    .option("--json", "as JSON")
    .action(async (only: string | undefined, opts: { plugins?: string[]; json?: boolean }) => {
      const registry = await loadPlugins({ from: pluginBases(), packages: opts.plugins ?? [], all: true, onWarning: (m) => io.stderr(`${m}\n`) });
      const steps = registry.list().flatMap((p) =>
        p.steps.map((s) => ({
          uses: `${p.name}/${s.name}`,
          plugin: `${p.name}@${p.version}`,
          description: s.description,
          inputs: s.inputs,
          outputs: s.outputs,
          params: paramsJsonSchema(s.params),
          resources: s.resources ?? {},
          shardable: s.shardable,
        })),
      );
      const shown = only ? steps.filter((s) => s.uses === only) : steps;
      if (only && !shown.length) throw new LatentflowError("E_UNKNOWN_STEP", `no step '${only}' is installed`, { hint: `installed: ${steps.map((s) => s.uses).join(", ")}` });
      if (opts.json) return io.stdout(`${JSON.stringify(shown, null, 2)}\n`);
      for (const s of shown) {
        io.stdout(`${s.uses}  (${s.plugin})\n  ${s.description}\n`);
        const ports = (o: Record<string, { type: string; optional?: boolean }>) => Object.entries(o).map(([k, v]) => `${k}: ${v.type}${v.optional ? "?" : ""}`).join(", ") || "none";
        io.stdout(`  in: ${ports(s.inputs)}   out: ${ports(s.outputs)}${s.shardable ? `   shardable: ${s.shardable}` : ""}\n`);
        const props = (s.params as { properties?: Record<string, { type?: string; default?: unknown; description?: string }>; required?: string[] }).properties ?? {};
        const required = new Set((s.params as { required?: string[] }).required ?? []);
        for (const [k, v] of Object.entries(props)) {
          io.stdout(`    ${k}${required.has(k) ? "" : "?"}: ${v.type ?? "any"}${v.default !== undefined ? ` = ${JSON.stringify(v.default)}` : ""}${v.description ? `  — ${v.description}` : ""}\n`);
        }
      }
    });

  program
    .command("inspect")
    .description("show a run record (by run id) or an artifact (by key)")
    .argument("<id>")
    .action(async (id: string) => {
      const h = home(program.opts());
      if (!isRunId(id)) {
        throw new LatentflowError("E_ID", `expected a run id or an artifact key (letters, digits, '.', '_' or '-'), found ${JSON.stringify(id)}`, { hint: "'latentflow runs' lists runs; run records list their artifacts' keys" });
      }
      const run = await h.runs.load(id);
      if (run) return io.stdout(`${JSON.stringify(run, null, 2)}\n`);
      if (/^[a-f0-9]{16,128}$/.test(id)) {
        const m = await h.store.stat(id);
        if (m) {
          const value = await loadArtifactValue(h.store, m);
          return io.stdout(`${JSON.stringify({ manifest: m, value: describeValue(value, m.type) }, null, 2)}\n`);
        }
      }
      throw new LatentflowError("E_NOT_FOUND", `no run or artifact '${id}' in ${h.dir}`, { hint: "'latentflow runs' lists runs; run records list their artifacts' keys" });
    });

  program
    .command("show")
    .description("print a run's output: records and json in full, vectors and models summarised")
    .argument("<run-id>", "a run id, or 'latest'")
    .argument("<step>", "step id, or step.port when the step has several outputs")
    .option("--limit <n>", "most rows printed", intOption("--limit", 1), 20)
    .action(async (runId: string, target: string, opts: { limit: number }) => {
      const h = home(program.opts());
      const run = await findRun(h, runId);
      const { value, type } = await stepOutput(h.store, run, target);
      io.stdout(renderOutput(value, type, opts.limit));
    });

  program
    .command("export")
    .description("copy a run's output out of the store: its own files (numpy/pandas-readable) or the Embedding Projector TSV pair")
    .argument("<run-id>", "a run id, or 'latest'")
    .argument("<step>", "step id, or step.port when the step has several outputs")
    .requiredOption("--to <dir>", "directory to write into")
    .addOption(
      new Option("--format <format>", "auto: items and media as the files they are (PNG, WAV, …), other types as stored; files: the artifact's files as stored; media: items/media as files; projector: vectors.tsv + metadata.tsv")
        .choices(["auto", "files", "media", "projector"])
        .default("auto"),
    )
    .action(async (runId: string, target: string, opts: { to: string; format: string }) => {
      const h = home(program.opts());
      const run = await findRun(h, runId);
      runId = run.id;
      const { manifest: m, step: stepId } = await stepArtifact(h.store, run, target);
      const dir = resolve(opts.to);
      const there = await stat(dir).catch(() => undefined);
      if (there && !there.isDirectory()) {
        throw new LatentflowError("E_EXPORT_TARGET", `--to expects a directory to write into; ${dir} is a file`, {
          hint: "name a new or existing directory; files of the same name inside it are replaced",
          data: { to: dir },
        });
      }
      const written: string[] = [];
      const asMedia = opts.format === "media" || (opts.format === "auto" && (m.type === "items" || m.type === "media"));
      if (asMedia) {
        if (m.type !== "items" && m.type !== "media") throw new LatentflowError("E_PORT_TYPE_MISMATCH", `the media format is for items and media; ${target} is ${m.type}`, { hint: "use --format files" });
        const value = await loadArtifactValue(h.store, m);
        if (m.type === "items") written.push(...(await writeItemFiles(value as Item[], dir, { store: h.store })));
        else {
          // A stored name is data: checked again (a plain file name, no folders) before it becomes a path.
          const media = createMedia((value as Media).mediaType, (value as Media).bytes, value as Media);
          const path = join(dir, media.name ?? `${stepId}.${extensionFor(media.mediaType)}`);
          await mkdir(dir, { recursive: true });
          await writeFile(path, media.bytes, { flag: "wx" });
          written.push(path);
        }
      } else if (opts.format === "projector") {
        if (m.type !== "vectors") throw new LatentflowError("E_PORT_TYPE_MISMATCH", `the projector format is for vectors; ${target} is ${m.type}`);
        const paths = await writeProjector((await loadArtifactValue(h.store, m)) as VectorSet, dir);
        written.push(paths.vectorsPath, paths.metadataPath);
      } else {
        for (const f of m.files) {
          const path = join(dir, f.name);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, await h.store.read(m.key, f.name));
          written.push(path);
        }
      }
      io.stdout(`${written.join("\n")}\n`);
    });

  fleetOptions(
    program
      .command("runs")
      .description("list runs, newest last (of the fleet when --redis is given)")
      .option("--json", "as JSON"),
    false,
  ).action(async (opts: FleetOptions & { json?: boolean }) => {
    let runs: RunRecord[];
    if (opts.redis) {
      const q = await queueModule();
      const store = new q.RedisRunStore(opts.redis, opts.prefix);
      try {
        runs = await store.list();
      } finally {
        await store.close();
      }
    } else runs = await home(program.opts()).runs.list();
    if (opts.json) return io.stdout(`${JSON.stringify(runs.map(({ steps, ...r }) => ({ ...r, steps: Object.keys(steps).length })), null, 2)}\n`);
    for (const r of runs) io.stdout(`${r.id}  ${r.status.padEnd(10)} ${r.pipeline}  ${r.startedAt}  ${((r.durationMs ?? 0) / 1000).toFixed(1)} s\n`);
  });

  addStoreCommands(program, { io, home: () => home(program.opts()), exit: (c) => (code = c) });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    if (e instanceof LatentflowError) {
      io.stderr(`${e.format()}\n`);
      return e.code === "E_CANCELLED" ? EXIT.cancelled : EXIT.invalid;
    }
    io.stderr(`error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  }
  return code;
}
