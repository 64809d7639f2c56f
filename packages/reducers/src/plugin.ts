import { definePlugin } from "@latentflow/core";
import { autoencoderStep } from "./autoencoder/step.js";
import { evaluateStep } from "./metrics/step.js";
import { pcaStep } from "./pca/step.js";
import { plotStep } from "./plot/step.js";
import { transformStep } from "./transform/step.js";
import { tsneStep } from "./tsne/step.js";
import { umapStep } from "./umap/step.js";
import { VERSION } from "./version.js";

/** The `reducers` plugin: `uses: reducers/pca | tsne | umap | autoencoder | transform | evaluate | plot`. */
export const plugin = definePlugin({
  name: "reducers",
  version: VERSION,
  description: "PCA, t-SNE and UMAP maps of a space, their quality metrics, and pictures of them.",
  steps: [pcaStep, tsneStep, umapStep, autoencoderStep, transformStep, evaluateStep, plotStep],
});
