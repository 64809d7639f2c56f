import { defineStep, type RowMeta } from "@latentflow/core";
import { z } from "zod";
import { compileFilter, filterParam } from "../filter.js";
import { loadIndex } from "../load-index.js";

/** `indexers/query`: the k nearest indexed items of each query vector. */
export const queryStep = defineStep({
  name: "query",
  description: "Search an index (indexers/hnsw or indexers/exact) with query vectors; optionally filtered by metadata.",
  inputs: { index: { type: "model" }, queries: { type: "vectors" } },
  outputs: { neighbors: { type: "records", description: "{ id, neighbors: [ids], distances: [...] } per query, nearest first" } },
  params: z.strictObject({
    k: z.number().int().positive().max(10_000).default(10),
    ef: z.number().int().positive().max(100_000).optional().describe("HNSW candidate list size (default: the index's)"),
    filter: filterParam.optional(),
    threads: z.number().int().positive().max(256).optional().describe("threads to search on (default: all cores)"),
  }),
  resources: { cpuBound: true },
  shardable: "queries",
  async run(ctx, { index: artifact, queries }, p) {
    const index = loadIndex(artifact);
    try {
      const hits = await index.searchBatch(queries, {
        k: p.k,
        ...(p.ef !== undefined ? { ef: p.ef } : {}),
        ...(p.filter ? { filter: compileFilter(p.filter) } : {}),
        ...(p.threads !== undefined ? { threads: p.threads } : {}),
      });
      const neighbors: RowMeta[] = queries.ids.map((id, q) => ({ id, neighbors: hits[q]!.map((h) => h.id), distances: hits[q]!.map((h) => h.distance) }));
      ctx.progress(queries.ids.length, queries.ids.length);
      return { neighbors };
    } finally {
      index.dispose();
    }
  },
});
