import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { LatentflowError } from "../errors.js";
import { canonicalJson, hashParts } from "../hash.js";
import type { Logger, SkippedItem, StepContext } from "../plugin.js";
import { codecFor, type ArtifactFiles, type PortCodec, type PortType } from "../ports.js";
import type { PlanNode } from "../pipeline/validate.js";
import { isCancellation } from "../contracts/cancel.js";
import { ResourceCache } from "../resources.js";
import { createRng, stepSeed } from "../rng.js";
import { isRetryable, retryDelay, retryPolicyOf } from "./retry.js";
import type { OutputRecord } from "../runs/run-record.js";
import type { ArtifactManifest, ArtifactStore, PutOptions } from "../store/artifact-store.js";

/** Bumped when the meaning of a cache key changes, so old caches are not misread. */
const KEY_VERSION = "latentflow-step/v1";

/** What a step execution needs from its executor. */
export interface StepEnv {
  store: ArtifactStore;
  runId: string;
  seed: string;
  baseDir: string;
  signal: AbortSignal;
  log: Logger;
  force: boolean;
  concurrency: number;
  scratchDir?: string;
  /**
   * The process's resource cache (models loaded once, shared across shards and steps). Without one, each
   * step call gets a cache of its own, freed when the call ends.
   */
  resources?: ResourceCache;
  /**
   * A cache key the caller has just found absent from the store (e.g. a fleet's coordinator, looking up
   * many steps in one round trip): when the step's key is this one, `runStep` skips its own lookup. Puts
   * stay first-writer-wins, so an artifact stored meanwhile by someone else is kept and returned.
   */
  absentKey?: string;
  /**
   * Calls per step (or shard) call at most, instead of the step's retry policy: a launcher that retries
   * itself with the same policy (a fleet, through BullMQ's attempts) gives 1.
   */
  attempts?: number;
  onProgress?(done: number, total?: number, message?: string): void;
  onRetry?(attempt: number, delayMs: number, error: unknown): void;
  onAttempt?(attempt: number): void;
}

export interface StepResult {
  key: string;
  cache: "hit" | "miss";
  attempts: number;
  outputs: Record<string, OutputRecord>;
  skipped: SkippedItem[];
  shards?: { count: number; fromCache: number };
}

