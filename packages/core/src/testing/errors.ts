import { LatentflowError } from "../errors.js";

/**
 * Test helpers for code that throws Latentflow errors (`@latentflow/core/testing`): what a test asserts is
 * the stable `code` (and `data`, `hint`), so these return the error instead of making each test catch it.
 */

/** The LatentflowError `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): LatentflowError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LatentflowError) return e;
    throw e;
  }
  throw new Error("expected a LatentflowError, nothing was thrown");
}

/** The LatentflowError a promise (or an async function) rejects with; fails the test when it resolves or rejects with something else. */
export async function rejectionOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<LatentflowError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof LatentflowError) return e;
    throw e;
  }
  throw new Error("expected a LatentflowError, the promise resolved");
}

/** The code a promise rejects with (any error's `code`, else its name or text), or "resolved". */
export function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "resolved",
    (e: { code?: unknown; name?: string }) => (typeof e?.code === "string" ? e.code : (e?.name ?? String(e))),
  );
}
