import { performance } from "node:perf_hooks";
import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { ExactIndex } from "../exact/exact.js";
import { compileFilter, filterParam } from "../filter.js";
import { loadIndex } from "../load-index.js";
import type { IndexFilter, Neighbor, VectorIndex } from "@latentflow/core";
import { recallAtK } from "./recall.js";

const efParam = z.number().int().positive().max(100_000);

/** Single-thread queries per second of `index.search` over all queries, and the hits. */
function timeSearch(index: VectorIndex, data: Float32Array, dim: number, k: number, ef: number | undefined, filter: IndexFilter | undefined): { hits: Neighbor[][]; qps: number; seconds: number } {
  const m = data.length / dim;
  const hits: Neighbor[][] = [];
  const t0 = performance.now();
  for (let i = 0; i < m; i++) {
    hits.push(index.search(data.subarray(i * dim, (i + 1) * dim), { k, ...(ef !== undefined ? { ef } : {}), ...(filter ? { filter } : {}) }));
  }
  const seconds = (performance.now() - t0) / 1000;
  return { hits, qps: m / seconds, seconds };
}

/** `indexers/evaluate`: recall@k against exact search, and queries per second. */
export const evaluateStep = defineStep({
  name: "evaluate",
  description: "Measure an index: recall@k against exact search (a given ground-truth index, or an ExactIndex of the same vectors), per ef; with timing: true also single-thread and batch QPS (times differ from run to run, so the report does).",
  inputs: {
    index: { type: "model" },
    queries: { type: "vectors" },
    truth: { type: "model", optional: true, description: "ground-truth index (e.g. indexers/exact); default: an exact index of the index's own vectors" },
  },
  outputs: { report: { type: "json", description: "{ k, queries, index, truth, results: [{ ef, recall, qps }], batch }" } },
  params: z.strictObject({
    k: z.number().int().positive().max(10_000).default(10),
    ef: z.union([efParam, z.array(efParam).min(1)]).optional().describe("HNSW candidate list size(s) to measure (default: the index's)"),
    filter: filterParam.optional(),
    timing: z.boolean().default(false).describe("also measure queries/second: the report then differs from run to run (a pipeline's artifacts are otherwise the same bytes on any machine)"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { index: artifact, queries, truth: truthArtifact }, p) {
    const index = loadIndex(artifact);
    const truthIndex = truthArtifact ? loadIndex(truthArtifact) : ExactIndex.fromVectorSet(index.toVectorSet());
    try {
      const filter = p.filter ? compileFilter(p.filter) : undefined;
      const opts = { k: p.k, ...(filter ? { filter } : {}) };
      const t0 = performance.now();
      const truth = await truthIndex.searchBatch(queries, opts);
      const truthSeconds = (performance.now() - t0) / 1000;
      const efs = p.ef === undefined ? [undefined] : Array.isArray(p.ef) ? p.ef : [p.ef];
      const results = [];
      for (const [i, ef] of efs.entries()) {
        ctx.signal.throwIfAborted();
        const r = timeSearch(index, queries.data, queries.space.dim, p.k, ef, filter);
        results.push({ ef: ef ?? null, recall: recallAtK(r.hits, truth, p.k), ...(p.timing ? { qps: r.qps, seconds: r.seconds } : {}) });
        ctx.progress(i + 1, efs.length, `ef=${ef ?? "default"}`);
      }
      // The batch path on every core, at the first ef, for the speed-up over one thread.
      let batchSeconds = 0;
      if (p.timing) {
        const tb = performance.now();
        await index.searchBatch(queries, { ...opts, ...(efs[0] !== undefined ? { ef: efs[0] } : {}) });
        batchSeconds = (performance.now() - tb) / 1000;
      }
      return {
        report: {
          k: p.k,
          queries: queries.ids.length,
          filter: p.filter ?? null,
          index: { kind: artifact.kind, size: index.size, space: index.space.id, metric: index.space.metric },
          truth: { kind: truthArtifact ? truthArtifact.kind : "indexers/exact (built from the index's vectors)", ...(p.timing ? { seconds: truthSeconds } : {}) },
          results,
          ...(p.timing ? { batch: { ef: efs[0] ?? null, qps: queries.ids.length / batchSeconds, seconds: batchSeconds } } : {}),
        },
      };
    } finally {
      index.dispose();
      truthIndex.dispose();
    }
  },
});
