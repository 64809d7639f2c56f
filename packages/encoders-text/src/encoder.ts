import { LatentflowError, defineSpace, type Metric, type Space } from "@latentflow/core";

/** Per-call options every text encoder honours: core's EncodeOptions. */
export type { EncodeOptions } from "@latentflow/core";

/**
 * A text encoder is core's `Encoder<string>`: texts in, n×dim row-major float32 of its space out, in input
 * order. An empty (or whitespace-only) text is refused with E_EMPTY_TEXT naming its index, and nothing is
 * encoded in that call. `dispose` is idempotent; `encode` after it fails with E_DISPOSED.
 */
export type { Encoder } from "@latentflow/core";

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
