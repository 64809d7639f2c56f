import { Redis, type RedisOptions } from "ioredis";
import { LatentflowError } from "@latentflow/core";

/** How to reach Redis: a URL (`redis://`, `rediss://` for TLS, with user/password) or ioredis options. */
export type RedisTarget = string | RedisOptions;

/** The default key prefix; one per deployment keeps several fleets apart on one Redis. */
export const DEFAULT_PREFIX = "lf";

/**
 * Turns a Redis URL into ioredis options fit for BullMQ: `maxRetriesPerRequest: null` (commands wait
 * through a Redis restart instead of failing), a reconnect backoff capped at 2 s, a 10 s connect timeout,
 * and TLS for `rediss://`. The password never appears in `describe()`.
 */
export function redisOptions(target: RedisTarget): RedisOptions {
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: 10_000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  };
  if (typeof target !== "string") return { ...base, ...target, maxRetriesPerRequest: null };
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new LatentflowError("E_REDIS_URL", `expected a Redis URL like redis://host:6379 or rediss://:password@host:6380/0, found '${target}'`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new LatentflowError("E_REDIS_URL", `expected a redis:// or rediss:// URL, found '${url.protocol}//…'`, { hint: "use rediss:// for TLS" });
  }
  const db = url.pathname.length > 1 ? Number.parseInt(url.pathname.slice(1), 10) : 0;
  if (!Number.isInteger(db) || db < 0) throw new LatentflowError("E_REDIS_URL", `the database in a Redis URL is a number, found '${url.pathname.slice(1)}'`);
  return {
    ...base,
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number(url.port) : 6379,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === "rediss:" ? { tls: { servername: url.hostname } } : {}),
  };
}

/** A URL for messages and records, without credentials. */
export function describeRedis(target: RedisTarget): string {
  const o = redisOptions(target);
  return `${o.tls ? "rediss" : "redis"}://${o.host ?? "127.0.0.1"}:${o.port ?? 6379}/${o.db ?? 0}`;
}

/**
 * True for the error ioredis gives the unanswered commands of a pipeline or MULTI/EXEC when the connection
 * drops under it (`AbortError: Command aborted due to connection close`). Single commands are sent again
 * once ioredis has reconnected, so they wait through a Redis restart; a pipeline cut after its first replies
 * is not, whatever `maxRetriesPerRequest` says.
 */
export function isAbortedByDisconnect(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError" && typeof (e as { command?: unknown }).command === "object";
}

/**
 * Runs `fn` again (up to `tries` times in all) when a dropped connection aborted its pipeline or
 * transaction; the new attempt's commands wait for the reconnect like any other. Only for `fn` that can run
 * twice: the aborted commands may have run on the server before it went away.
 */
export async function retryAborted<T>(fn: () => Promise<T>, tries = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= tries || !isAbortedByDisconnect(e)) throw e;
    }
  }
}

/** A new ioredis client for `target`. */
export function connect(target: RedisTarget): Redis {
  return new Redis(redisOptions(target));
}

/** Checks a key prefix: Redis keys are built from it and BullMQ forbids ':' inside queue names. */
export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.{}-]+$/.test(prefix)) {
    throw new LatentflowError("E_PREFIX", `a key prefix is letters, digits and _ . - { }, found '${prefix}'`);
  }
  return prefix;
}
