import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { ExactIndex } from "./exact.js";

/** `indexers/exact`: a brute-force index of the vectors (the ground truth for evaluate). */
export const exactStep = defineStep({
  name: "exact",
  description: "Build an exact (brute-force) index of the vectors: slow to search, always right.",
  inputs: { vectors: { type: "vectors" } },
  outputs: { index: { type: "model", description: "an indexers/exact model artifact" } },
  params: z.strictObject({}),
  async run(ctx, { vectors }) {
    const index = ExactIndex.fromVectorSet(vectors);
    try {
      ctx.progress(vectors.ids.length, vectors.ids.length);
      return { index: index.save() };
    } finally {
      index.dispose();
    }
  },
});
