import type { ModelArtifact } from "../ports.js";
import { defineSpace, type Space } from "../space.js";
import type { VectorSet } from "../vector-set.js";

/** Per-call options every reducer honours. */
export interface ReduceRunOptions {
  /** Called with (done, total, unit) as work advances. */
  onProgress?: (done: number, total: number, message?: string) => void;
  /** Fires cancellation: the call rejects with E_CANCELLED. */
  signal?: AbortSignal;
}

/**
 * A fitted map from one space to a lower-dimensional one. `fit` learns it, `transform` places new points
 * (of the same space as the fit data) in it, `save` gives a model artifact that the class's `load` reads
 * back. Reducers refuse vectors of another space (assertSameSpace). `dispose` frees worker threads and
 * wasm memory; it is idempotent. Conformance: the reducer suite of @latentflow/contract-tests.
 */
export interface Reducer {
  /** The space the reducer was fitted on (undefined before fit). */
  readonly inputSpace: Space | undefined;
  /** The space its outputs belong to (undefined before fit). */
  readonly outputSpace: Space | undefined;
  fit(vs: VectorSet, opts?: ReduceRunOptions): Promise<this>;
  transform(vs: VectorSet, opts?: ReduceRunOptions): Promise<VectorSet>;
  fitTransform(vs: VectorSet, opts?: ReduceRunOptions): Promise<VectorSet>;
  save(): ModelArtifact;
  dispose(): Promise<void>;
}

/**
 * The space of a reducer's output: named after the input space and the reducer, so maps of different
 * inputs or settings are never mixed.
 */
export function reducedSpace(input: Space, reducer: string, version: string, dim: number, params: Record<string, unknown>): Space {
  return defineSpace({
    id: `${input.id}/${reducer}-${dim}d`,
    dim,
    metric: "l2",
    normalized: false,
    modality: input.modality,
    producer: { name: reducer, version, params: { ...params, input: input.id } },
  });
}
