import { LatentflowError, assertFinite, assertSameSpace, type Space, type VectorSet } from "@latentflow/core";

// Every check runs on the whole input before an index is touched, so a refused batch changes nothing.

/** Throws E_DIM_MISMATCH unless `query` has the space's dimension. */
export function checkDim(space: Space, length: number, where: string): void {
  if (length !== space.dim) {
    throw new LatentflowError("E_DIM_MISMATCH", `${where}: expected a vector of dimension ${space.dim} (space '${space.id}'), found ${length}`, {
      hint: "the query must come from the same model and settings as the indexed vectors",
      data: { expected: space.dim, found: length, where },
    });
  }
}

/** Throws E_NOT_FINITE naming the first NaN or ±Infinity (core's check). */
export const checkFinite = assertFinite;

/** Throws E_SPACE_MISMATCH unless `found` is the index's space (core's check). */
export const checkSpace = assertSameSpace;

/** Checks a single query vector. */
export function checkQuery(space: Space, query: Float32Array, where: string): void {
  if (!(query instanceof Float32Array)) {
    throw new LatentflowError("E_PARAM", `${where}: expected the query as a Float32Array, found ${typeof query}`, { data: { expected: "Float32Array", found: typeof query, where } });
  }
  checkDim(space, query.length, where);
  checkFinite(query, space.dim, undefined, where);
}

/** Checks the queries of a batch search and returns them as row-major data. */
export function checkQueries(space: Space, queries: VectorSet | Float32Array, where: string): Float32Array {
  if (queries instanceof Float32Array) {
    if (queries.length % space.dim !== 0) {
      throw new LatentflowError("E_DIM_MISMATCH", `${where}: expected a multiple of dimension ${space.dim} values (space '${space.id}'), found ${queries.length}`, {
        hint: "queries are row-major n×dim",
        data: { expected: space.dim, found: queries.length, where },
      });
    }
    checkFinite(queries, space.dim, undefined, where);
    return queries;
  }
  checkSpace(space, queries.space, where);
  checkShape(queries, where);
  checkFinite(queries.data, space.dim, queries.ids, where);
  return queries.data;
}

function checkShape(vs: VectorSet, where: string): void {
  const n = vs.ids.length;
  if (vs.data.length !== n * vs.space.dim) {
    const found = n > 0 ? vs.data.length / n : vs.data.length;
    throw new LatentflowError("E_DIM_MISMATCH", `${where}: expected ${n} rows of dimension ${vs.space.dim}, found ${vs.data.length} values (${found} per row)`, {
      data: { expected: vs.space.dim, found, where },
    });
  }
}

/**
 * Checks a batch to add or upsert: same space, n×dim values, string ids without repeats, meta rows
 * matching, finite values. With `existing`, ids already in the index fail (E_DUPLICATE_ID).
 */
export function checkBatch(space: Space, vs: VectorSet, where: string, existing?: (id: string) => boolean): void {
  checkSpace(space, vs.space, where);
  checkShape(vs, where);
  const n = vs.ids.length;
  if (vs.meta && vs.meta.length !== n) {
    throw new LatentflowError("E_SHAPE", `${where}: expected ${n} meta rows (one per id), found ${vs.meta.length}`, { data: { expected: n, found: vs.meta.length, where } });
  }
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = vs.ids[i];
    if (typeof id !== "string" || id.length === 0) {
      throw new LatentflowError("E_ID", `${where}: expected a non-empty string id at row ${i}, found ${JSON.stringify(id)}`, { data: { expected: "non-empty string", found: id, where, row: i } });
    }
    if (seen.has(id)) {
      throw new LatentflowError("E_DUPLICATE_ID", `${where}: id '${id}' appears twice in the batch (row ${i})`, { data: { id, row: i, where } });
    }
    seen.add(id);
    if (existing?.(id)) {
      throw new LatentflowError("E_DUPLICATE_ID", `${where}: id '${id}' is already in the index (row ${i})`, {
        hint: "use upsert() to replace existing items, or delete them first",
        data: { id, row: i, where },
      });
    }
  }
  checkFinite(vs.data, space.dim, vs.ids, where);
}

/** Throws E_PARAM unless k is a positive integer and ef, when given, too. */
export function checkSearchOptions(k: number, ef: number | undefined, where: string): void {
  if (!Number.isInteger(k) || k <= 0) throw new LatentflowError("E_PARAM", `${where}: expected k a positive integer, found ${k}`, { data: { expected: "positive integer", found: k, where } });
  if (ef !== undefined && (!Number.isInteger(ef) || ef <= 0)) {
    throw new LatentflowError("E_PARAM", `${where}: expected ef a positive integer, found ${ef}`, { data: { expected: "positive integer", found: ef, where } });
  }
}
