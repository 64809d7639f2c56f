import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@latentflow/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent, RunRecord } from "@latentflow/core";
import { EXIT, main } from "./cli.js";

const REDIS = process.env.LATENTFLOW_TEST_REDIS ?? "redis://127.0.0.1:6379";
const appDir = fileURLToPath(new URL("..", import.meta.url));
const bin = join(appDir, "dist", "bin.js");
const prefix = `lftest-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const fleet = ["--redis", REDIS, "--prefix", prefix];

function cli(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: appDir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  return { child, out: () => out, exited: new Promise((res) => child.on("exit", (c) => res(c))) };
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const events = (out: string): RunEvent[] => out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as RunEvent);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe("latentflow fleet commands against real Redis", () => {
  let dir: string;
  const workers: ReturnType<typeof cli>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-cli-fleet-"));
    for (let i = 0; i < 2; i++) {
      const w = cli(["worker", ...fleet, "--plugins", "@latentflow/contract-tests/plugin", "--concurrency", "2"]);
      workers.push(w);
    }
    await until(() => workers.every((w) => w.out().includes("ready ")), "workers");
  });

  afterAll(async () => {
    // SIGTERM: the graceful path; workers are idle, so they exit at once.
    for (const w of workers) w.child.kill("SIGTERM");
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes).toEqual([0, 0]);
    const r = connect(REDIS);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it("SIGKILL of the coordinating `run`, then `resume`: completes without recomputing finished steps", async () => {
    const file = join(dir, "resume.yaml");
    await writeFile(file, `version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 5 } }
  counted: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 0, counter: counted.txt } }
  long: { uses: contract/slow, with: { ms: 2500, tag: resume } }
  total: { uses: contract/sum, in: { records: counted } }
`);
    const coordinator = cli(["run", file, "--executor", "queue", ...fleet, "--plugins", "@latentflow/contract-tests/plugin", "--json"]);
    await until(() => events(coordinator.out()).some((e) => e.type === "step-end" && e.stepId === "counted"), "step 'counted' to finish");
    const runId = events(coordinator.out()).find((e) => e.type === "run-start")!.runId;
    coordinator.child.kill("SIGKILL");
    await coordinator.exited;

    const status = await run(["status", runId, ...fleet]);
    expect(status.code).toBe(EXIT.ok);
    expect(status.out).toMatch(new RegExp(`run ${runId}: running`));

    const resumed = await run(["resume", runId, ...fleet, "--json"]);
    expect(resumed.code).toBe(EXIT.ok);
    const end = events(resumed.out).find((e) => e.type === "run-end") as { record: RunRecord };
    expect(end.record.status).toBe("succeeded");
    expect(Object.values(end.record.steps).map((s) => s.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    // The counting step ran once, before the kill: resume took its result instead of running it again.
    expect(await readFile(join(dir, "counted.txt"), "utf8")).toBe("1");

    const listed = await run(["runs", ...fleet]);
    expect(listed.out).toMatch(new RegExp(`${runId}\\s+succeeded`));
  });

  it("`cancel` from another process stops a running fleet run", async () => {
    const file = join(dir, "cancel.yaml");
    await writeFile(file, `version: 1
steps:
  long: { uses: contract/slow, with: { ms: 60000, tag: cancel } }
`);
    const coordinator = cli(["run", file, "--executor", "queue", ...fleet, "--plugins", "@latentflow/contract-tests/plugin", "--json"]);
    await until(() => events(coordinator.out()).some((e) => e.type === "step-start"), "the step to start");
    const runId = events(coordinator.out()).find((e) => e.type === "run-start")!.runId;
    const cancelled = await run(["cancel", runId, ...fleet]);
    expect(cancelled.out).toContain("cancelled");
    expect(await coordinator.exited).toBe(EXIT.cancelled);
    const status = await run(["status", runId, ...fleet, "--json"]);
    expect(JSON.parse(status.out).record.status).toBe("cancelled");
  });

  it("refuses a queue run without a Redis URL, with a hint", async () => {
    const saved = process.env.LATENTFLOW_REDIS;
    delete process.env.LATENTFLOW_REDIS;
    const r = await run(["run", join(dir, "cancel.yaml"), "--executor", "queue", "--plugins", "@latentflow/contract-tests/plugin"]).finally(() => {
      if (saved !== undefined) process.env.LATENTFLOW_REDIS = saved;
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toMatch(/E_REDIS_URL/);
  });
});
