import { defineSpace, type ModelArtifact, type Space, type VectorSet } from "@latentflow/core";

/**
 * A fitted map from one space to a lower-dimensional one. `fit` learns it, `transform` places new points
 * (of the same space as the fit data) in it, `save` gives a model artifact that `load` of the same class
 * reads back. Reducers refuse vectors of another space (core's assertSameSpace).
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
}

/** Per-call options every reducer honours. */
export interface ReduceRunOptions {
  /** Called with (done, total) as work advances. */
  onProgress?: (done: number, total: number, message?: string) => void;
  signal?: AbortSignal;
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
