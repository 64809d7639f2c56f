import { request } from "node:http";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REDIS_URL, dropPrefix, uniquePrefix } from "../test-support.js";
import { TOKEN_COOKIE, startDashboard, type Dashboard } from "./dashboard.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with headers fetch will not forge (Host), to 127.0.0.1. */
function raw(d: Dashboard, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; noHost?: boolean } = {}): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port: d.port, path, method: opts.method ?? "GET", headers: opts.headers ?? {}, setHost: !opts.noHost }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", fail);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

describe("dashboard front door: Host, Origin, token", () => {
  const prefix = uniquePrefix("dash-guard");
  let queue: Queue;
  let d: Dashboard;
  beforeAll(async () => {
    const u = new URL(REDIS_URL);
    queue = new Queue("default", { connection: { host: u.hostname, port: Number(u.port || 6379) }, prefix });
    await queue.add("step", { secret: "job-data" }, { jobId: "run1.a" });
    d = await startDashboard({ redis: REDIS_URL, prefix, port: 0 });
  });
  afterAll(async () => {
    await d.close();
    await queue.close();
    await dropPrefix(REDIS_URL, prefix);
  });

  it("refuses a forged Host (DNS rebinding) before showing any job data", async () => {
    // (Node's parser itself answers 400 to a Host like "localhost@evil.example".)
    expect((await raw(d, "/api/queues", { headers: { Host: "localhost@evil.example" } })).status).toBe(400);
    for (const host of [`evil.example:${d.port}`, "evil.example", `127.0.0.1.evil.example:${d.port}`, "[::2]", "10.1.2.3"]) {
      const r = await raw(d, "/api/queues", { headers: { Host: host } });
      expect(r.status, host).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ code: "E_HOST" });
      expect(r.body).not.toContain("job-data");
    }
    expect((await raw(d, "/api/queues", { noHost: true })).status).toBe(400); // HTTP/1.1 without Host: refused by Node
    for (const host of [`127.0.0.1:${d.port}`, `localhost:${d.port}`, `LOCALHOST:${d.port}`]) {
      const r = await raw(d, "/api/queues", { headers: { Host: host } });
      expect(r.status, host).toBe(200);
      expect(r.body).toContain('"name":"default"');
    }
  });

  it("refuses state changes from another origin; the page's own origin may pause and resume", async () => {
    const self = `127.0.0.1:${d.port}`;
    const forged: Record<string, string>[] = [
      { Host: self, Origin: "http://evil.example" },
      { Host: self, Origin: `http://evil.example:${d.port}` },
      { Host: self, Origin: "http://127.0.0.1:1" },
      { Host: self, Origin: "null" },
      { Host: self, "Sec-Fetch-Site": "cross-site" },
    ];
    for (const headers of forged) {
      const r = await raw(d, "/api/queues/default/pause", { method: "PUT", headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ code: "E_ORIGIN" });
    }
    expect(await queue.isPaused()).toBe(false);
    const ok = await raw(d, "/api/queues/default/pause", { method: "PUT", headers: { Host: self, Origin: `http://${self}` } });
    expect(ok.status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    expect((await raw(d, "/api/queues/default/resume", { method: "PUT", headers: { Host: self, Origin: `http://localhost:${d.port}`, "Sec-Fetch-Site": "same-origin" } })).status).toBe(200);
    expect(await queue.isPaused()).toBe(false);
  });

  it("bounds request bodies", async () => {
    const r = await raw(d, "/api/queues/default/add", { method: "POST", headers: { "Content-Type": "application/json" }, body: Buffer.alloc(2 << 20, 0x20) });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ code: "E_TOO_LARGE" });
  });

  it("answers to allowed host names when configured", async () => {
    const e = await startDashboard({ redis: REDIS_URL, prefix, port: 0, allowedHosts: ["dash.internal"] });
    try {
      expect((await raw(e, "/api/queues", { headers: { Host: `dash.internal:${e.port}` } })).status).toBe(200);
      expect((await raw(e, "/api/queues", { headers: { Host: `evil.example:${e.port}` } })).status).toBe(403);
    } finally {
      await e.close();
    }
  });

  it("with a token, needs it on every request: bearer header, or the cookie set by opening ?token= once", async () => {
    const token = "s3cret-token-0123456789abcdef";
    const t = await startDashboard({ redis: REDIS_URL, prefix, port: 0, token });
    try {
      const bad: Record<string, string>[] = [{}, { Authorization: "Bearer wrong" }, { Authorization: `Basic ${token}` }, { Cookie: `${TOKEN_COOKIE}=wrong` }];
      for (const headers of bad) {
        const r = await raw(t, "/api/queues", { headers });
        expect(r.status, JSON.stringify(headers)).toBe(401);
        expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
        expect(JSON.parse(r.body)).toMatchObject({ code: "E_TOKEN" });
      }
      expect((await raw(t, "/?token=wrong")).status).toBe(401);
      expect((await raw(t, "/api/queues", { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
      const open = await raw(t, `/?token=${token}`);
      expect(open.status).toBe(303);
      expect(open.headers.location).toBe("/");
      const cookie = String(open.headers["set-cookie"]);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const withCookie = await raw(t, "/api/queues", { headers: { Cookie: cookie.split(";")[0]! } });
      expect(withCookie.status).toBe(200);
      // A token does not replace the Host check.
      expect((await raw(t, "/api/queues", { headers: { Host: "evil.example", Authorization: `Bearer ${token}` } })).status).toBe(403);
      await expect(startDashboard({ redis: REDIS_URL, prefix, port: 0, token: "" })).rejects.toMatchObject({ code: "E_OPTION" });
    } finally {
      await t.close();
    }
  });
});
