import type { ModelArtifact } from "../ports.js";
import type { Space } from "../space.js";
import type { RowMeta, VectorSet } from "../vector-set.js";

/** A library-level filter: keep an item when this returns true. Must be pure (it may run once per item or once per visit). */
export type IndexFilter = (id: string, meta: RowMeta | undefined) => boolean;

/** One search hit. `distance` follows core's convention for the space's metric (smaller is nearer). */
export interface Neighbor {
  id: string;
  distance: number;
  meta?: RowMeta;
}

/** A stored item. */
export interface IndexedItem {
  id: string;
  vector: Float32Array;
  meta?: RowMeta;
}

export interface SearchOptions {
  /** How many neighbours to return (fewer when fewer items match). */
  k: number;
  /** Size of the dynamic candidate list of approximate indexes (ignored by exact ones). */
  ef?: number;
  filter?: IndexFilter;
}

export interface BatchSearchOptions extends SearchOptions {
  /** Threads to search on; defaults to the machine's available parallelism. 1 searches on the calling thread. */
  threads?: number;
}

/**
 * A searchable, mutable set of vectors of one space, keyed by string ids. Conformance: the indexer suite
 * of @latentflow/contract-tests.
 */
export interface VectorIndex {
  readonly space: Space;
  /** Number of live (not deleted) items. */
  readonly size: number;
  /** Adds new items; an id already present fails the whole batch with E_DUPLICATE_ID. */
  add(vs: VectorSet): void;
  /** Adds new items and replaces the vector and meta of existing ones. */
  upsert(vs: VectorSet): void;
  /** Deletes items by id; returns how many were present. A deleted id never comes back unless added again. */
  delete(ids: Iterable<string>): number;
  has(id: string): boolean;
  get(id: string): IndexedItem | undefined;
  /** The k nearest items to one query vector, nearest first. */
  search(query: Float32Array, opts: SearchOptions): Neighbor[];
  /** The k nearest items to each query (rows of a VectorSet of this space, or a row-major Float32Array). */
  searchBatch(queries: VectorSet | Float32Array, opts: BatchSearchOptions): Promise<Neighbor[][]>;
  /** The whole index (vectors, ids, meta, space, parameters) as one model artifact. */
  save(): ModelArtifact;
  /** Every live item as a VectorSet, in insertion order. */
  toVectorSet(): VectorSet;
  /** Frees native memory and worker threads; the index is unusable afterwards. */
  dispose(): void;
}
