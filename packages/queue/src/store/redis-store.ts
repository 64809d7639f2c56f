import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { LatentflowError, buildManifest, corruptArtifact, verifyFile, type ArtifactManifest, type ArtifactStore, type PortType, type PutItem, type PutOptions, type StoreLocator } from "@latentflow/core";
import { closeClient, checkPrefix, connect, DEFAULT_PREFIX, describeRedis, retryAborted, type RedisTarget } from "../connection.js";
import { luaScript } from "../lua.js";

const KEY = /^[a-f0-9]{16,128}$/;
/** Chunks of a writer that never committed expire after this long. */
const PENDING_TTL_S = 3600;
/** With a retention TTL, chunks outlive their manifest by this much, so an artifact expires whole. */
const CHUNK_GRACE_S = 300;
/** Artifacts up to this size are stored by one script call (chunks and manifest at once, no prior lookup). */
const SMALL_PUT_BYTES = 256 * 1024;
/** Upload ids of small puts: unique per process without a call to the random source each time. */
const UPLOAD_BASE = randomBytes(4).toString("hex");
let uploads = 0;

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new LatentflowError("E_ARTIFACT_KEY", `artifact keys are lowercase hex (16–128 chars), found '${key}'`);
}

/** True when `m` names exactly this key, type and files (plain names, sizes); file hashes are checked on read. */
function describes(m: ArtifactManifest, key: string, type: PortType, files: Record<string, Uint8Array>): boolean {
  const names = Object.keys(files).sort();
  if (m.key !== key || m.type !== type || m.files.length !== names.length) return false;
  // Plain names only (anything else goes through buildManifest's own checks).
  const plain = (n: string) => /^[A-Za-z0-9._-]+$/.test(n) && n !== "." && n !== "..";
  return m.files.every((f, i) => f.name === names[i] && plain(f.name) && f.size === files[f.name]!.byteLength && /^[a-f0-9]{64}$/.test(f.sha256)) && /^[a-f0-9]{64}$/.test(m.hash);
}

/** The manifest as stored: the public manifest plus where its chunks are. */
interface StoredManifest extends ArtifactManifest {
  upload: string;
  chunks: number[];
}

export interface RedisArtifactStoreOptions {
  /** A Redis URL or options, or a client to share (not closed by `close()`). */
  redis: RedisTarget | Redis;
  /** Key prefix of the deployment; artifacts live under `<prefix>:a:`. Default "lf". */
  prefix?: string;
  /** Size of the chunks large files are split into. Default 4 MiB. */
  chunkBytes?: number;
  /**
   * Retention: when set, an artifact expires this many seconds after it was last written or read
   * (reads refresh it). Unset (the default): artifacts stay until deleted.
   */
  ttlSeconds?: number;
}

type Commands = Redis & {
  lfCommitArtifact(manifestKey: string, indexKey: string, ...args: (string | number)[]): Promise<string>;
  lfDeleteArtifact(manifestKey: string, indexKey: string, ...args: string[]): Promise<number>;
  lfTouchArtifact(manifestKey: string, ...args: (string | number)[]): Promise<number>;
  /** 1 when it wrote the artifact, else the manifest JSON already stored. */
  lfPutArtifact(manifestKey: string, indexKey: string, ...args: (string | number | Buffer)[]): Promise<1 | string>;
};

/**
 * Artifacts in Redis, shared by every worker of a fleet. Files are split into chunks written under a
 * key private to the writer; the manifest is published last, atomically and only if absent (first
 * writer wins), so readers never see half an artifact and a job delivered twice stores one artifact.
 * Reads check every file against its recorded sha256.
 */
export class RedisArtifactStore implements ArtifactStore {
  readonly kind = "redis";
  readonly location: string;
  readonly prefix: string;
  readonly ttlSeconds: number;
  private readonly redis: Commands;
  private readonly owned: boolean;
  private readonly chunkBytes: number;

  constructor(options: RedisArtifactStoreOptions) {
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    this.chunkBytes = options.chunkBytes ?? 4 * 1024 * 1024;
    this.ttlSeconds = options.ttlSeconds ?? 0;
    const isClient = typeof options.redis === "object" && typeof (options.redis as Redis).duplicate === "function";
    const client = isClient ? (options.redis as Redis) : connect(options.redis as RedisTarget);
    this.owned = !isClient;
    // An owned client reconnects by itself (commands wait meanwhile); its errors need no crash.
    if (this.owned) client.on("error", () => {});
    this.location = `${isClient ? `redis://${client.options.host}:${client.options.port}/${client.options.db ?? 0}` : describeRedis(options.redis as RedisTarget)} (prefix ${this.prefix})`;
    for (const [name, file, keys] of [["lfCommitArtifact", "commit-artifact", 2], ["lfDeleteArtifact", "delete-artifact", 2], ["lfTouchArtifact", "touch-artifact", 1], ["lfPutArtifact", "put-artifact", 2]] as const) {
      if (!(name in client)) client.defineCommand(name, { numberOfKeys: keys, lua: luaScript(file) });
    }
    this.redis = client as Commands;
  }

