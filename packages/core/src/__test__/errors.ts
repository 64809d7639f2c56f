import { LatentflowError } from "../errors.js";

/** Runs `fn` and returns the LatentflowError it throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): LatentflowError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LatentflowError) return e;
    throw e;
  }
  throw new Error("expected a LatentflowError, nothing was thrown");
}
