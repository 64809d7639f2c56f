import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { probeRedis } from "./connection.js";
import { TestRedisServer, uniquePrefix } from "./test-support.js";

const workerMain = join(fileURLToPath(new URL("..", import.meta.url)), "dist/worker/main.js");

/** `latentflow-worker` as a child process, whether or not it gets ready. */
function worker(redis: string) {
  const child = spawn(process.execPath, [workerMain, "--redis", redis, "--prefix", uniquePrefix("conn"), "--plugins", "@latentflow/contract-tests/plugin"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (out += b));
  const t0 = Date.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((res) => child.on("exit", (code, signal) => res({ code, signal, ms: Date.now() - t0 })));
  return { child, out: () => out, exited };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("connecting to a Redis that is not there, or refuses us", () => {
  const servers: TestRedisServer[] = [];
  const children: ReturnType<typeof worker>[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
    for (const s of servers.splice(0)) await s.destroy();
  });

  it("probeRedis: a closed port is E_REDIS_UNREACHABLE, a wrong or missing password E_REDIS_AUTH, each naming the address without the password", async () => {
    // Port 1: privileged, so no test of anyone's binds it (a port just freed by the OS may be taken by the time we use it).
    const port = 1;
    const down = await probeRedis(`redis://127.0.0.1:${port}`, { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: "E_REDIS_UNREACHABLE", data: { redis: `redis://127.0.0.1:${port}/0` } });
    expect((down as Error).message).toContain(`127.0.0.1:${port}`);
    expect((down as { hint: string }).hint).toMatch(/--redis/);
    const server = new TestRedisServer({ persist: false, password: "right-one" });
    servers.push(server);
    await server.start();
    await expect(probeRedis(server.url)).resolves.toBeUndefined();
    for (const url of [`redis://:wrong-one@127.0.0.1:${server.port}`, `redis://127.0.0.1:${server.port}`, `redis://someone:right-one@127.0.0.1:${server.port}`]) {
      const e = await probeRedis(url).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: "E_REDIS_AUTH" });
      expect((e as Error).message).not.toContain("wrong-one");
      expect((e as { hint: string }).hint).toMatch(/redis:\/\/:password@host:port/);
    }
    // A signal ends the wait at once.
    const c = new AbortController();
    const p = probeRedis(`redis://127.0.0.1:${port}`, { timeoutMs: 60_000, signal: c.signal }).catch((x: unknown) => x);
    setTimeout(() => c.abort(), 100);
    expect(await p).toMatchObject({ code: "E_CANCELLED" });
  });

  it("a worker against a closed port exits with E_REDIS_UNREACHABLE within 10 s, and within 2 s of a SIGTERM", async () => {
    const url = "redis://127.0.0.1:1";
    const w = worker(url);
    children.push(w);
    const r = await w.exited;
    expect(r.code).toBe(2);
    expect(w.out()).toMatch(/E_REDIS_UNREACHABLE no Redis answers at redis:\/\/127\.0\.0\.1:\d+\/0/);
    expect(w.out()).toMatch(/hint: /);
    expect(r.ms).toBeLessThan(10_000);

    const w2 = worker(url);
    children.push(w2);
    await new Promise((res) => setTimeout(res, 800));
    const t0 = Date.now();
    w2.child.kill("SIGTERM");
    const r2 = await w2.exited;
    expect(Date.now() - t0).toBeLessThan(2_000);
    // Ended by the signal: through our handler (exit 143), or — on a loaded machine, when the signal lands
    // while the modules are still loading, before any handler exists — by the signal itself.
    expect(r2.code === 143 || r2.signal === "SIGTERM", JSON.stringify(r2)).toBe(true);
  });

  it("a worker with a wrong password exits with E_REDIS_AUTH; one whose Redis comes back demanding another password exits too", async () => {
    const server = new TestRedisServer({ persist: false, password: "pw-1" });
    servers.push(server);
    await server.start();
    const bad = worker(`redis://:nope@127.0.0.1:${server.port}`);
    children.push(bad);
    const r = await bad.exited;
    expect(r.code).toBe(2);
    expect(bad.out()).toMatch(/E_REDIS_AUTH Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused our credentials: WRONGPASS/);
    expect(bad.out()).not.toContain("nope");

    const w = worker(server.url);
    children.push(w);
    await until(() => w.out().includes("ready "), "the worker to be ready");
    await server.stop();
    server.setPassword("pw-2");
    await server.start();
    const r2 = await w.exited;
    expect(r2.code).toBe(2);
    expect(w.out()).toMatch(/E_REDIS_AUTH/);
  });

  it("a worker whose Redis went away ends on the first SIGTERM within 2 s (a second one ends it at once)", async () => {
    const server = new TestRedisServer({ persist: false });
    servers.push(server);
    await server.start();
    const w = worker(server.url);
    children.push(w);
    await until(() => w.out().includes("ready "), "the worker to be ready");
    await server.stop();
    await new Promise((res) => setTimeout(res, 1500)); // reconnecting by now
    let t0 = Date.now();
    w.child.kill("SIGTERM");
    const r = await w.exited;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(r.code).toBe(0);

    // Redis back, the worker busy with nothing: the first signal is graceful, a second one is not needed but is obeyed.
    await server.start();
    const w2 = worker(server.url);
    children.push(w2);
    await until(() => w2.out().includes("ready "), "the second worker to be ready");
    await server.stop();
    t0 = Date.now();
    w2.child.kill("SIGTERM");
    w2.child.kill("SIGTERM");
    const r2 = await w2.exited;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect([0, 143]).toContain(r2.code);
  });
});