/** Resolves a path written in a pipeline file against the file's directory. */
export function resolveFrom(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** The cache key of a step: plugin and version, step, params, sharding, item policy, input content hashes, fingerprint. */
export function stepKey(node: PlanNode, inputHashes: Record<string, string>, fingerprint = ""): string {
  const inputs = Object.keys(inputHashes).sort().flatMap((p) => [p, inputHashes[p]!]);
  const shard = node.spec.shard ? `shard:${node.spec.shard.size}` : "";
  // The item policy changes what a step outputs (items left out vs. a failure); retries and timeouts do not.
  return hashParts(KEY_VERSION, `${node.plugin.name}@${node.plugin.version}`, node.uses, canonicalJson(node.params ?? {}), shard, `onError:${node.spec.onError}`, fingerprint, ...inputs);
}

/** Artifact key of one output port of a step (or of one shard of it). */
export function outputKey(key: string, port: string, shard?: number): string {
  return shard === undefined ? hashParts(key, "out", port) : hashParts(key, "shard", String(shard), port);
}

function toRecord(m: ArtifactManifest): OutputRecord {
  return { key: m.key, hash: m.hash, type: m.type, size: m.size };
}

/** Loads the value of an artifact through its port codec. */
export async function loadArtifactValue(store: ArtifactStore, manifest: ArtifactManifest): Promise<unknown> {
  const files: ArtifactFiles = {};
  for (const f of manifest.files) files[f.name] = await store.read(manifest.key, f.name);
  return codecFor(manifest.type).decode(files);
}

/** Returns the manifests of every output under `key`, or undefined if any is missing. */
async function cachedOutputs(store: ArtifactStore, node: PlanNode, key: string, shard?: number): Promise<Record<string, ArtifactManifest> | undefined> {
  const out: Record<string, ArtifactManifest> = {};
  for (const port of Object.keys(node.step.outputs)) {
    const m = await store.stat(outputKey(key, port, shard));
    if (!m) return undefined;
    out[port] = m;
  }
  return out;
}

function skippedFrom(manifests: Record<string, ArtifactManifest>): SkippedItem[] {
  const first = Object.values(manifests)[0];
  return (first?.info?.skipped as SkippedItem[] | undefined) ?? [];
}

function isCancel(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted || isCancellation(e);
}

function cancelled(): LatentflowError {
  return new LatentflowError("E_CANCELLED", "the run was cancelled");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal.aborted) return rej(cancelled());
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      res();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      rej(cancelled());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Computes the cache key of a node from the manifests of its inputs. */
export async function keyForNode(node: PlanNode, inputs: Record<string, ArtifactManifest>, baseDir: string): Promise<string> {
  const hashes: Record<string, string> = {};
  for (const [port, m] of Object.entries(inputs)) hashes[port] = m.hash;
  const fp = node.step.fingerprint ? await node.step.fingerprint(node.params, { resolvePath: (p) => resolveFrom(baseDir, p) }) : "";
  return stepKey(node, hashes, fp);
}

/**
 * Runs one step of a plan: from cache when every output is there (unless forced), else by calling the
 * step — per shard when sharded, each shard cached on its own so an interrupted step resumes — with
 * retries, backoff and timeout. Outputs are checked against the declared port types and stored.
 */
export async function runStep(node: PlanNode, inputs: Record<string, ArtifactManifest>, env: StepEnv): Promise<StepResult> {
  if (env.signal.aborted) throw cancelled();
  const key = await keyForNode(node, inputs, env.baseDir);
  if (!env.force && env.absentKey !== key) {
    const hit = await cachedOutputs(env.store, node, key);
    if (hit) {
      return { key, cache: "hit", attempts: 0, outputs: Object.fromEntries(Object.entries(hit).map(([p, m]) => [p, toRecord(m)])), skipped: skippedFrom(hit) };
    }
  }

  const values: Record<string, unknown> = {};
  for (const [port, m] of Object.entries(inputs)) values[port] = await loadArtifactValue(env.store, m);

  const info = stepInfo(node, env);

  if (!node.spec.shard || !node.step.shardable) {
    const { outputs, skipped, attempts, items } = await attempt(node, values, env, undefined);
    const stored: Record<string, OutputRecord> = {};
    for (const [port, files] of Object.entries(outputs)) {
      stored[port] = toRecord(await env.store.put(outputKey(key, port), node.step.outputs[port]!.type, files, info(skipped, items[port]), putOptions(env)));
    }
    return { key, cache: "miss", attempts, outputs: stored, skipped };
  }

  // Sharded: split the shardable input, run (or reuse) each shard, gather in order.
  const plan = shardPlan(node, values);
  const shardResults: ShardOutcome[] = new Array(plan.count);
  let fromCache = 0;
  let attempts = 0;
  let itemsDone = 0;
  let next = 0;
  const worker = async () => {
    while (next < plan.count) {
      const i = next++;
      const r = await computeShard(node, values, plan, key, i, env);
      shardResults[i] = r;
      if (r.cached) fromCache++;
      attempts += r.attempts;
      itemsDone += Math.min(plan.n, (i + 1) * plan.size) - i * plan.size;
      env.onProgress?.(itemsDone, plan.n, `shard ${i + 1}/${plan.count}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(env.concurrency, plan.count) }, worker));

  const skipped = shardResults.flatMap((r) => r.skipped);
  const outputs: Record<string, OutputRecord> = {};
  for (const [out, spec] of Object.entries(node.step.outputs)) {
    const outCodec = codecFor(spec.type);
    const parts: unknown[] = [];
    for (const r of shardResults) parts.push(await loadArtifactValue(env.store, r.manifests[out]!));
    const gathered = outCodec.concat!(parts as never[]);
    outputs[out] = toRecord(await env.store.put(outputKey(key, out), spec.type, outCodec.encode(gathered as never), info(skipped, outCodec.length?.(gathered as never)), putOptions(env)));
  }
  return { key, cache: "miss", attempts, outputs, skipped, shards: { count: plan.count, fromCache } };
}

/** A forced run replaces what is stored: a damaged copy under the same key is repaired, not kept. */
function putOptions(env: StepEnv): PutOptions | undefined {
  return env.force ? { replace: true } : undefined;
}

/** Provenance kept with every output (not part of its hash); `items` lets a scheduler plan shards without loading it. */
function stepInfo(node: PlanNode, env: StepEnv) {
  return (skipped: SkippedItem[], items?: number) => ({
    step: node.id,
    uses: node.uses,
    plugin: `${node.plugin.name}@${node.plugin.version}`,
    runId: env.runId,
    skipped,
    ...(items !== undefined ? { items } : {}),
  });
}

interface ShardPlan {
  port: string;
  whole: unknown;
  n: number;
  size: number;
  count: number;
}

interface ShardOutcome {
  manifests: Record<string, ArtifactManifest>;
  skipped: SkippedItem[];
  cached: boolean;
  attempts: number;
}

function shardPlan(node: PlanNode, values: Record<string, unknown>): ShardPlan {
  const port = node.step.shardable!;
  const codec = codecFor(node.step.inputs[port]!.type);
  const whole = values[port];
  const n = codec.length!(whole as never);
  const size = node.spec.shard!.size;
  return { port, whole, n, size, count: Math.max(1, Math.ceil(n / size)) };
}

/** Number of shards a sharded step splits its input into, from the input's stored item count. */
export function shardCount(node: PlanNode, inputs: Record<string, ArtifactManifest>): number | undefined {
  if (!node.spec.shard || !node.step.shardable) return undefined;
  const items = inputs[node.step.shardable]?.info?.items;
  return typeof items === "number" ? Math.max(1, Math.ceil(items / node.spec.shard.size)) : undefined;
}

async function computeShard(node: PlanNode, values: Record<string, unknown>, plan: ShardPlan, key: string, i: number, env: StepEnv): Promise<ShardOutcome> {
  if (env.signal.aborted) throw cancelled();
  const cached = env.force ? undefined : await cachedOutputs(env.store, node, key, i);
  if (cached) return { manifests: cached, skipped: skippedFrom(cached), cached: true, attempts: 0 };
  const start = i * plan.size;
  const end = Math.min(plan.n, start + plan.size);
  const codec = codecFor(node.step.inputs[plan.port]!.type);
  const shardValues = { ...values, [plan.port]: codec.slice!(plan.whole as never, start, end) };
  const r = await attempt(node, shardValues, env, { index: i, count: plan.count, offset: start });
  const manifests: Record<string, ArtifactManifest> = {};
  const info = stepInfo(node, env);
  for (const [out, files] of Object.entries(r.outputs)) {
    manifests[out] = await env.store.put(outputKey(key, out, i), node.step.outputs[out]!.type, files, info(r.skipped, r.items[out]), putOptions(env));
  }
  return { manifests, skipped: r.skipped, cached: false, attempts: r.attempts };
}

/**
 * Runs (or takes from cache) one shard of a sharded step and stores its outputs, without gathering: a
 * fleet runs shards as separate jobs, then `runStep` on the same node gathers them all from the cache.
 */
export async function runShard(node: PlanNode, inputs: Record<string, ArtifactManifest>, env: StepEnv, index: number): Promise<{ key: string; count: number; cached: boolean; attempts: number; skipped: SkippedItem[] }> {
  if (!node.spec.shard || !node.step.shardable) throw new LatentflowError("E_SHARD", `step '${node.id}' is not sharded`);
  const key = await keyForNode(node, inputs, env.baseDir);
  if (!env.force) {
    // A finished shard is answered from its manifests, without loading the (possibly large) inputs.
    const hit = await cachedOutputs(env.store, node, key, index);
    const items = inputs[node.step.shardable]?.info?.items;
    if (hit && typeof items === "number") {
      return { key, count: Math.max(1, Math.ceil(items / node.spec.shard.size)), cached: true, attempts: 0, skipped: skippedFrom(hit) };
    }
  }
  const values: Record<string, unknown> = {};
  for (const [port, m] of Object.entries(inputs)) values[port] = await loadArtifactValue(env.store, m);
  const plan = shardPlan(node, values);
  if (!Number.isInteger(index) || index < 0 || index >= plan.count) {
    throw new LatentflowError("E_SHARD", `step '${node.id}': shard ${index} does not exist (${plan.count} shards of ${plan.size} over ${plan.n} items)`);
  }
  const r = await computeShard(node, values, plan, key, index, env);
  return { key, count: plan.count, cached: r.cached, attempts: r.attempts, skipped: r.skipped };
}

/** One call of the step with retries; returns the encoded outputs. */
async function attempt(
  node: PlanNode,
  values: Record<string, unknown>,
  env: StepEnv,
  shard: StepContext["shard"],
): Promise<{ outputs: Record<string, ArtifactFiles>; skipped: SkippedItem[]; attempts: number; items: Record<string, number | undefined> }> {
  const policy = retryPolicyOf(node.spec);
  const attempts = env.attempts ?? policy.attempts;
  for (let a = 0; ; a++) {
    env.onAttempt?.(a + 1);
    try {
      const r = await callOnce(node, values, env, shard);
      return { ...r, attempts: a + 1 };
    } catch (e) {
      if (isCancel(e, env.signal)) throw env.signal.aborted ? cancelled() : e;
      if (a + 1 >= attempts || !isRetryable(e)) throw e;
      const delay = retryDelay(policy, a + 1);
      env.onRetry?.(a + 1, delay, e);
      env.log.warn(`step ${node.id}: attempt ${a + 1} failed, retrying in ${delay} ms`, { error: String(e) });
      await sleep(delay, env.signal);
    }
  }
}

async function callOnce(
  node: PlanNode,
  values: Record<string, unknown>,
  env: StepEnv,
  shard: StepContext["shard"],
): Promise<{ outputs: Record<string, ArtifactFiles>; skipped: SkippedItem[]; items: Record<string, number | undefined> }> {
  // The step's signal is made on first use (most trivial steps never look at it), following the run's
  // signal and this call's timeout from then on.
  let controller: AbortController | undefined;
  let timedOut: unknown;
  const onAbort = () => controller!.abort(env.signal.reason);
  const signal = (): AbortSignal => {
    if (!controller) {
      controller = new AbortController();
      if (timedOut !== undefined) controller.abort(timedOut);
      else if (env.signal.aborted) controller.abort(env.signal.reason);
      else env.signal.addEventListener("abort", onAbort, { once: true });
    }
    return controller.signal;
  };
  // Made on first use: most steps never touch it, and a directory per call costs milliseconds.
  let scratch: string | undefined;
  const scratchDir = () => (scratch ??= mkdtempSync(join(env.scratchDir ?? tmpdir(), `latentflow-${node.id}-`)));
  const skipped: SkippedItem[] = [];
  const offset = shard?.offset ?? 0;
  // Seeded on first use too: hashing the seed is work most steps never need.
  let rng: StepContext["rng"] | undefined;
  let ownResources: ResourceCache | undefined;
  const ctx: StepContext = {
    runId: env.runId,
    stepId: node.id,
    ...(shard ? { shard } : {}),
    store: env.store,
    log: env.log,
    progress: (done, total, message) => {
      if (!shard) env.onProgress?.(done, total, message);
    },
    get signal() {
      return signal();
    },
    get rng() {
      return (rng ??= createRng(`${stepSeed(env.seed, node.id)}/${shard?.index ?? ""}`));
    },
    get scratchDir() {
      return scratchDir();
    },
    get resources() {
      return env.resources ?? (ownResources ??= new ResourceCache());
    },
    resolvePath: (p) => resolveFrom(env.baseDir, p),
    itemFailed(item, error) {
      const le = error instanceof LatentflowError ? error : undefined;
      const rec: SkippedItem = {
        index: item.index + offset,
        ...(item.id !== undefined ? { id: item.id } : {}),
        code: le?.code ?? "E_ITEM",
        message: error instanceof Error ? error.message : String(error),
      };
      if (node.spec.onError === "fail") {
        throw new LatentflowError(rec.code, `step '${node.id}': item ${rec.index}${rec.id !== undefined ? ` (id '${rec.id}')` : ""} failed: ${rec.message}`, {
          hint: "set 'onError: skip' on the step to leave failing items out and report them instead",
          cause: error,
          data: { ...rec },
        });
      }
      skipped.push(rec);
    },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = node.step.run(ctx, values as never, node.params);
    const result = node.spec.timeoutMs
      ? await Promise.race([
          run,
          new Promise<never>((_, rej) => {
            timer = setTimeout(() => {
              const err = new LatentflowError("E_TIMEOUT", `step '${node.id}' did not finish within ${node.spec.timeoutMs} ms`, { hint: "raise 'timeout:' on the step, or shard it" });
              timedOut = err;
              controller?.abort(err);
              rej(err);
            }, node.spec.timeoutMs);
          }),
        ])
      : await run;
    const outputs: Record<string, ArtifactFiles> = {};
    const items: Record<string, number | undefined> = {};
    for (const [port, spec] of Object.entries(node.step.outputs)) {
      const value = (result as Record<string, unknown>)[port];
      const codec: PortCodec<unknown> = codecFor(spec.type as PortType);
      codec.check(value, `step '${node.id}' (${node.uses}) output '${port}'`);
      outputs[port] = codec.encode(value as never);
      items[port] = codec.length?.(value as never);
    }
    return { outputs, skipped, items };
  } finally {
    if (timer) clearTimeout(timer);
    if (controller) env.signal.removeEventListener("abort", onAbort);
    if (scratch) await rm(scratch, { recursive: true, force: true });
    if (ownResources) await ownResources.dispose();
  }
}
