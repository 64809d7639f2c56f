import { afterAll, beforeAll } from "vitest";
import { describeExecutorContract } from "@latentflow/contract-tests";
import { RedisArtifactStore } from "../store/redis-store.js";
import { dropPrefix, killAll, REDIS_URL, spawnWorker, uniquePrefix, type SpawnedWorker } from "../test-support.js";
import { QueueExecutor } from "./queue-executor.js";

// Two real worker processes serve every test of the suite; each test gets its own artifact prefix.
const prefix = uniquePrefix("exec");
let workers: SpawnedWorker[] = [];
let executor: QueueExecutor;

beforeAll(async () => {
  workers = await Promise.all([spawnWorker({ redis: REDIS_URL, prefix }), spawnWorker({ redis: REDIS_URL, prefix })]);
  executor = new QueueExecutor({ redis: REDIS_URL, prefix, pollMs: 500 });
});

afterAll(async () => {
  await killAll(workers);
  await executor.close();
  await dropPrefix(REDIS_URL, prefix);
});

describeExecutorContract("QueueExecutor (2 worker processes)", async () => {
  const store = new RedisArtifactStore({ redis: REDIS_URL, prefix: `${prefix}-${Math.random().toString(36).slice(2, 8)}` });
  return {
    executor,
    store,
    runStore: executor.runs,
    async cleanup() {
      await store.close();
      await dropPrefix(REDIS_URL, store.prefix);
    },
  };
});
