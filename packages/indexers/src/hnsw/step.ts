import { defineStep, sliceVectorSet } from "@latentflow/core";
import { z } from "zod";
import { HnswIndex } from "./hnsw.js";

const CHUNK = 1000;

/** `indexers/hnsw`: an HNSW graph index of the vectors. */
export const hnswStep = defineStep({
  name: "hnsw",
  description: "Build an approximate nearest-neighbour index (HNSW, hnswlib) of the vectors.",
  inputs: { vectors: { type: "vectors" } },
  outputs: { index: { type: "model", description: "an indexers/hnsw model artifact" } },
  params: z.strictObject({
    m: z.number().int().min(2).max(512).default(16).describe("links per node; more is more accurate, larger and slower to build"),
    efConstruction: z.number().int().positive().max(100_000).default(200).describe("candidate list size while building"),
    ef: z.number().int().positive().max(100_000).default(64).describe("default candidate list size while searching"),
    seed: z.number().int().min(0).optional().describe("seed of the level generator: same seed and input, same index; default: the run's seed for this step (seed: in the pipeline and the step id), as an integer"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors }, p) {
    const n = vectors.ids.length;
    const index = new HnswIndex(vectors.space, { ...p, capacity: Math.max(1, n) });
    try {
      // Chunks only to report progress and honour cancellation; the vectors port already refused NaN and bad shapes.
      for (let start = 0; start < n; start += CHUNK) {
        ctx.signal.throwIfAborted();
        index.add(sliceVectorSet(vectors, start, Math.min(n, start + CHUNK)));
        ctx.progress(Math.min(n, start + CHUNK), n, "vectors indexed");
      }
      return { index: index.save() };
    } finally {
      index.dispose();
    }
  },
});
