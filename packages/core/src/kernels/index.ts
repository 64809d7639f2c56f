export { cosineDistance, distance, dot, l2sq } from "./distance.js";
export { knnReference, type KnnResult } from "./knn-reference.js";
export { disposeKnn, exactKnn, type ExactKnnOptions } from "./knn.js";
