import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import {
  FsArtifactStore,
  FsRunStore,
  LatentflowError,
  LocalExecutor,
  loadArtifactValue,
  paramsJsonSchema,
  parsePipelinePartial,
  loadPipelineText,
  pipelineJsonSchema,
  type Executor,
  type Plan,
  type PluginRegistry,
  type RunRecord,
  type VectorSet,
} from "@latentflow/core";
import { writeProjector } from "@latentflow/core/io";
import { loadPlugins } from "./plugins.js";
import { createReporter, type OutputMode } from "./progress.js";

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, cancelled: 130 } as const;

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

function home(opts: { home?: string }): { store: FsArtifactStore; runs: FsRunStore; dir: string } {
  const dir = resolve(opts.home ?? process.env.LATENTFLOW_HOME ?? ".latentflow");
  return { dir, store: new FsArtifactStore(resolve(dir, "store")), runs: new FsRunStore(resolve(dir, "runs")) };
}

/** Reads, parses, loads the plugins it names, and validates a pipeline file. */
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
  const registry = await loadPlugins([...(spec?.plugins ?? []).map((p) => p.name), ...extraPlugins], abs);
  const plan = loadPipelineText(text, abs, registry, resolve(abs, ".."));
  return { plan, registry };
}

function outputMode(opts: { json?: boolean }): OutputMode {
  if (opts.json) return "json";
  return process.stderr.isTTY && !process.env.CI ? "tty" : "plain";
}

