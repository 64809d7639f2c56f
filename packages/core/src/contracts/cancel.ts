import { LatentflowError } from "../errors.js";

/** The one code every cancelled operation fails with, whatever was cancelled (a run, an encode, a fit). */
export const E_CANCELLED = "E_CANCELLED";

/** The error a cancelled operation throws; `where` names what was cancelled. */
export function cancelledError(where: string, reason?: unknown): LatentflowError {
  return new LatentflowError(E_CANCELLED, `${where}: cancelled`, reason === undefined ? {} : { cause: reason });
}

/** Throws E_CANCELLED when `signal` has fired. Long loops call it between units of work. */
export function throwIfCancelled(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw cancelledError(where, signal.reason);
}

/** True when `e` is a cancellation (ours, or the DOM AbortError a platform API throws on abort). */
export function isCancellation(e: unknown): boolean {
  if (e instanceof LatentflowError) return e.code === E_CANCELLED;
  return e instanceof Error && e.name === "AbortError";
}
