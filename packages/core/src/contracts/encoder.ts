import type { Space } from "../space.js";

/** Per-call options every encoder honours. */
export interface EncodeOptions {
  /** Inputs per model call (encoders that batch). Each encoder documents its default. */
  batchSize?: number;
  /** Called with (done, total) inputs as work advances. */
  onProgress?: (done: number, total: number) => void;
  /** Fires cancellation: `encode` rejects with E_CANCELLED and returns nothing. */
  signal?: AbortSignal;
}

/**
 * Inputs in, points of one space out — text (`Encoder<string>`), decoded images (`Encoder<ImageData>`),
 * audio (`Encoder<AudioData>`), or whatever an encoder declares. `encode` returns n×dim row-major float32
 * in input order; an input it cannot encode is refused naming its index (`data.index`), and nothing is
 * encoded in that call. `dispose` frees native/wasm memory and worker threads; it is idempotent, and
 * `encode` after it fails with E_DISPOSED. Conformance: the encoder suite of @latentflow/contract-tests.
 */
export interface Encoder<In = string> {
  /** The space of the vectors `encode` returns; `space.modality` says what kind of input it takes. */
  readonly space: Space;
  encode(inputs: readonly In[], opts?: EncodeOptions): Promise<Float32Array>;
  dispose(): Promise<void>;
}