  /** `{ kind: "redis", prefix, ttlSeconds }`: a fleet worker opens the same store on its own connection. */
  locator(): StoreLocator {
    return { kind: "redis", prefix: this.prefix, ttlSeconds: this.ttlSeconds };
  }

  private manifestKey(key: string): string {
    return `${this.prefix}:a:${key}`;
  }

  private indexKey(): string {
    return `${this.prefix}:artifacts`;
  }

  private chunkKeys(m: Pick<StoredManifest, "key" | "upload" | "chunks">, fileIndex?: number): string[] {
    const out: string[] = [];
    m.chunks.forEach((n, f) => {
      if (fileIndex !== undefined && f !== fileIndex) return;
      for (let c = 0; c < n; c++) out.push(`${this.prefix}:a:${m.key}:${m.upload}:${f}:${c}`);
    });
    return out;
  }

  /** The Redis keys holding one file's chunks; for tools and tests that inspect the store. */
  async dataKeys(key: string, name: string): Promise<string[]> {
    const m = await this.statStored(key);
    const f = m?.files.findIndex((x) => x.name === name) ?? -1;
    return m && f >= 0 ? this.chunkKeys(m, f) : [];
  }

  private async statStored(key: string): Promise<StoredManifest | undefined> {
    checkKey(key);
    const raw = await this.redis.get(this.manifestKey(key));
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as StoredManifest;
    } catch (e) {
      throw corruptArtifact({ key }, "manifest", this.location, `the manifest is not JSON (${(e as Error).message})`);
    }
  }

  private publicManifest(m: StoredManifest): ArtifactManifest {
    const { upload: _u, chunks: _c, ...pub } = m;
    return pub;
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    return (await this.redis.exists(this.manifestKey(key))) === 1;
  }

  /** `has` for many keys in one round trip. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    if (!keys.length) return [];
    for (const key of keys) checkKey(key);
    return retryAborted(async () => {
      const pipe = this.redis.pipeline();
      for (const key of keys) pipe.exists(this.manifestKey(key));
      const res = (await pipe.exec()) ?? [];
      return keys.map((_, i) => {
        const [err, n] = res[i] ?? [new Error("no reply"), 0];
        if (err) throw err;
        return n === 1;
      });
    });
  }

  async stat(key: string): Promise<ArtifactManifest | undefined> {
    const m = await this.statStored(key);
    if (m && this.ttlSeconds) await this.touch(m);
    return m && this.publicManifest(m);
  }

  async put(key: string, type: PortType, files: Record<string, Uint8Array>, info?: Record<string, unknown>, options?: PutOptions): Promise<ArtifactManifest> {
    checkKey(key);
    const replace = options?.replace ?? false;
    let total = 0;
    for (const bytes of Object.values(files)) total += bytes.byteLength;
    if (total <= SMALL_PUT_BYTES) return this.putSmall(key, type, files, info, replace);
    if (!replace) {
      const existing = await this.stat(key);
      if (existing) return existing;
    }
    const manifest = buildManifest(key, type, files, info); // checks file names before anything is written
    const stored: StoredManifest = {
      ...manifest,
      upload: randomBytes(6).toString("hex"),
      chunks: manifest.files.map((f) => Math.max(1, Math.ceil(f.size / this.chunkBytes))),
    };
    const keys = this.chunkKeys(stored);
    let k = 0;
    for (const f of manifest.files) {
      const bytes = files[f.name]!;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const n = stored.chunks[manifest.files.indexOf(f)]!;
      // One pipeline per file: chunks stream to Redis without a round trip each (sent again whole if a
      // dropped connection cuts it: the chunks are this upload's own).
      const first = k;
      k += n;
      await retryAborted(async () => {
        const pipe = this.redis.pipeline();
        for (let c = 0; c < n; c++) pipe.set(keys[first + c]!, buf.subarray(c * this.chunkBytes, (c + 1) * this.chunkBytes), "EX", PENDING_TTL_S);
        const results = await pipe.exec();
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
      });
    }
    const json = JSON.stringify(stored);
    const winner = await this.redis.lfCommitArtifact(this.manifestKey(key), this.indexKey(), json, key, this.ttlSeconds, CHUNK_GRACE_S, replace ? "replace" : "keep", ...keys);
    if (winner === json) return manifest;
    // Another writer published first: its artifact stands, ours goes.
    if (keys.length) await this.redis.del(...keys);
    return this.publicManifest(JSON.parse(winner) as StoredManifest);
  }

  /** A small artifact: one round trip, the script checks for an existing artifact and writes it all at once. */
  private async putSmall(key: string, type: PortType, files: Record<string, Uint8Array>, info: Record<string, unknown> | undefined, replace: boolean): Promise<ArtifactManifest> {
    const p = this.prepareSmall(key, type, files, info, undefined, replace);
    return this.settleSmall(p, await this.redis.lfPutArtifact(this.manifestKey(key), this.indexKey(), ...p.args));
  }

  /**
   * `put` for many small artifacts (up to 256 KiB each) in one round trip; larger ones are put one by one.
   * Same guarantees as `put`: each is atomic and first-writer-wins, and each result is the stored manifest.
   * An item may bring the manifest `buildManifest` made of its files elsewhere (a worker that handed the
   * files back): it is used as it is when it names the same key, type and files (names and sizes) — reads
   * still check every file's sha256 against it. An item with `replace` replaces what is stored, as `put` does.
   */
  async putMany(items: PutItem[]): Promise<ArtifactManifest[]> {
    const out: (ArtifactManifest | undefined)[] = new Array(items.length);
    const small: { i: number; p: ReturnType<RedisArtifactStore["prepareSmall"]> }[] = [];
    items.forEach((it, i) => {
      checkKey(it.key);
      let total = 0;
      for (const bytes of Object.values(it.files)) total += bytes.byteLength;
      if (total <= SMALL_PUT_BYTES) small.push({ i, p: this.prepareSmall(it.key, it.type, it.files, it.info, it.manifest, it.replace ?? false) });
    });
    if (small.length) {
      // Sent again whole if a dropped connection cuts it: each put is first-writer-wins, and one that ran
      // before the cut finds its own manifest (same upload id) and counts as written.
      const winners = await retryAborted(async () => {
        const pipe = this.redis.pipeline() as unknown as { lfPutArtifact(...a: unknown[]): void; exec(): Promise<[Error | null, unknown][] | null> };
        for (const { p } of small) pipe.lfPutArtifact(this.manifestKey(p.manifest.key), this.indexKey(), ...p.args);
        const res = (await pipe.exec()) ?? [];
        return small.map((_, j) => {
          const [err, winner] = res[j] ?? [new Error("no reply"), null];
          if (err) throw err;
          return winner as 1 | string;
        });
      });
      for (let j = 0; j < small.length; j++) out[small[j]!.i] = await this.settleSmall(small[j]!.p, winners[j]!);
    }
    for (let i = 0; i < items.length; i++) {
      if (out[i]) continue;
      const it = items[i]!;
      out[i] = await this.put(it.key, it.type, it.files, it.info, { replace: it.replace ?? false });
    }
    return out as ArtifactManifest[];
  }

  private prepareSmall(key: string, type: PortType, files: Record<string, Uint8Array>, info: Record<string, unknown> | undefined, built: ArtifactManifest | undefined, replace: boolean) {
    // Checks file names before anything is written.
    const manifest = built && describes(built, key, type, files) ? built : buildManifest(key, type, files, info);
    const stored: StoredManifest = {
      ...manifest,
      upload: `${UPLOAD_BASE}${(uploads++).toString(16)}`,
      chunks: manifest.files.map((f) => Math.max(1, Math.ceil(f.size / this.chunkBytes))),
    };
    const keys = this.chunkKeys(stored);
    const pairs: (string | Buffer)[] = [];
    let k = 0;
    manifest.files.forEach((f, i) => {
      const bytes = files[f.name]!;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let c = 0; c < stored.chunks[i]!; c++) pairs.push(keys[k++]!, buf.subarray(c * this.chunkBytes, (c + 1) * this.chunkBytes));
    });
    const json = JSON.stringify(stored);
    return { manifest, json, args: [json, key, this.ttlSeconds, CHUNK_GRACE_S, replace ? "replace" : "keep", ...pairs] as (string | number | Buffer)[] };
  }

  private async settleSmall(p: { manifest: ArtifactManifest; json: string }, winner: 1 | string): Promise<ArtifactManifest> {
    // Ours was written now (1), or before a dropped connection made us send it again (our own JSON).
    if (winner === 1 || winner === p.json) return p.manifest;
    // The artifact was there already: it stands (and, under a retention TTL, counts as used).
    const existing = JSON.parse(winner) as StoredManifest;
    if (this.ttlSeconds) await this.touch(existing);
    return this.publicManifest(existing);
  }

  private async touch(m: StoredManifest): Promise<void> {
    await this.redis.lfTouchArtifact(this.manifestKey(m.key), this.ttlSeconds, CHUNK_GRACE_S, ...this.chunkKeys(m));
  }

  private async fileOf(key: string, name: string): Promise<{ m: StoredManifest; index: number }> {
    const m = await this.statStored(key);
    if (!m) throw new LatentflowError("E_ARTIFACT_MISSING", `no artifact ${key} in ${this.location}`);
    const index = m.files.findIndex((f) => f.name === name);
    if (index < 0) throw new LatentflowError("E_ARTIFACT_MISSING", `artifact ${key} has no file '${name}' (it has ${m.files.map((f) => f.name).join(", ")})`);
    if (this.ttlSeconds) await this.touch(m);
    return { m, index };
  }

  private missingChunk(m: StoredManifest, name: string): LatentflowError {
    return corruptArtifact(m, name, this.location, "a chunk of the file is missing");
  }

  /**
   * Streams one file chunk by chunk (for large artifacts). The sha256 is checked at the end: the last
   * iteration throws E_ARTIFACT_CORRUPT if the bytes were not the recorded ones.
   */
  async *readStream(key: string, name: string): AsyncIterable<Uint8Array> {
    const { m, index } = await this.fileOf(key, name);
    const f = m.files[index]!;
    const hash = createHash("sha256");
    let size = 0;
    for (const k of this.chunkKeys(m, index)) {
      const chunk = await this.redis.getBuffer(k);
      if (!chunk) throw this.missingChunk(m, name);
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
    const digest = hash.digest("hex");
    if (size !== f.size || digest !== f.sha256) {
      throw corruptArtifact(m, name, this.location, `expected sha256 ${f.sha256} (${f.size} bytes), found ${digest} (${size} bytes)`);
    }
  }

  async read(key: string, name: string): Promise<Uint8Array> {
    const { m, index } = await this.fileOf(key, name);
    const keys = this.chunkKeys(m, index);
    const f = m.files[index]!;
    const out = Buffer.allocUnsafe(f.size);
    let offset = 0;
    // A few chunks per round trip keeps memory at ~one copy of the file without a round trip per chunk.
    for (let i = 0; i < keys.length; i += 4) {
      const parts = await this.redis.mgetBuffer(...keys.slice(i, i + 4));
      for (const p of parts) {
        if (!p) throw this.missingChunk(m, name);
        if (offset + p.byteLength <= out.byteLength) p.copy(out, offset);
        offset += p.byteLength;
      }
    }
    if (offset !== f.size) {
      throw corruptArtifact(m, name, this.location, `expected ${f.size} bytes, found ${offset}`);
    }
    const bytes = out;
    verifyFile(this.publicManifest(m), name, bytes, this.location);
    return bytes;
  }

  async delete(key: string): Promise<boolean> {
    // A damaged manifest names no chunks: those left expire never, so look for them by pattern.
    const m = await this.statStored(key).catch(() => undefined);
    if (!m && (await this.redis.exists(this.manifestKey(key)))) {
      const chunks: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await this.redis.scan(cursor, "MATCH", `${this.manifestKey(key)}:*`, "COUNT", 1000);
        cursor = next;
        chunks.push(...keys);
      } while (cursor !== "0");
      return (await this.redis.lfDeleteArtifact(this.manifestKey(key), this.indexKey(), key, ...chunks)) === 1;
    }
    const removed = await this.redis.lfDeleteArtifact(this.manifestKey(key), this.indexKey(), key, ...(m ? this.chunkKeys(m) : []));
    return removed === 1;
  }

  async *list(): AsyncIterable<ArtifactManifest> {
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.sscan(this.indexKey(), cursor, "COUNT", 500);
      cursor = next;
      for (const key of keys.sort()) {
        const m = await this.statStored(key);
        // Expired under the retention policy: drop it from the index too.
        if (m) yield this.publicManifest(m);
        else await this.redis.srem(this.indexKey(), key);
      }
    } while (cursor !== "0");
  }

  async *listKeys(): AsyncIterable<string> {
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.sscan(this.indexKey(), cursor, "COUNT", 500);
      cursor = next;
      for (const key of keys.sort()) if (await this.redis.exists(this.manifestKey(key))) yield key;
    } while (cursor !== "0");
  }

  async close(): Promise<void> {
    if (this.owned) await closeClient(this.redis);
  }
}
