import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { connect } from "@latentflow/queue";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT, main } from "./cli.js";

const REDIS = process.env.LATENTFLOW_TEST_REDIS ?? "redis://127.0.0.1:6379";
const appDir = fileURLToPath(new URL("..", import.meta.url));
const bin = join(appDir, "dist", "bin.js");
const prefix = `lftest-cli-dash-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

describe("latentflow dashboard", () => {
  afterAll(async () => {
    const r = connect(REDIS);
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== "0");
    await r.quit();
  });

  it("--help lists its options", async () => {
    let help = "";
    const code = await main(["dashboard", "--help"], { stdout: (s) => (help += s), stderr: (s) => (help += s) });
    expect(code).toBe(EXIT.ok);
    for (const o of ["--redis <url>", "--prefix <prefix>", "--host <host>", "--port <port>", "--queues <names>", "--read-only"]) expect(help).toContain(o);
    expect(help).toMatch(/127\.0\.0\.1/);
  });

  it("needs --redis", async () => {
    let err = "";
    const saved = process.env.LATENTFLOW_REDIS;
    delete process.env.LATENTFLOW_REDIS;
    try {
      const code = await main(["dashboard"], { stdout: () => {}, stderr: (s) => (err += s) });
      expect(code).toBe(EXIT.invalid);
      expect(err).toContain("E_REDIS_URL");
    } finally {
      if (saved !== undefined) process.env.LATENTFLOW_REDIS = saved;
    }
  });

  it("serves the fleet's queues on 127.0.0.1 and stops cleanly on SIGTERM", async () => {
    const r = connect(REDIS);
    const q = new Queue("gpu", { connection: r, prefix });
    await q.add("step", { v: 1 }, { jobId: "run1.encode" });
    await q.close();
    await r.quit();

    const child = spawn(process.execPath, [bin, "dashboard", "--redis", REDIS, "--prefix", prefix, "--port", "0"], { cwd: appDir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    try {
      const end = Date.now() + 30_000;
      while (!/dashboard http:\/\/127\.0\.0\.1:\d+\//.test(out)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`dashboard did not start:\n${out}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      const url = out.match(/dashboard (http:\/\/127\.0\.0\.1:\d+\/)/)![1]!;
      expect(out).toContain("queues: gpu");
      expect(out).not.toContain("no authentication");
      expect((await fetch(url)).status).toBe(200);
      const api = (await (await fetch(`${url}api/queues`)).json()) as { queues: { name: string; counts: Record<string, number> }[] };
      expect(api.queues.map((x) => x.name)).toEqual(["gpu"]);
      expect(api.queues[0]!.counts.waiting).toBe(1);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("takes its token from $LATENTFLOW_DASHBOARD_TOKEN and refuses requests without it", async () => {
    const token = "cli-token-0123456789abcdef";
    const child = spawn(process.execPath, [bin, "dashboard", "--redis", REDIS, "--prefix", prefix, "--port", "0"], {
      cwd: appDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LATENTFLOW_DASHBOARD_TOKEN: token },
    });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    try {
      const end = Date.now() + 30_000;
      while (!/dashboard http:\/\/127\.0\.0\.1:\d+\//.test(out)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`dashboard did not start:\n${out}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      const url = out.match(/dashboard (http:\/\/127\.0\.0\.1:\d+\/)/)![1]!;
      expect(out).toMatch(/token required/);
      expect(out).not.toContain(token);
      const refused = await fetch(`${url}api/queues`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { code: string }).code).toBe("E_TOKEN");
      expect((await fetch(`${url}api/queues`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
