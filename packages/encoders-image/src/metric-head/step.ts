import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { MetricHead } from "./metric-head.js";

/** `encoders-image/metric-head`: train a triplet-loss projection on labelled vectors; apply it to them (or to other vectors of the same space). */
export const metricHeadStep = defineStep({
  name: "metric-head",
  description: "Train a metric head on frozen features and labels (a linear projection to unit vectors with a triplet loss: same-label points near, others a margin further) and apply it; deterministic for a seed. The model output can be applied to new vectors of the same space by this step's 'apply' input.",
  inputs: {
    vectors: { type: "vectors", description: "labelled training vectors (meta.<labelField>)" },
    apply: { type: "vectors", optional: true, description: "vectors of the same space to transform (default: the training vectors)" },
  },
  outputs: {
    vectors: { type: "vectors", description: "the transformed vectors (unit length, cosine)" },
    model: { type: "model", description: "the trained head (kind encoders-image/metric-head)" },
  },
  params: z.strictObject({
    dimensions: z.number().int().min(1).max(4096).default(64),
    labelField: z.string().min(1).default("label"),
    margin: z.number().positive().max(4).default(0.2),
    steps: z.number().int().min(1).max(1_000_000).default(1000),
    batchSize: z.number().int().min(1).max(4096).default(64),
    learningRate: z.number().positive().max(1).default(0.003),
    negatives: z.number().int().min(1).max(256).default(8),
    seed: z.union([z.string().max(200), z.number()]).optional().describe("seed of the triplet sampling and the initial weights; default: the run's seed for this step (seed: in the pipeline and the step id)"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors, apply }, p) {
    const head = new MetricHead(p);
    await head.fit(vectors, { signal: ctx.signal, onProgress: (d, t) => ctx.progress(d, t, "steps") });
    return { vectors: await head.transform(apply ?? vectors, { signal: ctx.signal }), model: head.save() };
  },
});
