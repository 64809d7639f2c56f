// `@latentflow/core/engine`: the engine's parts an executor (a launcher such as @latentflow/queue) is built
// from. Not needed to run pipelines or use the libraries; kept off the root so the root stays the API.
export { runPlan, type EngineSettings, type LaunchHooks, type StepLauncher } from "./engine.js";
export { errorFromRecord, errorRecord, STEP_FAILED, type StepError } from "./error-record.js";
export { invocationOf, planNodeOf, type StepInvocation } from "./invocation.js";
export { RETRY_BACKOFF_MS, RETRY_CAP_MS, isRetryable, retryDelay, retryPolicyOf, type RetryPolicy } from "./retry.js";
export { initialRecord, selectSteps } from "./schedule.js";
export { keyForNode, loadArtifactValue, outputKey, resolveFrom, runShard, runStep, shardCount, stepKey, type StepEnv, type StepResult } from "./step-runner.js";
export { createRecordSaver } from "../runs/record-saver.js";
