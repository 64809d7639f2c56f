import { LatentflowError, defineSpace, type Metric, type Space } from "@latentflow/core";

/** Per-call options every text encoder honours. */
export interface EncodeOptions {
  /** Texts per model call (encoders that batch). Each encoder documents its default. */
  batchSize?: number;
  /** Called with (done, total) texts as work advances. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Texts in, points of one space out. `encode` returns n×dim row-major float32 in the order of the
 * texts; an empty (or whitespace-only) text is refused with E_EMPTY_TEXT naming its index, and nothing
 * is encoded in that call. `dispose` frees native/wasm memory and worker threads; it is idempotent, and
 * `encode` after it fails with E_DISPOSED.
 */
export interface TextEncoder {
  /** The space of the vectors `encode` returns. */
  readonly space: Space;
  encode(texts: readonly string[], opts?: EncodeOptions): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** A text space named after the model that makes it, so vectors of two models are never mixed. */
export function textSpace(opts: { id: string; dim: number; metric?: Metric; normalized: boolean; producer: string; version: string; params?: Record<string, unknown> }): Space {
  return defineSpace({
    id: opts.id,
    dim: opts.dim,
    metric: opts.metric ?? "cosine",
    normalized: opts.normalized,
    modality: "text",
    producer: { name: opts.producer, version: opts.version, params: opts.params ?? {} },
  });
}

/** Throws E_EMPTY_TEXT for the first text that is not a non-empty string (checked before any work). */
export function assertTexts(texts: readonly unknown[], where: string): asserts texts is readonly string[] {
  if (!Array.isArray(texts)) {
    throw new LatentflowError("E_INPUT", `${where}: expected an array of strings, found ${typeof texts}`);
  }
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (typeof t !== "string") {
      throw new LatentflowError("E_INPUT", `${where}: expected text ${i} to be a string, found ${t === null ? "null" : typeof t}`, {
        data: { index: i, expected: "string", found: t === null ? "null" : typeof t, where },
      });
    }
    if (t.trim() === "") {
      throw new LatentflowError("E_EMPTY_TEXT", `${where}: text ${i} is empty`, {
        hint: "drop empty texts before encoding; in a pipeline, onError: skip reports and leaves them out",
        data: { index: i, expected: "a non-empty text", found: JSON.stringify(t), where },
      });
    }
  }
}

/** Throws E_DISPOSED when an encoder is used after dispose(). */
export function assertLive(disposed: boolean, where: string): void {
  if (disposed) throw new LatentflowError("E_DISPOSED", `${where}: the encoder was disposed`, { hint: "create or load a new encoder" });
}

/** Throws E_CANCELLED when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new LatentflowError("E_CANCELLED", `${where}: cancelled`);
}
