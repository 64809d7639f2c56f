import { describe, expect, it } from "vitest";
import { describeRedis, isAbortedByDisconnect, redisConnectionError, redisOptions, retryAborted } from "./connection.js";
import { decodeFailure, encodeFailure } from "./executor/job.js";

describe("Redis connection options", () => {
  it("reads user, password, db and TLS from a URL, and keeps BullMQ's required setting", () => {
    const o = redisOptions("rediss://worker:p%40ss@redis.example:6380/2");
    expect(o).toMatchObject({ host: "redis.example", port: 6380, db: 2, username: "worker", password: "p@ss", tls: { servername: "redis.example" }, maxRetriesPerRequest: null });
    expect(redisOptions("redis://localhost").tls).toBeUndefined();
    expect(describeRedis("rediss://:secret@redis.example:6380/2")).toBe("rediss://redis.example:6380/2");
  });

  it("refuses what is not a Redis URL, with a code", () => {
    expect(() => redisOptions("http://x")).toThrow(expect.objectContaining({ code: "E_REDIS_URL" }));
    expect(() => redisOptions("not a url")).toThrow(expect.objectContaining({ code: "E_REDIS_URL" }));
  });
});

describe("pipelines cut by a dropped connection", () => {
  const aborted = () => Object.assign(new Error("Command aborted due to connection close"), { name: "AbortError", command: { name: "exec", args: [] } });

  it("are sent again; other errors, and a signal's AbortError, are not", async () => {
    let calls = 0;
    expect(await retryAborted(async () => (++calls < 3 ? Promise.reject(aborted()) : "ok"))).toBe("ok");
    expect(calls).toBe(3);
    const signalAbort = new DOMException("stop", "AbortError");
    expect(isAbortedByDisconnect(signalAbort)).toBe(false);
    calls = 0;
    await expect(retryAborted(async () => {
      calls++;
      throw signalAbort;
    })).rejects.toBe(signalAbort);
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryAborted(async () => {
      calls++;
      throw aborted();
    }, 4)).rejects.toMatchObject({ name: "AbortError" });
    expect(calls).toBe(4);
  });
});

describe("job failures", () => {
  it("round-trip code, message and hint through BullMQ's failedReason", () => {
    expect(decodeFailure(encodeFailure("E_ITEM_REJECTED", "item 3 failed:\nv=3", "set 'onError: skip'"))).toEqual({ code: "E_ITEM_REJECTED", message: "item 3 failed:\nv=3", hint: "set 'onError: skip'" });
    expect(decodeFailure("boom")).toEqual({ code: "E_STEP_FAILED", message: "boom" });
    const full = { code: "E_X", message: "two\nlines", hint: "do this\nthen that", data: { index: 3, id: "a\nb", nested: { list: [1, "x"] } } };
    expect(decodeFailure(encodeFailure(full))).toEqual(full);
    expect(decodeFailure(encodeFailure({ code: "E_X", message: "m", data: { k: 1 } }))).toEqual({ code: "E_X", message: "m", data: { k: 1 } });
  });
});

describe("Redis connection errors", () => {
  it("names a refused connection and a start-up probe that heard nothing before its deadline alike: E_REDIS_UNREACHABLE", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    for (const e of [refused, new Error("no answer within 3000 ms")]) {
      const coded = redisConnectionError(e, "redis://127.0.0.1:1/0");
      expect(coded.code).toBe("E_REDIS_UNREACHABLE");
      expect(coded.message).toMatch(/^no Redis answers at redis:\/\/127\.0\.0\.1:1\/0/);
      expect(coded.hint).toMatch(/start redis-server/);
    }
    expect(redisConnectionError(new Error("WRONGPASS invalid username-password pair"), "redis://h:1/0").code).toBe("E_REDIS_AUTH");
  });
});
