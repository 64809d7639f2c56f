import type { AddressInfo } from "node:net";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { createAdaptorServer } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { Queue } from "bullmq";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { Redis } from "ioredis";
import { LatentflowError } from "@latentflow/core";
import { DEFAULT_PREFIX, checkPrefix, describeRedis, redisOptions, type RedisTarget } from "../connection.js";
import { dashboardGuard, isLoopback } from "./guard.js";

export { TOKEN_COOKIE, isLoopback } from "./guard.js";

export interface DashboardOptions {
  /** Redis of the deployment. */
  redis: RedisTarget;
  /** Key prefix of the deployment (the fleet's `--prefix`). Default "lf". */
  prefix?: string;
  /** Interface to listen on. Default 127.0.0.1: the page has no authentication. */
  host?: string;
  /** Port; 0 picks a free one. Default 3000. */
  port?: number;
  /** Show exactly these queues instead of discovering them from Redis. */
  queues?: string[];
  /** Hide the buttons that change jobs and queues (retry, clean, pause, obliterate, …). */
  readOnly?: boolean;
  /** How long a discovered queue list is reused before Redis is scanned again (ms). Default 2000. */
  rescanMs?: number;
  /**
   * Host names the page answers to besides loopback names and the bound address (DNS-rebinding defence:
   * any other Host header is refused with 403). "*" turns the check off.
   */
  allowedHosts?: string[];
  /** When set, every request needs it: `Authorization: Bearer <token>`, or the page opened once as `/?token=<token>`. */
  token?: string;
  /** Largest request body accepted (bytes). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Where warnings go (binding beyond loopback). Default: stderr. */
  onWarning?: (message: string) => void;
}

export interface Dashboard {
  /** The page, e.g. http://127.0.0.1:3000/ */
  readonly url: string;
  /** The address the server is bound to (e.g. 127.0.0.1). */
  readonly host: string;
  readonly port: number;
  /** Queue names shown right now (after the last scan). */
  queues(): string[];
  /** Stops listening, closes open connections and the Redis client. */
  close(): Promise<void>;
}


/**
 * BullMQ queue names under `prefix`, found by scanning for their `<prefix>:<queue>:meta` hash (BullMQ
 * writes it with the first job). Latentflow's own keys (`<prefix>:run:<id>:meta`, `<prefix>:a:…`) have
 * more segments and never match; queue names cannot contain ':'.
 */
