// Public API of @latentflow/indexers.
export type { BatchSearchOptions, IndexFilter, IndexedItem, Neighbor, SearchOptions, VectorIndex } from "@latentflow/core";
export { ExactIndex } from "./exact/exact.js";
export { HnswIndex, type HnswOptions } from "./hnsw/hnsw.js";
export { loadIndex } from "./load-index.js";
export { compileFilter, filterParam, type FieldCondition, type FilterScalar, type MetaFilter } from "./filter.js";
export { recallAtK } from "./evaluate/recall.js";
export { evaluateStep } from "./evaluate/step.js";
export { exactStep } from "./exact/step.js";
export { hnswStep } from "./hnsw/step.js";
export { queryStep } from "./query/step.js";
export { plugin } from "./plugin.js";
export { VERSION } from "./version.js";
