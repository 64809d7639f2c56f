// Public API of @latentflow/multimodal.
export { PROCRUSTES_KIND, ProcrustesAligner } from "./procrustes/procrustes.js";
export { VERSION } from "./version.js";
