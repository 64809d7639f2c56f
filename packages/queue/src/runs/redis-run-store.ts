import type { Redis } from "ioredis";
import { checkRunId, type RunRecord, type RunStore } from "@latentflow/core";
import { closeClient, checkPrefix, connect, DEFAULT_PREFIX, retryAborted, type RedisTarget } from "../connection.js";
import type { StoreRef } from "../executor/job.js";

/** What `resume` and `cancel` need to know about a queued run besides its record. */
export interface RunMeta {
  /** The pipeline file, re-read and re-validated by `resume`. */
  file: string;
  store: StoreRef;
  only?: string[];
  /** Extra plugin packages the run was planned with (besides those its file names). */
  plugins?: string[];
  /** BullMQ queue of each step's job. */
  queues: Record<string, string>;
}

/**
 * Run records in Redis (`<prefix>:run:<id>`, indexed by start time in `<prefix>:runs`), so `status`,
 * `runs`, `cancel` and `resume` work from any machine that reaches the fleet's Redis.
 */
export class RedisRunStore implements RunStore {
  readonly prefix: string;
  private readonly redis: Redis;
  private readonly owned: boolean;

  constructor(redis: RedisTarget | Redis, prefix = DEFAULT_PREFIX) {
    this.prefix = checkPrefix(prefix);
    const isClient = typeof redis === "object" && typeof (redis as Redis).duplicate === "function";
    this.redis = isClient ? (redis as Redis) : connect(redis as RedisTarget);
    this.owned = !isClient;
    if (this.owned) this.redis.on("error", () => {});
  }

  private key(id: string, part = ""): string {
    // An id is part of a Redis key: ':' or glob characters would address other keys.
    return `${this.prefix}:run:${checkRunId(id)}${part}`;
  }

  /** The pub/sub channel workers and coordinators hear cancellations on. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  async save(record: RunRecord): Promise<void> {
    const json = JSON.stringify(record);
    // A transaction cut by a dropped connection is sent again (it writes the same either way).
    await retryAborted(() => this.redis.multi().set(this.key(record.id), json).zadd(`${this.prefix}:runs`, Date.parse(record.startedAt) || 0, record.id).exec());
  }

  async load(id: string): Promise<RunRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as RunRecord) : undefined;
  }

  async list(): Promise<RunRecord[]> {
    const ids = await this.redis.zrange(`${this.prefix}:runs`, 0, -1);
    if (!ids.length) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.key(id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as RunRecord);
  }

  async saveMeta(id: string, meta: RunMeta): Promise<void> {
    await this.redis.set(this.key(id, ":meta"), JSON.stringify(meta));
  }

  async loadMeta(id: string): Promise<RunMeta | undefined> {
    const raw = await this.redis.get(this.key(id, ":meta"));
    return raw ? (JSON.parse(raw) as RunMeta) : undefined;
  }

  /** Marks a run cancelled for every worker and coordinator: a flag (for jobs not yet started) and a message (for running ones). */
  async requestCancel(id: string): Promise<void> {
    await this.redis.set(this.key(id, ":cancel"), "1", "EX", 7 * 24 * 3600);
    await this.redis.publish(this.cancelChannel, id);
  }

  async isCancelled(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key(id, ":cancel"))) === 1;
  }

  /** Lifts a cancellation, so `resume` can carry the run on. */
  async clearCancel(id: string): Promise<void> {
    await this.redis.del(this.key(id, ":cancel"));
  }

  async close(): Promise<void> {
    if (this.owned) await closeClient(this.redis);
  }
}
