// Public API of @latentflow/reducers.
export { reducedSpace, type Reducer, type ReduceRunOptions } from "@latentflow/core";
export { Pca, PCA_KIND, type PcaOptions, type PcaSolver } from "./pca/pca.js";
export { PcaGenerator } from "./pca/generator.js";
export { Tsne, type TsneFitInfo, type TsneOptions, type TsneTransformOptions } from "./tsne/tsne.js";
export { Umap, type UmapOptions } from "./umap/umap.js";
export { Autoencoder, AUTOENCODER_KIND, type AutoencoderBackend, type AutoencoderOptions, type AutoencoderOutput, type AutoencoderScaling } from "./autoencoder/autoencoder.js";
export {
  continuity,
  evaluateEmbedding,
  knnAccuracy,
  knnAccuracySplit,
  preservedNeighbors,
  sampleIndices,
  trustworthiness,
  type QualityOptions,
  type QualityReport,
} from "./metrics/quality.js";
export { colourFor, EXTRA_10, metricsCaption, renderPlot, renderSvg, svgToPng, PLOT_KIND, TABLEAU_10, type PlotOptions } from "./plot/plot.js";
export { disposeDense, type DenseOptions } from "./linalg/dense.js";
export { autoencoderStep } from "./autoencoder/step.js";
export { evaluateStep } from "./metrics/step.js";
export { pcaStep } from "./pca/step.js";
export { plotStep } from "./plot/step.js";
export { loadReducer, transformStep } from "./transform/step.js";
export { tsneStep } from "./tsne/step.js";
export { umapStep } from "./umap/step.js";
export { plugin } from "./plugin.js";
export { VERSION } from "./version.js";
