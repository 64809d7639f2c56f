import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { probeRedis } from "@latentflow/queue";

const appDir = fileURLToPath(new URL("..", import.meta.url));
const bin = join(appDir, "dist", "bin.js");
const plugin = ["--plugins", "@latentflow/contract-tests/plugin"];

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: appDir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  const t0 = Date.now();
  const exited = new Promise<{ code: number | null; ms: number }>((res) => child.on("exit", (code) => res({ code, ms: Date.now() - t0 })));
  return { child, out: () => out, exited };
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on("error", rej);
  });
}

/** A redis-server of this test's own on a free port, without persistence. */
async function redisServer(extra: string[] = []): Promise<{ url: string; port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await probeRedis(url, { timeoutMs: 200 }).then(() => true, (e: { code?: string }) => e.code === "E_REDIS_AUTH");
    if (ok) return { url, port, proc };
    if (i > 100) throw new Error("redis-server did not start");
  }
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the fleet never hangs: coordinator and worker against a Redis that is not there", () => {
  let dir: string;
  let file: string;
  let closed: string;
  const children: ReturnType<typeof cli>[] = [];
  const servers: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-cli-hang-"));
    file = join(dir, "p.yaml");
    await writeFile(file, "version: 1\nsteps:\n  long: { uses: contract/slow, with: { ms: 60000, tag: hang } }\n");
    // Port 1: privileged, so no test of anyone's binds it (a port just freed by the OS may be taken by the time we use it).
    closed = "redis://127.0.0.1:1";
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill("SIGKILL");
    for (const s of servers.splice(0)) if (s.exitCode === null) s.kill("SIGKILL");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a closed port: `run --executor queue` and `worker` exit with E_REDIS_UNREACHABLE (exit code 2) within 10 s", async () => {
    const run = cli(["run", file, "--executor", "queue", "--redis", closed, ...plugin]);
    const worker = cli(["worker", "--redis", closed, ...plugin]);
    children.push(run, worker);
    for (const c of [run, worker]) {
      const r = await c.exited;
      expect(r.code).toBe(2);
      expect(c.out()).toContain(`E_REDIS_UNREACHABLE no Redis answers at ${closed}/0`);
      expect(c.out()).toMatch(/hint: start redis-server there, or point --redis/);
      expect(r.ms).toBeLessThan(10_000);
    }
  });

  it("a closed port: both end within 2 s of a SIGTERM", async () => {
    // Waiting for Redis for up to a minute, so the signal surely lands while the connection is tried (past
    // the start-up, which a busy machine makes slow).
    const wait = { LATENTFLOW_REDIS_WAIT: "60" };
    const run = cli(["run", file, "--executor", "queue", "--redis", closed, ...plugin], wait);
    const worker = cli(["worker", "--redis", closed, ...plugin], wait);
    children.push(run, worker);
    await new Promise((r) => setTimeout(r, 6000));
    for (const c of [run, worker]) {
      expect(c.child.exitCode).toBeNull();
      const t0 = Date.now();
      c.child.kill("SIGTERM");
      const r = await c.exited;
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(r.code).toBe(130);
    }
  });

  it("a wrong password: E_REDIS_AUTH from both, and the worker exits", async () => {
    const server = await redisServer(["--requirepass", "the-right-one"]);
    servers.push(server.proc);
    const url = `redis://:not-it@127.0.0.1:${server.port}`;
    const run = cli(["run", file, "--executor", "queue", "--redis", url, ...plugin]);
    const worker = cli(["worker", "--redis", url, ...plugin]);
    children.push(run, worker);
    for (const c of [run, worker]) {
      expect((await c.exited).code).toBe(2);
      expect(c.out()).toMatch(/E_REDIS_AUTH Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused our credentials/);
      expect(c.out()).not.toContain("not-it");
    }
  });

  it("Redis gone mid-run: the coordinator cancels on the first SIGTERM and a second one ends it at once", async () => {
    const server = await redisServer();
    servers.push(server.proc);
    const worker = cli(["worker", "--redis", server.url, ...plugin]);
    children.push(worker);
    await until(() => worker.out().includes("ready "), "the worker");
    const run = cli(["run", file, "--executor", "queue", "--redis", server.url, ...plugin, "--json"]);
    children.push(run);
    await until(() => run.out().includes('"step-start"'), "the step to start");
    server.proc.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill("SIGTERM");
    await until(() => run.out().includes("cancelling"), "the first signal to be heard", 2_000);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    if (run.child.exitCode === null) run.child.kill("SIGTERM");
    const r = await run.exited;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect([130, 143]).toContain(r.code);
    // The worker, its Redis gone, ends on one SIGTERM too.
    const t1 = Date.now();
    worker.child.kill("SIGTERM");
    await worker.exited;
    expect(Date.now() - t1).toBeLessThan(2_000);
  });
});