async function summarize(store: FsArtifactStore, record: RunRecord, plan: Plan, io: Io): Promise<void> {
  const consumed = new Set(plan.nodes.flatMap((n) => n.deps));
  io.stdout(`run ${record.id}: ${record.status} in ${((record.durationMs ?? 0) / 1000).toFixed(2)} s\n`);
  for (const [id, s] of Object.entries(record.steps)) {
    const how = s.status === "succeeded" ? (s.cache === "hit" ? "cached" : "computed") : s.error ? `${s.error.code}: ${s.error.message}` : "";
    io.stdout(`  ${id.padEnd(16)} ${s.status.padEnd(10)} ${how}${s.skipped.length ? ` (${s.skipped.length} items skipped)` : ""}\n`);
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
  if (type === "model") {
    const m = value as { kind: string; format: string; meta: unknown; files: Record<string, Uint8Array> };
    return { kind: m.kind, format: m.format, meta: m.meta, files: Object.keys(m.files) };
  }
  return value;
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

  program
    .command("run")
    .description("run a pipeline (recomputes only what is not cached)")
    .argument("<pipeline>", "pipeline YAML file")
    .addOption(new Option("--executor <name>", "where steps run").choices(["local", "queue"]).default("local"))
    .option("--concurrency <n>", "most steps or shards in flight", (v) => Number.parseInt(v, 10))
    .option("--force", "recompute selected steps even if cached")
    .option("--only <steps...>", "run only these steps and what they need")
    .option("--plugins <names...>", "extra plugin packages to load")
    .option("--json", "NDJSON events on stdout, final record last")
    .action(async (file: string, opts: { executor: string; concurrency?: number; force?: boolean; only?: string[]; plugins?: string[]; json?: boolean }) => {
      const { plan } = await preparePipeline(file, opts.plugins);
      if (opts.executor !== "local") {
        throw new LatentflowError("E_EXECUTOR", `executor '${opts.executor}' is not installed in this build`, { hint: "the queue executor comes with @latentflow/queue; use --executor local" });
      }
      const executor: Executor = new LocalExecutor();
      const h = home(program.opts());
      const controller = new AbortController();
      const onSigint = () => {
        io.stderr("\ncancelling: letting running steps stop; finished work stays cached\n");
        controller.abort();
      };
      process.once("SIGINT", onSigint);
      process.once("SIGTERM", onSigint);
      const mode = outputMode(opts);
      const reporter = createReporter(mode, io.stdout);
      let record: RunRecord;
      try {
        record = await executor.run(plan, {
          store: h.store,
          runStore: h.runs,
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
          force: opts.force ?? false,
          ...(opts.only ? { only: opts.only } : {}),
          signal: controller.signal,
          onEvent: reporter.onEvent,
        });
      } finally {
        reporter.stop();
        process.off("SIGINT", onSigint);
        process.off("SIGTERM", onSigint);
      }
      if (mode !== "json") await summarize(h.store, record, plan, io);
      code = record.status === "succeeded" ? EXIT.ok : record.status === "cancelled" ? EXIT.cancelled : EXIT.failed;
    });

  program
    .command("validate")
    .description("check a pipeline file without running it; lists every problem with file:line:column")
    .argument("<pipeline>")
    .option("--plugins <names...>", "extra plugin packages to load")
    .option("--json", "problems as JSON")
    .action(async (file: string, opts: { plugins?: string[]; json?: boolean }) => {
      const { plan } = await preparePipeline(file, opts.plugins);
      if (opts.json) io.stdout(`${JSON.stringify({ ok: true, steps: plan.nodes.map((n) => ({ id: n.id, uses: n.uses, deps: n.deps })) })}\n`);
      else io.stdout(`${plan.spec.file}: ok, ${plan.nodes.length} steps (${plan.nodes.map((n) => n.id).join(" → ")})\n`);
    });

  program
    .command("schema")
    .description("print the JSON Schema of pipeline files for the installed plugins")
    .option("--plugins <names...>", "extra plugin packages to include")
    .action(async (opts: { plugins?: string[] }) => {
      const registry = await loadPlugins(opts.plugins ?? [], resolve("pipeline.yaml"));
      io.stdout(`${JSON.stringify(pipelineJsonSchema(registry), null, 2)}\n`);
    });

  program
    .command("plugins")
    .description("list the installed plugins, their steps, ports and params")
    .argument("[step]", "show one step in full, e.g. core/read-idx")
    .option("--plugins <names...>", "extra plugin packages to load")
    .option("--json", "as JSON")
    .action(async (only: string | undefined, opts: { plugins?: string[]; json?: boolean }) => {
      const registry = await loadPlugins(opts.plugins ?? [], resolve("pipeline.yaml"));
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
    .command("export")
    .description("copy a run's output out of the store: its own files (numpy/pandas-readable) or the Embedding Projector TSV pair")
    .argument("<run-id>")
    .argument("<step>", "step id, or step.port when the step has several outputs")
    .requiredOption("--to <dir>", "directory to write into")
    .addOption(new Option("--format <format>", "files: the artifact's files as stored; projector: vectors.tsv + metadata.tsv").choices(["files", "projector"]).default("files"))
    .action(async (runId: string, target: string, opts: { to: string; format: string }) => {
      const h = home(program.opts());
      const run = await h.runs.load(runId);
      if (!run) throw new LatentflowError("E_NOT_FOUND", `no run '${runId}' in ${h.dir}`, { hint: "'latentflow runs' lists runs" });
      const [stepId, port] = target.split(".");
      const step = run.steps[stepId!];
      if (!step) throw new LatentflowError("E_NOT_FOUND", `run ${runId} has no step '${stepId}'`, { hint: `steps: ${Object.keys(run.steps).join(", ")}` });
      const ports = Object.keys(step.outputs);
      const chosen = port ?? (ports.length === 1 ? ports[0] : undefined);
      const out = chosen ? step.outputs[chosen] : undefined;
      if (!out) throw new LatentflowError("E_NOT_FOUND", `step '${stepId}' of run ${runId} has ${ports.length ? `outputs ${ports.join(", ")}` : "no outputs (did it succeed?)"}; name one as ${stepId}.<port>`);
      const m = await h.store.stat(out.key);
      if (!m) throw new LatentflowError("E_ARTIFACT_MISSING", `artifact ${out.key} is no longer in the store`, { hint: "re-run the pipeline to recompute it" });
      const dir = resolve(opts.to);
      const written: string[] = [];
      if (opts.format === "projector") {
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

  program
    .command("runs")
    .description("list runs, newest last")
    .option("--json", "as JSON")
    .action(async (opts: { json?: boolean }) => {
      const h = home(program.opts());
      const runs = await h.runs.list();
      if (opts.json) return io.stdout(`${JSON.stringify(runs.map(({ steps, ...r }) => ({ ...r, steps: Object.keys(steps).length })), null, 2)}\n`);
      for (const r of runs) io.stdout(`${r.id}  ${r.status.padEnd(10)} ${r.pipeline}  ${r.startedAt}  ${((r.durationMs ?? 0) / 1000).toFixed(1)} s\n`);
    });

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
