import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";

/** The Redis the tests use (CI runs one on 6379); tests that restart Redis start their own. */
export const REDIS_URL = process.env.LATENTFLOW_TEST_REDIS ?? "redis://127.0.0.1:6379";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const workerMain = join(packageDir, "dist/worker/main.js");

/** A key prefix no other test (or run of the tests) shares. */
export function uniquePrefix(name: string): string {
  return `lftest-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Deletes every key under a test's prefix. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
}

export interface SpawnedWorker {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
}

/** Starts `latentflow-worker` (from dist/) as a child process with the contract plugin; resolves when it is ready. */
export async function spawnWorker(opts: { redis: string; prefix: string; concurrency?: number; lockDuration?: number; stalledInterval?: number; queues?: string[] }): Promise<SpawnedWorker> {
  const args = [workerMain, "--redis", opts.redis, "--prefix", opts.prefix, "--plugins", "@latentflow/contract-tests/plugin", "--concurrency", String(opts.concurrency ?? 2)];
  if (opts.lockDuration) args.push("--lock-duration", String(opts.lockDuration));
  if (opts.stalledInterval) args.push("--stalled-interval", String(opts.stalledInterval));
  for (const q of opts.queues ?? []) args.push("--queues", q);
  const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (out.includes("ready ")) {
        clearInterval(t);
        res();
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(t);
      rej(new Error(`worker exited with ${code} before it was ready:\n${out}`));
    });
  });
  return { child, output: () => out, exited };
}

/** Stops spawned workers (SIGKILL: tests do not wait for graceful shutdown unless they test it). */
export async function killAll(workers: SpawnedWorker[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
}

/** A TCP port nothing listens on (just released by the OS). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on("error", rej);
  });
}

/**
 * A redis-server owned by one test, on a free port, keeping its data in an append-only file across restarts
 * (unless `persist: false`: then a restart loses everything), optionally with a password.
 */
export class TestRedisServer {
  port = 0;
  private dir = "";
  private proc?: ChildProcess;

  constructor(private readonly options: { persist?: boolean; password?: string } = {}) {}

  /** The URL with the password, if the server has one. */
  get url(): string {
    return `redis://${this.options.password ? `:${encodeURIComponent(this.options.password)}@` : ""}127.0.0.1:${this.port}`;
  }

  /** Changes the password the server requires from its next start on. */
  setPassword(password: string | undefined): void {
    (this.options as { password?: string }).password = password;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (!this.dir) this.dir = await mkdtemp(join(tmpdir(), "lf-redis-"));
    const persist = this.options.persist ?? true;
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", persist ? "yes" : "no", "--appendfsync", "always", "--dir", this.dir];
    if (this.options.password) args.push("--requirepass", this.options.password);
    const proc = spawn("redis-server", args, { stdio: "ignore" });
    this.proc = proc;
    for (let i = 0; i < 200; i++) {
      const r = new Redis(this.url, { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
      r.on("error", () => {});
      try {
        await r.connect();
        if ((await r.ping()) === "PONG") return;
      } catch {
        // not up yet
      } finally {
        r.disconnect();
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`redis-server on ${this.port} did not start`);
  }

  /** Stops the server (SIGTERM: it flushes its append-only file and exits). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((res) => {
      p.once("exit", () => res());
      p.kill("SIGTERM");
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
