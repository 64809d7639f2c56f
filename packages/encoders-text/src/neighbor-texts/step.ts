import { LatentflowError, defineStep, type RowMeta } from "@latentflow/core";
import { z } from "zod";

/** Record id as textsFromRecords gives it: the id field when it holds a string or number, else the row number. */
function recordId(r: RowMeta, i: number, idField: string): string {
  const raw = r[idField];
  return typeof raw === "string" || typeof raw === "number" ? String(raw) : String(i);
}

function textsById(records: readonly RowMeta[], field: string, idField: string): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i < records.length; i++) m.set(recordId(records[i]!, i, idField), records[i]![field]);
  return m;
}

/** `encoders-text/neighbor-texts`: the texts of a search's queries and of their neighbours, to read the result. */
export const neighborTextsStep = defineStep({
  name: "neighbor-texts",
  description: "Join indexers/query neighbours with the texts they were encoded from: { id, text, neighbors: [{ id, text, distance }] } per query.",
  inputs: {
    neighbors: { type: "records", description: "indexers/query output: { id, neighbors, distances }" },
    corpus: { type: "records", description: "the records the index was built from" },
    queries: { type: "records", description: "the records the queries were encoded from" },
  },
  outputs: { results: { type: "records", description: "{ id, text, neighbors: [{ id, text, distance }] } per query, nearest first" } },
  params: z.strictObject({
    field: z.string().min(1).default("text").describe("record field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
  }),
  shardable: "neighbors",
  async run(ctx, { neighbors, corpus, queries }, p) {
    const corpusText = textsById(corpus, p.field, p.idField);
    const queryText = textsById(queries, p.field, p.idField);
    const results: RowMeta[] = neighbors.map((row, q) => {
      const ids = row.neighbors;
      const distances = row.distances;
      if (!Array.isArray(ids) || !Array.isArray(distances)) {
        throw new LatentflowError("E_INPUT", `neighbor-texts: expected neighbours row ${q} to hold 'neighbors' and 'distances' arrays (indexers/query output), found ${JSON.stringify(Object.keys(row))}`, {
          data: { index: q, expected: "{ id, neighbors: [...], distances: [...] }", found: Object.keys(row), where: `neighbors row ${q}` },
        });
      }
      const id = String(row.id);
      return {
        id,
        text: queryText.get(id) ?? null,
        neighbors: ids.map((n, k) => ({ id: String(n), text: corpusText.get(String(n)) ?? null, distance: distances[k] })),
      };
    });
    ctx.progress(results.length, results.length);
    return { results };
  },
});
