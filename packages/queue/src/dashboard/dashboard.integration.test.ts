import { connect as netConnect } from "node:net";
import { networkInterfaces } from "node:os";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REDIS_URL, dropPrefix, uniquePrefix } from "../test-support.js";
import { discoverQueues, isLoopback, startDashboard, type Dashboard } from "./dashboard.js";

interface QueuesResponse {
  queues: { name: string; counts: Record<string, number>; readOnlyMode: boolean }[];
}

async function apiQueues(d: Dashboard): Promise<QueuesResponse> {
  const res = await fetch(new URL("api/queues", d.url));
  expect(res.status).toBe(200);
  return (await res.json()) as QueuesResponse;
}

/** Resolves true when a TCP connection to host:port succeeds, false when it is refused or times out. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = netConnect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

describe("latentflow dashboard (bull-board)", () => {
  const prefix = uniquePrefix("dashboard");
  const redis = new Redis(REDIS_URL);
  const queues: Queue[] = [];
  const queue = (name: string) => {
    const q = new Queue(name, { connection: { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) }, prefix });
    queues.push(q);
    return q;
  };

  beforeAll(async () => {
    // Jobs as the executor enqueues them: ids `<run>.<step>` on queues named by resources.queue.
    await queue("default").addBulk([
      { name: "step", data: { v: 1 }, opts: { jobId: "run1.a" } },
      { name: "step", data: { v: 1 }, opts: { jobId: "run1.b" } },
    ]);
    await queue("gpu").add("step", { v: 1 }, { jobId: "run1.encode" });
    // Latentflow's own keys under the prefix are not queues.
    await redis.set(`${prefix}:run:run1:meta`, "{}");
    await redis.set(`${prefix}:run:run1`, "{}");
  });

  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await dropPrefix(REDIS_URL, prefix);
    redis.disconnect();
  });

  it("finds the queues under the prefix and nothing else", async () => {
    expect(await discoverQueues(redis, prefix)).toEqual(["default", "gpu"]);
  });

  it("serves the page and bull-board's queue API with every queue and its job counts, on 127.0.0.1 only", async () => {
    const warnings: string[] = [];
    const d = await startDashboard({ redis: REDIS_URL, prefix, port: 0, rescanMs: 0, onWarning: (m) => warnings.push(m) });
    try {
      expect(d.host).toBe("127.0.0.1");
      expect(d.port).toBeGreaterThan(0);
      expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
      expect(warnings).toEqual([]);

      const page = await fetch(d.url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toContain(`Latentflow · ${prefix}`);
      // The UI's script is served too (from @bull-board/ui).
      const script = html.match(/static\/js\/[^"']+\.js/)?.[0];
      expect(script).toBeTruthy();
      expect((await fetch(new URL(script!, d.url))).status).toBe(200);

      const { queues: shown } = await apiQueues(d);
      expect(shown.map((q) => q.name).sort()).toEqual(["default", "gpu"]);
      expect(shown.find((q) => q.name === "default")!.counts.waiting).toBe(2);
      expect(shown.find((q) => q.name === "gpu")!.counts.waiting).toBe(1);

      // A queue that appears later shows up on reload.
      await queue("cpu-big").add("step", { v: 1 }, { jobId: "run2.reduce" });
      const again = await apiQueues(d);
      expect(again.queues.map((q) => q.name).sort()).toEqual(["cpu-big", "default", "gpu"]);
      expect(again.queues.find((q) => q.name === "cpu-big")!.counts.waiting).toBe(1);

      // Bound to loopback only: the machine's other addresses refuse the connection.
      expect(await reachable("127.0.0.1", d.port)).toBe(true);
      const others = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a && a.family === "IPv4" && !a.internal)
        .map((a) => a!.address);
      for (const addr of others) expect(await reachable(addr, d.port)).toBe(false);
    } finally {
      await d.close();
    }
    // Closed: nothing listens any more.
    expect(await reachable("127.0.0.1", d.port)).toBe(false);
  });

  it("shows exactly --queues when given, read-only when asked", async () => {
    const d = await startDashboard({ redis: REDIS_URL, prefix, port: 0, queues: ["gpu"], readOnly: true });
    try {
      const { queues: shown } = await apiQueues(d);
      expect(shown.map((q) => q.name)).toEqual(["gpu"]);
      expect(shown[0]!.readOnlyMode).toBe(true);
      // Read-only is enforced by the server, not just hidden in the page.
      const pause = await fetch(new URL("api/queues/gpu/pause", d.url), { method: "PUT" });
      expect(pause.status).toBe(405);
      expect(await queues.find((q) => q.name === "gpu")!.isPaused()).toBe(false);
    } finally {
      await d.close();
    }
  });

  it("warns that the page has no authentication when bound beyond loopback", async () => {
    const warnings: string[] = [];
    const d = await startDashboard({ redis: REDIS_URL, prefix, host: "0.0.0.0", port: 0, onWarning: (m) => warnings.push(m) });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/no authentication/);
      expect((await fetch(`http://127.0.0.1:${d.port}/`)).status).toBe(200);
    } finally {
      await d.close();
    }
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0")).toBe(false);
    expect(isLoopback("10.0.0.5")).toBe(false);
  });

  it("fails at start when Redis cannot be reached, and says which", async () => {
    await expect(startDashboard({ redis: "redis://127.0.0.1:1", prefix, port: 0 })).rejects.toMatchObject({ code: "E_REDIS", message: expect.stringContaining("redis://127.0.0.1:1/0") });
  });

  it("reports a port already in use", async () => {
    const a = await startDashboard({ redis: REDIS_URL, prefix, port: 0 });
    try {
      await expect(startDashboard({ redis: REDIS_URL, prefix, port: a.port })).rejects.toMatchObject({ code: "E_LISTEN" });
    } finally {
      await a.close();
    }
  });
});
