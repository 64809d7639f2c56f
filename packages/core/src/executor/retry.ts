import { LatentflowError } from "../errors.js";
import type { StepSpec } from "../pipeline/spec.js";

/**
 * How a failed step call is tried again, the same under every executor: `attempts` calls at most, the n-th
 * retry after `min(capMs, backoffMs · 2^(n-1))`. Only retryable errors are tried again (`isRetryable`).
 */
export interface RetryPolicy {
  /** Calls in all, the first included (a step's `retries: 2` is 3 attempts). */
  attempts: number;
  /** Delay before the first retry, doubled before each next one. */
  backoffMs: number;
  /** No retry waits longer than this. */
  capMs: number;
}

/** Delay before the first retry of a step. */
export const RETRY_BACKOFF_MS = 200;
/** Longest wait between two attempts of a step. */
export const RETRY_CAP_MS = 30_000;

/** The retry policy of a pipeline step: its `retries`, with the engine's backoff and cap. */
export function retryPolicyOf(spec: Pick<StepSpec, "retries">): RetryPolicy {
  return { attempts: spec.retries + 1, backoffMs: RETRY_BACKOFF_MS, capMs: RETRY_CAP_MS };
}

/** Delay before the retry that follows failed attempt `failed` (1-based). */
export function retryDelay(policy: RetryPolicy, failed: number): number {
  return Math.min(policy.capMs, policy.backoffMs * 2 ** Math.max(0, failed - 1));
}

/**
 * Errors worth another attempt: anything not raised by Latentflow itself (a flaky library, a lost
 * connection), and timeouts. Latentflow's own errors about inputs and params would fail again the same way.
 */
export function isRetryable(e: unknown): boolean {
  return !(e instanceof LatentflowError) || e.code === "E_TIMEOUT";
}
