import type { ModelArtifact } from "../ports.js";
import type { Space } from "../space.js";
import type { VectorSet } from "../vector-set.js";

/** Per-call options of a generator. */
export interface GenerateOptions {
  /** Fires cancellation: the call rejects with E_CANCELLED. */
  signal?: AbortSignal;
}

export interface SampleOptions extends GenerateOptions {
  /** Seed of the draw: the same seed gives the same latents, bit for bit. */
  seed: string | number;
  /** Spread of the draw in units of the prior's standard deviation (the "temperature"). Default 1. */
  scale?: number;
}

/**
 * Goes from a latent space back to data: `decode` maps latent vectors to points of the output space (pixels
 * of an image space, a data space a reducer was fitted on), `sample` draws latents from the generator's
 * prior. Steps turn the decoded vectors into media (PNG grids, WAV). `dispose` frees native/wasm memory;
 * idempotent. Conformance: the generator suite of @latentflow/contract-tests.
 */
export interface Generator {
  /** The space `decode` takes and `sample` draws in. */
  readonly latentSpace: Space;
  /** The space `decode` returns points of. */
  readonly outputSpace: Space;
  /** One output row per latent row, ids and meta kept; refuses vectors of any other space. */
  decode(latents: VectorSet, opts?: GenerateOptions): Promise<VectorSet>;
  /** `n` latents drawn from the prior, in `latentSpace`, ids `sample-0` … . */
  sample(n: number, opts: SampleOptions): Promise<VectorSet>;
  save(): ModelArtifact;
  dispose(): Promise<void>;
}
