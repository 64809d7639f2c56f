import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { describeArtifactStoreContract } from "@latentflow/contract-tests";
import { buildManifest } from "@latentflow/core";
import { dropPrefix, REDIS_URL, uniquePrefix } from "../test-support.js";
import { RedisArtifactStore } from "./redis-store.js";

const raw = new Redis(REDIS_URL);
afterAll(() => raw.quit());

describeArtifactStoreContract("RedisArtifactStore", async () => {
  const prefix = uniquePrefix("store");
  const store = new RedisArtifactStore({ redis: REDIS_URL, prefix, chunkBytes: 1024 * 1024 });
  return {
    store,
    async corrupt(key, name) {
      const [first] = await store.dataKeys(key, name);
      await raw.set(first!, "tampered");
    },
    async cleanup() {
      await store.close();
      await dropPrefix(REDIS_URL, prefix);
    },
  };
});

describe("RedisArtifactStore specifics", () => {
  const key = "ab".repeat(32);

  it("splits files into chunks and streams them back verified", async () => {
    const prefix = uniquePrefix("chunks");
    const store = new RedisArtifactStore({ redis: REDIS_URL, prefix, chunkBytes: 1000 });
    try {
      const data = randomBytes(4500);
      await store.put(key, "tensor", { "t.bin": data });
      expect(await store.dataKeys(key, "t.bin")).toHaveLength(5);
      const parts: Uint8Array[] = [];
      for await (const c of store.readStream(key, "t.bin")) parts.push(c);
      expect(Buffer.compare(Buffer.concat(parts), data)).toBe(0);
    } finally {
      await store.close();
      await dropPrefix(REDIS_URL, prefix);
    }
  });

  it("a replacing put leaves none of the old artifact's chunks behind, small or large", async () => {
    const prefix = uniquePrefix("replace");
    const store = new RedisArtifactStore({ redis: REDIS_URL, prefix, chunkBytes: 1000 });
    const chunksOf = async (k: string) => (await raw.keys(`${prefix}:a:${k}:*`)).sort();
    try {
      for (const [k, size] of [["d1".repeat(32), 2500], ["d2".repeat(32), 300 * 1024]] as const) {
        await store.put(k, "tensor", { "t.bin": randomBytes(size) });
        const before = await chunksOf(k);
        expect(before).toHaveLength(Math.ceil(size / 1000));
        const data = randomBytes(size);
        await store.put(k, "tensor", { "t.bin": data }, undefined, { replace: true });
        const after = await chunksOf(k);
        expect(after).toHaveLength(before.length);
        expect(after.filter((x) => before.includes(x))).toEqual([]);
        expect(Buffer.compare(Buffer.from(await store.read(k, "t.bin")), data)).toBe(0);
      }
      // putMany replaces too.
      const k = "d1".repeat(32);
      const [m] = await store.putMany([{ key: k, type: "json", files: { "v.json": Buffer.from("[9]") }, replace: true }]);
      expect(Buffer.from(await store.read(k, "v.json")).toString()).toBe("[9]");
      expect((await store.stat(k))?.hash).toBe(m!.hash);
      expect(await chunksOf(k)).toHaveLength(1);
    } finally {
      await store.close();
      await dropPrefix(REDIS_URL, prefix);
    }
  });

  it("puts many small artifacts in one round trip, first writer wins for each", async () => {
    const prefix = uniquePrefix("many");
    const store = new RedisArtifactStore({ redis: REDIS_URL, prefix, chunkBytes: 1000 });
    try {
      const k1 = "c1".repeat(32);
      const first = await store.put(k1, "json", { "v.json": Buffer.from("[1]") });
      const [a, b, c] = await store.putMany([
        { key: k1, type: "json", files: { "v.json": Buffer.from("[2]") } },
        { key: "c2".repeat(32), type: "json", files: { "v.json": Buffer.alloc(2500, 7) } },
        { key: "c3".repeat(32), type: "tensor", files: { "t.bin": randomBytes(300 * 1024) } }, // too big for one script: put alone
      ]);
      expect(a!.hash).toBe(first.hash);
      expect(Buffer.from(await store.read(k1, "v.json")).toString()).toBe("[1]");
      expect(await store.dataKeys(b!.key, "v.json")).toHaveLength(3);
      expect((await store.read(b!.key, "v.json")).byteLength).toBe(2500);
      expect((await store.stat(c!.key))?.hash).toBe(c!.hash);
      expect(await store.hasMany([k1, "c4".repeat(32), c!.key])).toEqual([true, false, true]);
      // A manifest built elsewhere is taken as it is only when it describes the files given.
      const files = { "v.json": Buffer.from("[5]") };
      const k5 = "c5".repeat(32);
      const built = buildManifest(k5, "json", files);
      const [d] = await store.putMany([{ key: k5, type: "json", files, manifest: { ...built, files: [{ ...built.files[0]!, size: 99 }] } }]);
      expect(d!.hash).toBe(built.hash);
      expect(d!.files[0]!.size).toBe(3);
      expect(Buffer.from(await store.read(k5, "v.json")).toString()).toBe("[5]");
    } finally {
      await store.close();
      await dropPrefix(REDIS_URL, prefix);
    }
  });

  it("leaves no chunks of a losing writer, and applies the retention TTL to every key", async () => {
    const prefix = uniquePrefix("ttl");
    const store = new RedisArtifactStore({ redis: REDIS_URL, prefix, chunkBytes: 1000, ttlSeconds: 600 });
    try {
      await Promise.all([1, 2, 3].map((i) => store.put(key, "json", { "v.json": Buffer.alloc(2500, i) })));
      const keys = await raw.keys(`${prefix}:a:*`);
      expect(keys).toHaveLength(1 + 3); // the manifest and the winner's three chunks
      for (const k of keys) expect(await raw.ttl(k)).toBeGreaterThan(500);
      const manifestTtl = await raw.ttl(`${prefix}:a:${key}`);
      const chunkTtl = await raw.ttl((await store.dataKeys(key, "v.json"))[0]!);
      expect(chunkTtl).toBeGreaterThan(manifestTtl); // chunks outlive the manifest: an artifact expires whole
    } finally {
      await store.close();
      await dropPrefix(REDIS_URL, prefix);
    }
  });
});
