import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { REDUCER_LIMITS as L } from "../limits.js";
import { Tsne } from "./tsne.js";

/** `reducers/tsne`: a t-SNE map of the input vectors, and the fitted model (which can place new points). */
export const tsneStep = defineStep({
  name: "tsne",
  description: "t-SNE (scikit-learn's algorithm: exact kNN affinities, PCA init, early exaggeration, Barnes-Hut or exact gradient); outputs the map and the fitted model.",
  inputs: { vectors: { type: "vectors" } },
  outputs: {
    vectors: { type: "vectors", description: "the map: one row of `dimensions` coordinates per input row, ids and meta kept" },
    model: { type: "model", description: "the fitted t-SNE (kind reducers/tsne): Tsne.load(artifact); its transform places new points" },
  },
  params: z.strictObject({
    dimensions: z.number().int().min(1).max(L.tsneDimensions).default(2).describe("output dimensions; Barnes-Hut needs 2, others run the exact O(n²) gradient"),
    perplexity: z.number().positive().default(30).describe("effective number of neighbours per point (5–50 is usual); must be below the number of points"),
    earlyExaggeration: z.number().min(1).default(12),
    earlyExaggerationIter: z.number().int().min(0).max(L.iterations).default(250),
    learningRate: z.union([z.literal("auto"), z.number().positive()]).default("auto").describe('"auto" = max(n / earlyExaggeration / 4, 50), as scikit-learn'),
    nIter: z.number().int().positive().max(L.iterations).default(1000).describe("total iterations, early exaggeration included"),
    theta: z.number().min(0).default(0.5).describe("Barnes-Hut accuracy (0 would be exact)"),
    method: z.enum(["auto", "barnes_hut", "exact"]).default("auto").describe("auto: exact below 1000 points, Barnes-Hut above"),
    init: z.enum(["pca", "random"]).default("pca"),
    metric: z.enum(["euclidean", "cosine"]).optional().describe("default: cosine for cosine spaces, else squared Euclidean"),
    seed: z.union([z.number(), z.string()]).optional().describe("default: the run's seed for this step (seed: in the pipeline and the step id)"),
    keepTrainingData: z.boolean().default(true).describe("store the input vectors in the model, which transform of new points needs"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors }, p) {
    const { seed, keepTrainingData, ...rest } = p;
    const tsne = new Tsne({ ...rest, seed: seed ?? ctx.rng.seed });
    const out = await tsne.fitTransform(vectors, { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) });
    ctx.log.info("t-SNE fitted", { ...tsne.info });
    return { vectors: out, model: tsne.save({ trainingData: keepTrainingData }) };
  },
});
