import { LatentflowError, defineStep, type ModelArtifact, type VectorSet, type ReduceRunOptions } from "@latentflow/core";
import { z } from "zod";
import { AUTOENCODER_KIND, Autoencoder } from "../autoencoder/autoencoder.js";
import { PCA_KIND, Pca } from "../pca/pca.js";
import { Tsne } from "../tsne/tsne.js";
import { Umap } from "../umap/umap.js";

/** A loaded reducer, as far as this step needs it. */
interface Applicable {
  transform(vs: VectorSet, opts?: ReduceRunOptions): Promise<VectorSet>;
  inverseTransform?(vs: VectorSet, opts?: ReduceRunOptions): Promise<VectorSet> | VectorSet;
}

const LOADERS: Record<string, (a: ModelArtifact) => Applicable> = {
  [PCA_KIND]: (a) => Pca.load(a),
  [Tsne.kind]: (a) => Tsne.load(a),
  "reducers/umap": (a) => Umap.load(a, { threads: 1 }),
  [AUTOENCODER_KIND]: (a) => Autoencoder.load(a),
};

/** Loads any model written by a reducers step, by its kind. */
export function loadReducer(artifact: ModelArtifact): Applicable {
  const load = LOADERS[artifact.kind];
  if (!load) {
    throw new LatentflowError("E_ARTIFACT_KIND", `reducers/transform: expected a model of kind ${Object.keys(LOADERS).join(" | ")}, found '${artifact.kind}'`, {
      hint: "connect the `model` output of reducers/pca, tsne, umap or autoencoder",
      data: { expected: Object.keys(LOADERS), found: artifact.kind, where: "reducers/transform input 'model'" },
    });
  }
  return load(artifact);
}

/**
 * `reducers/transform`: places new vectors in a map fitted earlier (a `model` output of reducers/pca,
 * tsne, umap or autoencoder) — or, with `inverse: true`, maps points back (PCA, autoencoder).
 */
export const transformStep = defineStep({
  name: "transform",
  description: "Applies a fitted reducer (PCA, t-SNE, UMAP, autoencoder model) to new vectors of the space it was fitted on; `inverse` maps back (PCA, autoencoder).",
  inputs: {
    model: { type: "model", description: "a fitted reducer's model output" },
    vectors: { type: "vectors", description: "vectors of the space the model was fitted on (of its output space when inverse)" },
  },
  outputs: { vectors: { type: "vectors", description: "the input placed in the map, ids and meta kept" } },
  params: z.strictObject({
    inverse: z.boolean().default(false).describe("map points of the reduced space back to the input space (PCA, autoencoder only)"),
  }),
  shardable: "vectors",
  resources: { cpuBound: true },
  async run(ctx, { model, vectors }, p) {
    const reducer = loadReducer(model);
    const opts: ReduceRunOptions = { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) };
    if (!p.inverse) return { vectors: await reducer.transform(vectors, opts) };
    if (!reducer.inverseTransform) {
      throw new LatentflowError("E_PARAM", `reducers/transform: inverse needs a PCA or autoencoder model, found '${model.kind}'`, {
        hint: "t-SNE and UMAP have no inverse map; drop `inverse: true`",
        data: { expected: [PCA_KIND, AUTOENCODER_KIND], found: model.kind, where: "reducers/transform param 'inverse'" },
      });
    }
    return { vectors: await reducer.inverseTransform(vectors, opts) };
  },
});
