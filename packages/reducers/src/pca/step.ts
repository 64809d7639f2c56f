import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { REDUCER_LIMITS as L } from "../limits.js";
import { Pca } from "./pca.js";

/** `reducers/pca`: fit a PCA on the input vectors; outputs their projection and the fitted model. */
export const pcaStep = defineStep({
  name: "pca",
  description: "Principal component analysis: exact (covariance + eigendecomposition) or randomized SVD (Halko et al.); projects the vectors and outputs the fitted model.",
  inputs: { vectors: { type: "vectors" } },
  outputs: {
    vectors: { type: "vectors", description: "the input projected on the components, meta kept" },
    model: { type: "model", description: "the fitted PCA (kind reducers/pca): Pca.load(artifact)" },
  },
  params: z.strictObject({
    components: z.number().int().positive().describe("number of principal components to keep"),
    whiten: z.boolean().default(false).describe("scale each component to unit variance"),
    solver: z.enum(["auto", "exact", "randomized"]).default("auto"),
    oversampling: z.number().int().min(0).max(L.oversampling).default(10).describe("randomized solver: extra sampled directions"),
    powerIterations: z.number().int().min(0).max(L.powerIterations).default(4).describe("randomized solver: power iterations"),
    seed: z.union([z.string(), z.number()]).optional().describe("seed of the randomized solver; default: the run's seed for this step (seed: in the pipeline and the step id)"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors }, p) {
    const pca = new Pca(p);
    const out = await pca.fitTransform(vectors, { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) });
    ctx.log.info("pca fitted", { solver: pca.solverUsed, explainedVarianceRatio: Array.from(pca.explainedVarianceRatio.slice(0, 10)) });
    return { vectors: out, model: pca.save() };
  },
});
