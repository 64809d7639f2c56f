import { LatentflowError, type RowMeta, type StepContext } from "@latentflow/core";

/** The texts of a records input, with the ids and meta of the rows kept. */
export interface TextRows {
  texts: string[];
  ids: string[];
  meta: RowMeta[];
  /** Index within `records` of each text kept, for ctx.itemFailed of later per-text failures. */
  indices: number[];
}

/**
 * Takes `field` of each record as its text. A record whose text is missing, not a string or empty is
 * reported through ctx.itemFailed (the step's onError policy: `fail` stops, `skip` reports and leaves
 * it out). Ids come from `idField` when the records carry one, else the row number (offset by the
 * shard's offset, so shards of one input never share ids). Meta is the record without its id field
 * (vector sets keep the id apart and reserve `id` in meta; another field named `id` becomes `sourceId`).
 */
export function textsFromRecords(ctx: Pick<StepContext, "itemFailed" | "shard">, records: readonly RowMeta[], field: string, idField = "id"): TextRows {
  const texts: string[] = [];
  const ids: string[] = [];
  const meta: RowMeta[] = [];
  const indices: number[] = [];
  const offset = ctx.shard?.offset ?? 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const raw = r[idField];
    const id = typeof raw === "string" || typeof raw === "number" ? String(raw) : String(offset + i);
    const t = r[field];
    if (typeof t !== "string" || t.trim() === "") {
      const found = t === undefined ? `no field '${field}'` : typeof t !== "string" ? `a ${t === null ? "null" : typeof t}` : "an empty text";
      // itemFailed takes the index within this call's records: the executor adds the shard's offset.
      ctx.itemFailed(
        { index: i, id },
        new LatentflowError("E_EMPTY_TEXT", `record ${offset + i} (id ${id}): expected a non-empty string in field '${field}', found ${found}`, {
          hint: `set 'field' to the record field that holds the text; onError: skip leaves such records out`,
          data: { index: offset + i, id, expected: `a non-empty string in '${field}'`, found, where: `record ${offset + i}` },
        }),
      );
      continue;
    }
    texts.push(t);
    ids.push(id);
    meta.push(rowMeta(r, idField));
    indices.push(i);
  }
  return { texts, ids, meta, indices };
}

function rowMeta(r: RowMeta, idField: string): RowMeta {
  const { [idField]: _id, ...rest } = r;
  if (!("id" in rest)) return rest;
  const { id, ...others } = rest;
  return { ...others, sourceId: id };
}
