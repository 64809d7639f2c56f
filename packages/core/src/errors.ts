/** Where in a source file (usually a pipeline YAML) a problem sits; 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** Options carried by every Latentflow error besides its code and message. */
export interface ErrorDetails {
  hint?: string;
  location?: SourceLocation;
  cause?: unknown;
  /** Machine-readable facts (expected/found values, item index, …). */
  data?: Record<string, unknown>;
}

/**
 * The one error type Latentflow throws. `code` is stable across versions (scripts may match on it);
 * `message` says what was expected and what was found; `hint` says what to do about it.
 */
export class LatentflowError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly location?: SourceLocation;
  readonly data?: Record<string, unknown>;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "LatentflowError";
    this.code = code;
    this.hint = details.hint;
    this.location = details.location;
    this.data = details.data;
  }

  /** `file:line:column: CODE message (hint: …)` — the form editors and terminals link. */
  format(): string {
    const where = this.location ? `${this.location.file}:${this.location.line}:${this.location.column}: ` : "";
    const hint = this.hint ? `\n  hint: ${this.hint}` : "";
    return `${where}${this.code} ${this.message}${hint}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, location: this.location, data: this.data };
  }
}

/** Several problems found at once (pipeline validation reports all of them, not the first). */
export class LatentflowAggregateError extends LatentflowError {
  readonly errors: LatentflowError[];

  constructor(errors: LatentflowError[], message?: string) {
    super("E_INVALID", message ?? `${errors.length} problem${errors.length === 1 ? "" : "s"} found`);
    this.errors = errors;
  }

  override format(): string {
    return this.errors.map((e) => e.format()).join("\n");
  }

  override toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, errors: this.errors.map((e) => e.toJSON()) };
  }
}

/** Throws a LatentflowError: `fail("E_PARAM", "expected …, found …", "do this")`. */
export function fail(code: string, message: string, hint?: string, data?: Record<string, unknown>): never {
  throw new LatentflowError(code, message, { ...(hint ? { hint } : {}), ...(data ? { data } : {}) });
}

export function isLatentflowError(e: unknown): e is LatentflowError {
  return e instanceof LatentflowError;
}
