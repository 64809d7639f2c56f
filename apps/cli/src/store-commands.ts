import { Option, type Command } from "commander";
import { LatentflowError, describeArtifact, type ArtifactManifest, type ArtifactStore, type RunStore } from "@latentflow/core";
import { fleetOptions, fleetStore, queueModule, type FleetOptions } from "./fleet.js";

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export interface StoreCommandsContext {
  io: Io;
  /** The local store and run records (`--home`). */
  home(): { store: ArtifactStore; runs: RunStore; dir: string };
  /** Sets the process's exit code. */
  exit(code: number): void;
}

type StoreOptions = FleetOptions & { json?: boolean };

/** The store (and run records) a `store` command works on: the fleet's with --redis, else the local one. */
async function openStore(ctx: StoreCommandsContext, opts: StoreOptions): Promise<{ store: ArtifactStore; runs: RunStore; close(): Promise<void> }> {
  if (!opts.redis) {
    const h = ctx.home();
    return { store: h.store, runs: h.runs, close: async () => {} };
  }
  const q = await queueModule();
  await q.probeRedis(opts.redis);
  const store = await fleetStore(q, opts);
  const runs = new q.RedisRunStore(opts.redis, opts.prefix);
  return {
    store,
    runs,
    async close() {
      await store.close?.();
      await runs.close();
    },
  };
}

/** Every key of the store, damaged manifests included when the store can list them. */
async function* keysOf(store: ArtifactStore): AsyncIterable<string> {
  if (store.listKeys) yield* store.listKeys();
  else for await (const m of store.list()) yield m.key;
}

interface Damage {
  key: string;
  step?: string;
  file?: string;
  code: string;
  message: string;
}

/** Reads back every file of one artifact against its recorded sha256; the problems found. */
async function verifyArtifact(store: ArtifactStore, key: string): Promise<{ manifest?: ArtifactManifest; damage: Damage[] }> {
  let manifest: ArtifactManifest | undefined;
  try {
    manifest = await store.stat(key);
  } catch (e) {
    if (e instanceof LatentflowError && e.code === "E_ARTIFACT_CORRUPT") return { damage: [{ key, file: "manifest", code: e.code, message: e.message }] };
    throw e;
  }
  if (!manifest) return { damage: [] }; // deleted meanwhile
  const step = typeof manifest.info?.step === "string" ? manifest.info.step : undefined;
  const damage: Damage[] = [];
  for (const f of manifest.files) {
    try {
      await store.read(key, f.name);
    } catch (e) {
      if (!(e instanceof LatentflowError) || (e.code !== "E_ARTIFACT_CORRUPT" && e.code !== "E_ARTIFACT_MISSING")) throw e;
      damage.push({ key, ...(step ? { step } : {}), file: f.name, code: e.code, message: e.message });
    }
  }
  return { manifest, damage };
}

/** `latentflow store verify` and `latentflow store gc`. */
export function addStoreCommands(program: Command, ctx: StoreCommandsContext): void {
  const { io } = ctx;
  const store = program.command("store").description("check and tidy the artifact store (the local one, or the fleet's with --redis)");

  fleetOptions(
    store
      .command("verify")
      .description("read back every artifact against its recorded hashes; exit code 1 when any is damaged")
      .option("--repair", "delete the damaged artifacts, so the next run recomputes them")
      .option("--store <where>", "with --redis: 'redis' (default) or the directory the fleet's workers mount")
      .option("--json", "the report as JSON"),
    false,
  ).action(async (opts: StoreOptions & { repair?: boolean }) => {
    const s = await openStore(ctx, opts);
    try {
      let checked = 0;
      const damaged: Damage[] = [];
      const repaired: string[] = [];
      for await (const key of keysOf(s.store)) {
        checked++;
        const { damage } = await verifyArtifact(s.store, key);
        if (!damage.length) continue;
        damaged.push(...damage);
        if (!opts.json) {
          for (const d of damage) io.stdout(`damaged ${d.key}${d.step ? ` (step '${d.step}')` : ""} file '${d.file}': ${d.message}\n`);
        }
        if (opts.repair && (await s.store.delete(key))) repaired.push(key);
      }
      const keys = new Set(damaged.map((d) => d.key));
      if (opts.json) io.stdout(`${JSON.stringify({ store: s.store.location, checked, damaged, repaired }, null, 2)}\n`);
      else if (!keys.size) io.stdout(`${checked} artifacts in ${s.store.location}: all intact\n`);
      else if (opts.repair) io.stdout(`${checked} artifacts in ${s.store.location}: ${keys.size} damaged, deleted; the next run recomputes them\n`);
      else io.stdout(`${checked} artifacts in ${s.store.location}: ${keys.size} damaged\nhint: 'latentflow store verify --repair' deletes them (the next run recomputes them), or 'latentflow run --force' replaces them\n`);
      ctx.exit(keys.size && !opts.repair ? 1 : 0);
    } finally {
      await s.close();
    }
  });

  fleetOptions(
    store
      .command("gc")
      .description("delete the artifacts no run record refers to (shard pieces and outputs of deleted runs)")
      .option("--dry-run", "list what would be deleted, delete nothing")
      .addOption(new Option("--grace <seconds>", "keep artifacts younger than this (a run in progress may not have recorded them yet)").default(3600).argParser((v) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new LatentflowError("E_OPTION", `--grace is a number of seconds ≥ 0, found '${v}'`);
        return n;
      }))
      .option("--store <where>", "with --redis: 'redis' (default) or the directory the fleet's workers mount")
      .option("--json", "the report as JSON"),
    false,
  ).action(async (opts: StoreOptions & { dryRun?: boolean; grace: number }) => {
    const s = await openStore(ctx, opts);
    try {
      const referenced = new Set<string>();
      for (const r of await s.runs.list()) for (const step of Object.values(r.steps)) for (const o of Object.values(step.outputs ?? {})) referenced.add(o.key);
      const cutoff = Date.now() - opts.grace * 1000;
      const removed: { key: string; step?: string; size: number }[] = [];
      let kept = 0;
      for await (const key of keysOf(s.store)) {
        // A damaged manifest is `store verify`'s to report; gc leaves it.
        const m = await s.store.stat(key).catch(() => undefined);
        if (!m || referenced.has(key) || Date.parse(m.createdAt) > cutoff) {
          kept++;
          continue;
        }
        if (!opts.dryRun) await s.store.delete(key);
        removed.push({ key, ...(typeof m.info?.step === "string" ? { step: m.info.step } : {}), size: m.size });
        if (!opts.json) io.stdout(`${opts.dryRun ? "would delete" : "deleted"} ${describeArtifact(m)}, ${m.size} bytes\n`);
      }
      const bytes = removed.reduce((a, r) => a + r.size, 0);
      if (opts.json) io.stdout(`${JSON.stringify({ store: s.store.location, dryRun: opts.dryRun ?? false, removed, kept }, null, 2)}\n`);
      else io.stdout(`${opts.dryRun ? "would delete" : "deleted"} ${removed.length} artifacts (${bytes} bytes), kept ${kept}\n`);
    } finally {
      await s.close();
    }
  });
}
