import { LatentflowError } from "../errors.js";

/** A step's error as its run record keeps it: the error's code, message, hint and data, whichever executor ran it. */
export interface StepError {
  code: string;
  message: string;
  hint?: string;
  data?: Record<string, unknown>;
}

/** Code of an error that is not a LatentflowError (a plugin's own exception, a library's). */
export const STEP_FAILED = "E_STEP_FAILED";

/** The record of an error: every detail a LatentflowError carries that survives JSON. */
export function errorRecord(e: unknown): StepError {
  if (e instanceof LatentflowError) {
    return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.data ? { data: jsonData(e.data) } : {}) };
  }
  return { code: STEP_FAILED, message: e instanceof Error ? e.message : String(e) };
}

/** A LatentflowError from a record (e.g. one sent back by a fleet worker), for code that rethrows it. */
export function errorFromRecord(r: StepError): LatentflowError {
  return new LatentflowError(r.code, r.message, { ...(r.hint ? { hint: r.hint } : {}), ...(r.data ? { data: r.data } : {}) });
}

/** `data` as a JSON round trip gives it: what a record stored or sent between processes holds. */
function jsonData(data: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  } catch {
    return { unserialisable: true };
  }
}
