import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { REDUCER_LIMITS as L } from "../limits.js";
import { Umap } from "./umap.js";

/** `reducers/umap`: fits UMAP on a vector set and returns the map and the fitted model (for `transform`). */
export const umapStep = defineStep({
  name: "umap",
  description: "UMAP (as umap-learn 0.5): a 2-D/3-D map of a vector set, and the fitted model to place new points in it.",
  inputs: { vectors: { type: "vectors" } },
  outputs: {
    vectors: { type: "vectors", description: "the map: one row of `dimensions` coordinates per input row, ids and meta kept" },
    model: { type: "model", description: "the fitted UMAP (kind reducers/umap): Umap.load(artifact); its transform places new points" },
  },
  params: z.strictObject({
    nNeighbors: z.number().int().min(2).max(L.neighbours).default(15).describe("size of the local neighbourhood, the point included"),
    minDist: z.number().min(0).default(0.1).describe("minimum distance between points in the map"),
    spread: z.number().positive().default(1),
    metric: z.enum(["l2", "cosine"]).optional().describe("input distance; default the space's (cosine stays cosine, else l2)"),
    dimensions: z.number().int().positive().max(L.umapDimensions).default(2).describe("output dimensions; below the number of points"),
    nEpochs: z.number().int().positive().max(L.iterations).optional().describe("SGD epochs; default 500 up to 10k points, else 200"),
    learningRate: z.number().positive().default(1),
    negativeSampleRate: z.number().int().min(0).max(L.negativeSampleRate).default(5),
    init: z.enum(["spectral", "pca", "random"]).default("spectral"),
    knn: z.enum(["auto", "exact", "pca"]).default("auto").describe("exact kNN in the input space, or in a PCA projection (auto: pca for large n·d)"),
    pcaDimensions: z.number().int().positive().max(L.projectionDimensions).default(50),
    seed: z.union([z.number(), z.string()]).optional().describe("default: the run's seed for this step (seed: in the pipeline and the step id)"),
    // A pipeline promises the same bytes for the same inputs (as umap-learn goes single-threaded when seeded).
    threads: z.number().int().positive().max(L.threads).default(1).describe("SGD threads: 1 (default) gives bit-identical maps; more run lock-free and faster, with slightly different maps per run"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors }, p) {
    const { seed, ...rest } = p;
    const umap = new Umap({ ...rest, seed: seed ?? ctx.rng.seed });
    const map = await umap.fitTransform(vectors, {
      signal: ctx.signal,
      onProgress: (done, total, message) => ctx.progress(done, total, message),
    });
    return { vectors: map, model: umap.save() };
  },
});
