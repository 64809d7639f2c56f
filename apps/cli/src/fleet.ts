import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { FsArtifactStore, LatentflowError, type ArtifactStore, type Logger, type RunRecord } from "@latentflow/core";
import type * as QueueModule from "@latentflow/queue";
import type * as DashboardModule from "@latentflow/queue/dashboard";

/** Redis options shared by every fleet command. */
export interface FleetOptions {
  redis?: string;
  prefix?: string;
  store?: string;
}

/** Adds `--redis` and `--prefix` (with their environment defaults) to a command. */
export function fleetOptions(cmd: Command, redisRequired = true): Command {
  return cmd
    .addOption(new Option("--redis <url>", `Redis URL: redis://[user:password@]host:port/db, rediss:// for TLS${redisRequired ? "" : " (omit to use the local run records)"}`).env("LATENTFLOW_REDIS"))
    .addOption(new Option("--prefix <prefix>", "key prefix of the deployment").env("LATENTFLOW_PREFIX").default("lf"));
}

/** The queue package, loaded only when a fleet command runs: the local path needs no Redis client. */
export async function queueModule(): Promise<typeof QueueModule> {
  try {
    return await import("@latentflow/queue");
  } catch (e) {
    throw new LatentflowError("E_EXECUTOR", `the queue executor needs @latentflow/queue: ${(e as Error).message}`, { hint: "pnpm add @latentflow/queue" });
  }
}

/** The dashboard (bull-board and its HTTP server), loaded only by `latentflow dashboard`. */
export async function dashboardModule(): Promise<typeof DashboardModule> {
  try {
    return await import("@latentflow/queue/dashboard");
  } catch (e) {
    throw new LatentflowError("E_EXECUTOR", `the dashboard needs @latentflow/queue: ${(e as Error).message}`, { hint: "pnpm add @latentflow/queue" });
  }
}

export function requireRedis(opts: FleetOptions, what: string): string {
  if (!opts.redis) throw new LatentflowError("E_REDIS_URL", `${what} needs --redis <url> (or LATENTFLOW_REDIS)`, { hint: "e.g. --redis redis://127.0.0.1:6379" });
  return opts.redis;
}

/** The artifact store of a fleet run: Redis (default) or a directory every worker mounts. */
export async function fleetStore(q: typeof QueueModule, opts: FleetOptions): Promise<ArtifactStore> {
  const where = opts.store ?? "redis";
  if (where === "redis") return new q.RedisArtifactStore({ redis: requireRedis(opts, "the Redis artifact store"), prefix: opts.prefix ?? "lf" });
  return new FsArtifactStore(resolve(where));
}

/** The store a run used, from its stored reference (for `resume`). */
export function storeFromRef(q: typeof QueueModule, ref: QueueModule.StoreRef, redis: string): ArtifactStore {
  return ref.kind === "redis" ? new q.RedisArtifactStore({ redis, prefix: ref.prefix, ...(ref.ttlSeconds ? { ttlSeconds: ref.ttlSeconds } : {}) }) : new FsArtifactStore(ref.root);
}

export function stderrLogger(verbose: boolean, write: (s: string) => void): Logger {
  const say = (level: string) => (m: string) => write(`[worker ${process.pid}] ${level} ${m}\n`);
  return { debug() {}, info: verbose ? say("info") : () => {}, warn: say("warn"), error: say("error") };
}

export function formatStatus(record: RunRecord, jobs: QueueModule.StepJobState[]): string {
  const byStep = new Map(jobs.map((j) => [j.step, j]));
  let out = `run ${record.id}: ${record.status} (${record.pipeline}, ${record.file})\n`;
  for (const [id, s] of Object.entries(record.steps)) {
    const j = byStep.get(id);
    const job = j ? `job ${j.state}${j.attemptsMade ? `, ${j.attemptsMade} failed attempts` : ""} on queue ${j.queue}` : "";
    const how = s.error ? `${s.error.code}: ${s.error.message}` : s.status === "succeeded" ? (s.cache === "hit" ? "cached" : "computed") : "";
    out += `  ${id.padEnd(16)} ${s.status.padEnd(10)} ${how.padEnd(10)} ${job}\n`;
  }
  return out;
}
