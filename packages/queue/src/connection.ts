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
    // ioredis destroys a socket that has not closed this long after a disconnect, by a timer that stays set
    // even when the socket was closed already (a refused connection): at 2 s, every exit waited that long.
    disconnectTimeout: 200,
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

/** Socket errors that mean nothing answers at the address (as opposed to a server that refuses us). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ECONNRESET", "EPIPE"]);

/**
 * A coded error for a failed connection to Redis at `where` (a URL without credentials): E_REDIS_UNREACHABLE
 * (nothing answers), E_REDIS_AUTH (wrong or missing password or user), E_REDIS_TLS, or E_REDIS (anything else
 * the server said), each with a hint. A LatentflowError is returned as it is.
 */
export function redisConnectionError(e: unknown, where: string): LatentflowError {
  if (e instanceof LatentflowError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const text = err.message;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH.*without any password|called without any password/i.test(text)) {
    return new LatentflowError("E_REDIS_AUTH", `Redis at ${where} refused our credentials: ${text}`, {
      hint: "put the password in the URL, redis://:password@host:port (user:password@ for an ACL user), in --redis or LATENTFLOW_REDIS",
      data: { redis: where },
    });
  }
  if (/NOPERM/.test(text)) {
    return new LatentflowError("E_REDIS_AUTH", `Redis at ${where}: the user may not run a command Latentflow needs: ${text}`, {
      hint: "grant the user +@all on the deployment's keys (~<prefix>:*) and channels, or use another user",
      data: { redis: where },
    });
  }
  if (code.startsWith("ERR_TLS") || /certificate|SSL|TLS|wrong version number/i.test(`${code} ${text}`)) {
    return new LatentflowError("E_REDIS_TLS", `TLS with Redis at ${where} failed: ${text}`, {
      hint: "rediss:// needs a TLS port and a certificate Node trusts (NODE_EXTRA_CA_CERTS); redis:// is plain TCP",
      data: { redis: where },
    });
  }
  if (/Protocol error/i.test(text)) {
    return new LatentflowError("E_REDIS_PROTOCOL", `what answers at ${where} is not Redis: ${text}`, {
      hint: "check the host and port in --redis (or LATENTFLOW_REDIS); a proxy or another server listens there",
      data: { redis: where },
    });
  }
  // A probe that heard nothing before its deadline ("no answer within …") found nothing there either.
  if (UNREACHABLE.has(code) || /timed? ?out|no answer within|Connection is closed|connect E/i.test(text)) {
    return new LatentflowError("E_REDIS_UNREACHABLE", `no Redis answers at ${where}: ${text}`, {
      hint: "start redis-server there, or point --redis (or LATENTFLOW_REDIS) at the fleet's Redis, e.g. redis://127.0.0.1:6379",
      data: { redis: where },
    });
  }
  return new LatentflowError("E_REDIS", `Redis at ${where}: ${text}`, { hint: "see the Redis server's log", data: { redis: where } });
}

/** True for errors a reconnect cannot mend: the server refuses who we are. */
export function isAuthError(e: unknown): boolean {
  return e instanceof Error && /WRONGPASS|NOAUTH|invalid password|invalid username-password|called without any password/i.test(e.message);
}

/**
 * How long a start-up waits for Redis to answer: `LATENTFLOW_REDIS_WAIT` seconds (e.g. for a fleet whose Redis
 * starts beside it), default 3.
 */
export function startupWaitMs(): number {
  const s = Number(process.env.LATENTFLOW_REDIS_WAIT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 3_000;
}

/**
 * Checks that Redis answers at `target` and accepts our credentials, within `timeoutMs` (default `startupWaitMs()`), trying
 * again meanwhile while nothing answers (a Redis just starting). Throws a coded error (see
 * `redisConnectionError`), or E_CANCELLED when `signal` aborts first. Long-lived clients wait through a Redis
 * restart; this is what tells a wrong address or password from a restart, at start-up.
 */
export async function probeRedis(target: RedisTarget, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const where = describeRedis(target);
  const timeoutMs = options.timeoutMs ?? startupWaitMs();
  const deadline = Date.now() + timeoutMs;
  const signal = options.signal;
  const cancelled = () => new LatentflowError("E_CANCELLED", `cancelled while connecting to Redis at ${where}`);
  let last: unknown;
  while (true) {
    if (signal?.aborted) throw cancelled();
    const left = deadline - Date.now();
    if (left <= 0) throw redisConnectionError(last ?? new Error(`no answer within ${timeoutMs} ms`), where);
    const client = new Redis({ ...redisOptions(target), lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: Math.max(100, left), disconnectTimeout: 10 });
    let seen: unknown;
    client.on("error", (e) => (seen = e));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const stop = new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), left);
        onAbort = () => rej(cancelled());
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      await Promise.race([client.connect().then(() => client.ping()), stop]);
      return;
    } catch (e) {
      if (e instanceof LatentflowError) throw e;
      // ioredis reports a refused AUTH as "Connection is closed" on connect; the error event has the reason.
      const reason = isAuthError(seen) ? seen : isAuthError(e) ? e : (seen ?? e);
      const coded = redisConnectionError(reason, where);
      if (coded.code !== "E_REDIS_UNREACHABLE") throw coded;
      last = reason;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * Closes a client: QUIT when connected (bounded: a Redis that stops answering gets `boundMs`), else at once;
 * a QUIT sent to a Redis that is not there would wait for it forever.
 */
export async function closeClient(client: Redis, boundMs = 2_000): Promise<void> {
  if (client.status !== "ready") return client.disconnect();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.quit().catch(() => {}), new Promise((r) => (timer = setTimeout(r, boundMs)))]);
  clearTimeout(timer);
  client.disconnect();
}
