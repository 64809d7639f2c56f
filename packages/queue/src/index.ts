export { DEFAULT_PREFIX, checkPrefix, connect, describeRedis, isAuthError, probeRedis, redisConnectionError, redisOptions, startupWaitMs, type RedisTarget } from "./connection.js";
export { RedisArtifactStore, type RedisArtifactStoreOptions } from "./store/redis-store.js";
export { RedisRunStore, type RunMeta } from "./runs/redis-run-store.js";
export { QueueExecutor, storeRef, type QueueExecutorOptions } from "./executor/queue-executor.js";
export { decodeFailure, encodeFailure, jobIdFor, queueOf, storeRefOf, type StepJobData, type StepJobProgress, type StepJobResult, type StoreRef } from "./executor/job.js";
export { startWorker, type FleetWorker, type WorkerOptions } from "./worker/worker.js";
export { runStatus, cancelRun, type StepJobState } from "./runs/control.js";
