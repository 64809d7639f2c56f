import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { exactKnn } from "../kernels/knn.js";
import { defineStep } from "../plugin.js";
import { assertSameSpace } from "../space.js";
import type { RowMeta, VectorSet } from "../vector-set.js";

const metric = z.enum(["l2", "cosine", "ip"]).optional().describe("override the space's metric");

function checkPair(base: VectorSet, queries: VectorSet, where: string): void {
  assertSameSpace(base.space, queries.space, where);
  if (base.ids.length === 0) throw new LatentflowError("E_EMPTY", `${where}: the reference set is empty`);
}

/** `core/knn`: exact k nearest neighbours of each query among the base vectors. */
export const knnStep = defineStep({
  name: "knn",
  description: "Exact k-nearest-neighbour search (the ground truth every index is measured against).",
  inputs: { base: { type: "vectors" }, queries: { type: "vectors" } },
  outputs: { neighbors: { type: "records", description: "{ id, neighbors: [ids], distances: [...] } per query" } },
  params: z.strictObject({ k: z.number().int().positive().max(10_000).default(10), metric }),
  resources: { cpuBound: true },
  shardable: "queries",
  async run(ctx, { base, queries }, p) {
    checkPair(base, queries, "core/knn");
    const dim = base.space.dim;
    const r = await exactKnn(base.data, queries.data, dim, p.k, { metric: p.metric ?? base.space.metric, signal: ctx.signal });
    const neighbors: RowMeta[] = queries.ids.map((id, q) => {
      const idx = Array.from(r.indices.subarray(q * r.k, (q + 1) * r.k));
      return { id, neighbors: idx.map((i) => base.ids[i]!), distances: Array.from(r.distances.subarray(q * r.k, (q + 1) * r.k)) };
    });
    ctx.progress(queries.ids.length, queries.ids.length);
    return { neighbors };
  },
});

/** `core/knn-classify`: label each query by majority vote of its k nearest labelled reference vectors. */
export const knnClassifyStep = defineStep({
  name: "knn-classify",
  description: "k-NN classification: each query gets the majority label of its k nearest reference vectors (ties: nearest wins).",
  inputs: { reference: { type: "vectors", description: "labelled vectors (meta[labelField])" }, queries: { type: "vectors" } },
  outputs: { predictions: { type: "records", description: "{ id, predicted, <labelField>? } per query: the query's own label under the same field name" } },
  params: z.strictObject({ k: z.number().int().positive().max(10_000).default(1), labelField: z.string().default("label"), metric }),
  resources: { cpuBound: true },
  shardable: "queries",
  async run(ctx, { reference, queries }, p) {
    checkPair(reference, queries, "core/knn-classify");
    const labels = reference.ids.map((id, i) => {
      const v = reference.meta?.[i]?.[p.labelField];
      if (v === undefined || v === null) {
        throw new LatentflowError("E_LABEL", `core/knn-classify: reference row ${i} (id '${id}') has no '${p.labelField}' in its meta`, {
          hint: "read the reference set with its labels (e.g. read-idx with 'labels:'), or set 'labelField'",
        });
      }
      return v as string | number;
    });
    const r = await exactKnn(reference.data, queries.data, reference.space.dim, p.k, { metric: p.metric ?? reference.space.metric, signal: ctx.signal });
    const predictions: RowMeta[] = queries.ids.map((id, q) => {
      const votes = new Map<string | number, number>();
      let best: string | number = labels[r.indices[q * r.k]!]!;
      let bestVotes = 0;
      // Walking neighbours nearest-first and requiring strictly more votes breaks ties toward the nearer label.
      for (let j = 0; j < r.k; j++) {
        const l = labels[r.indices[q * r.k + j]!]!;
        const v = (votes.get(l) ?? 0) + 1;
        votes.set(l, v);
        if (v > bestVotes) {
          bestVotes = v;
          best = l;
        }
      }
      const truth = queries.meta?.[q]?.[p.labelField];
      // The truth keeps its field name, so core/accuracy with the same labelField finds it.
      return { id, predicted: best, ...(truth !== undefined ? { [p.labelField]: truth } : {}) };
    });
    ctx.progress(queries.ids.length, queries.ids.length);
    return { predictions };
  },
});

/** `core/accuracy`: share of records whose `predicted` equals `label`, overall and per class. */
export const accuracyStep = defineStep({
  name: "accuracy",
  description: "Classification accuracy of predictions ({ predicted, label } records), overall and per class.",
  inputs: { predictions: { type: "records" } },
  outputs: { report: { type: "json" } },
  params: z.strictObject({ predictedField: z.string().default("predicted"), labelField: z.string().default("label") }),
  async run(_ctx, { predictions }, p) {
    let correct = 0;
    let total = 0;
    const perClass: Record<string, { correct: number; total: number }> = {};
    for (const [i, row] of predictions.entries()) {
      const truth = row[p.labelField];
      if (truth === undefined) throw new LatentflowError("E_LABEL", `core/accuracy: record ${i} has no '${p.labelField}' to compare with`);
      const c = (perClass[String(truth)] ??= { correct: 0, total: 0 });
      total++;
      c.total++;
      if (row[p.predictedField] === truth) {
        correct++;
        c.correct++;
      }
    }
    if (total === 0) throw new LatentflowError("E_EMPTY", "core/accuracy: no predictions to score");
    return { report: { accuracy: correct / total, correct, total, perClass } };
  },
});
