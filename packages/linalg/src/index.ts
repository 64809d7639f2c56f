// Public API of @latentflow/linalg.
export { symmetricEigen } from "./eigen.js";
export { orthonormalizeColumns, orthonormalizeRows } from "./orthonormalize.js";
export { subspaceIteration, type SubspaceIterationOptions } from "./subspace.js";
