import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { REDUCER_LIMITS as L } from "../limits.js";
import { evaluateEmbedding } from "./quality.js";

/** `reducers/evaluate`: how faithful a low-dimensional map is to the vectors it was made from. */
export const evaluateStep = defineStep({
  name: "evaluate",
  description: "Quality of a map: trustworthiness@k, continuity@k, preserved k-nearest neighbours and kNN accuracy (sampled for large n).",
  inputs: {
    vectors: { type: "vectors", description: "the high-dimensional vectors the map was made from" },
    map: { type: "vectors", description: "the map: same ids in the same order" },
  },
  outputs: { report: { type: "json", description: "{ n, queries, sampled, k, trustworthiness, continuity, preservedNeighbors, knnAccuracy? }" } },
  params: z.strictObject({
    k: z.number().int().positive().max(L.neighbours).default(15).describe("neighbourhood size"),
    sample: z.number().int().positive().default(5000).describe("query points averaged over when n is larger"),
    seed: z.union([z.string(), z.number()]).optional().describe("seed of the sampled queries; default: the run's seed for this step (seed: in the pipeline and the step id)"),
    knnK: z.number().int().positive().max(L.neighbours).default(10).describe("k of the kNN classifier in the map"),
    labelField: z.string().default("label"),
    metric: z.enum(["l2", "cosine"]).optional().describe("distance in the input space (default: its metric)"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors, map }, p) {
    ctx.progress(0, 1);
    const report = await evaluateEmbedding(vectors, map, { k: p.k, sample: p.sample, seed: p.seed, knnK: p.knnK, labelField: p.labelField, ...(p.metric ? { metric: p.metric } : {}) });
    ctx.progress(1, 1);
    return { report: { ...report, input: vectors.space.id, mapSpace: map.space.id } };
  },
});