export async function discoverQueues(client: Redis, prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  const names = new Set<string>();
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*:meta`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      const parts = key.split(":");
      if (parts.length === 3 && parts[0] === prefix && parts[1]) names.add(parts[1]);
    }
  } while (cursor !== "0");
  return [...names].sort();
}

/**
 * Serves a bull-board page over every Latentflow queue of a deployment. Without `queues` the queue list
 * is rescanned (at most every `rescanMs`) whenever the page or its queue list is requested, so queues
 * that appear later show up on reload — and on the page's own polling.
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const host = opts.host ?? "127.0.0.1";
  const wantedPort = opts.port ?? 3000;
  const rescanMs = opts.rescanMs ?? 2_000;
  const fixed = opts.queues?.map((q) => q.trim()).filter(Boolean);
  for (const q of fixed ?? []) {
    if (q.includes(":")) throw new LatentflowError("E_QUEUE_NAME", `queue names cannot contain ':', found '${q}'`);
  }
  if (opts.token !== undefined && !/^[\x21-\x7e]+$/.test(opts.token)) {
    throw new LatentflowError("E_OPTION", "the dashboard token is printable characters without spaces, found an empty or unprintable one", { hint: "e.g. LATENTFLOW_DASHBOARD_TOKEN=$(openssl rand -hex 24)" });
  }
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`${m}\n`));

  // One client for every Queue: queues share a connection passed as an instance and do not close it.
  // Unlike workers, a page should fail a request rather than wait through a Redis outage: commands give
  // up after a few reconnect attempts (the client keeps reconnecting; the next reload works again).
  const client = new Redis({ ...redisOptions(opts.redis), maxRetriesPerRequest: 3 });
  client.on("error", () => {});
  const queues = new Map<string, Queue>();
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath("/");
  const board = createBullBoard({
    queues: [],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: `Latentflow · ${prefix}` } },
  });

  const show = (names: string[]) => {
    const wanted = new Set(names);
    for (const [name, q] of queues) {
      if (wanted.has(name)) continue;
      board.removeQueue(name);
      queues.delete(name);
      void q.close().catch(() => {});
    }
    for (const name of names) {
      if (queues.has(name)) continue;
      const q = new Queue(name, { connection: client, prefix });
      q.on("error", () => {});
      queues.set(name, q);
      board.addQueue(new BullMQAdapter(q, { readOnlyMode: opts.readOnly ?? false, description: `Latentflow queue (prefix ${prefix})` }));
    }
  };

  let scannedAt = 0;
  let scanning: Promise<void> | undefined;
  const refresh = async () => {
    if (fixed) return;
    if (Date.now() - scannedAt < rescanMs) return;
    scanning ??= discoverQueues(client, prefix)
      .then((names) => {
        show(names);
        scannedAt = Date.now();
      })
      .finally(() => {
        scanning = undefined;
      });
    await scanning;
  };

  try {
    if (fixed) {
      await client.ping();
      show(fixed);
    } else await refresh();
  } catch (e) {
    await closeAll();
    throw new LatentflowError("E_REDIS", `cannot list the queues in ${describeRedis(opts.redis)} (prefix ${prefix}): ${(e as Error).message}`, { hint: "check --redis and that Redis is up" });
  }

  const app = new Hono();
  let port = wantedPort;
  // Before anything else (and before any Redis work): Host, Origin, token, body size.
  app.use("*", dashboardGuard({ host, port: () => port, ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}), ...(opts.token ? { token: opts.token } : {}) }));
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  app.use("*", bodyLimit({ maxSize: maxBody, onError: (c) => c.json({ code: "E_TOO_LARGE", message: `request bodies are at most ${maxBody} bytes`, hint: "send a smaller body" }, 413) }));
  // The page and the queue list it polls are when the list of queues is refreshed.
  app.use("*", async (c, next) => {
    if (c.req.method === "GET" && (c.req.path === "/" || c.req.path === "/api/queues" || c.req.path.startsWith("/queue/"))) {
      // Redis unreachable: keep the last list; bull-board reports the error on its own requests.
      await refresh().catch(() => {});
    }
    await next();
  });
  app.route("/", adapter.registerPlugin());

  const server = createAdaptorServer({ fetch: app.fetch, hostname: host });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(new LatentflowError("E_LISTEN", `cannot listen on ${host}:${wantedPort}: ${e.code ?? e.message}`, { hint: e.code === "EADDRINUSE" ? "pick another --port (0 picks a free one)" : "check --host" }));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(wantedPort, host);
  }).catch(async (e) => {
    await closeAll();
    throw e;
  });

  const bound = server.address() as AddressInfo;
  port = bound.port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/`;
  if (opts.token && opts.token.length < 16) warn("warning: the dashboard token is shorter than 16 characters; a longer random one (openssl rand -hex 24) is hard to guess");
  if (!isLoopback(host) && opts.token) {
    warn(`warning: the dashboard listens on ${host}:${port}; requests need the token, which plain HTTP sends unencrypted: put it behind a TLS proxy, or bind to 127.0.0.1 and use an SSH tunnel.`);
  } else if (!isLoopback(host)) {
    warn(`warning: the dashboard listens on ${host}:${port} and has no authentication: anyone who reaches it can see job data${opts.readOnly ? "" : " and retry, remove or obliterate jobs and queues"} of ${describeRedis(opts.redis)}. Put it behind an authenticating proxy, or bind to 127.0.0.1 and use an SSH tunnel.`);
  }

  let closing: Promise<void> | undefined;
  async function closeAll(): Promise<void> {
    await Promise.allSettled([...queues.values()].map((q) => q.close()));
    queues.clear();
    await client.quit().catch(() => client.disconnect());
  }

  return {
    url,
    host: bound.address,
    port,
    queues: () => [...queues.keys()],
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // The page keeps connections alive (and polls): drop them so close() does not wait.
          if ("closeAllConnections" in server) server.closeAllConnections();
        });
        await closeAll();
      })();
      return closing;
    },
  };
}
