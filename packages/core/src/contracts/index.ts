export { E_CANCELLED, cancelledError, isCancellation, throwIfCancelled } from "./cancel.js";
export type { EncodeOptions, Encoder } from "./encoder.js";
export { reducedSpace, type ReduceRunOptions, type Reducer } from "./reducer.js";
export type { BatchSearchOptions, IndexFilter, IndexedItem, Neighbor, SearchOptions, VectorIndex } from "./vector-index.js";
export type { GenerateOptions, Generator, SampleOptions } from "./generator.js";
export { pairById, type AlignOptions, type Aligner } from "./aligner.js";
