import { LatentflowError } from "./errors.js";
import { assertSameSpace, type Space } from "./space.js";

/** Per-row metadata: labels, texts, file names — anything JSON. */
export type RowMeta = Record<string, unknown>;

/** The currency between steps: n vectors of one space, row-major in one Float32Array. */
export interface VectorSet {
  space: Space;
  ids: string[];
  data: Float32Array;
  meta?: RowMeta[];
}

export interface VectorSetInput {
  space: Space;
  data: Float32Array;
  ids?: string[];
  meta?: RowMeta[];
}

/** Number of rows in a vector set. */
export function rowCount(vs: VectorSet): number {
  return vs.ids.length;
}

/**
 * Builds a VectorSet and checks it: data length is n×dim, ids are unique, meta matches n, and no value is
 * NaN or infinite. Ids default to the row numbers "0", "1", ….
 */
export function createVectorSet(input: VectorSetInput): VectorSet {
  const { space, data } = input;
  const dim = space.dim;
  if (data.length % dim !== 0) {
    throw new LatentflowError(
      "E_DIM_MISMATCH",
      `vector set in space '${space.id}': expected data length a multiple of dim ${dim}, found ${data.length}`,
      { hint: "data is row-major n×dim; check the dimension the producer declares" },
    );
  }
  const n = data.length / dim;
  const ids = input.ids ?? Array.from({ length: n }, (_, i) => String(i));
  if (ids.length !== n) {
    throw new LatentflowError("E_SHAPE", `vector set in space '${space.id}': expected ${n} ids (one per row), found ${ids.length}`);
  }
  if (input.meta && input.meta.length !== n) {
    throw new LatentflowError("E_SHAPE", `vector set in space '${space.id}': expected ${n} meta rows, found ${input.meta.length}`);
  }
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (seen.has(id)) throw new LatentflowError("E_DUPLICATE_ID", `vector set in space '${space.id}': id '${id}' appears twice (row ${i})`);
    seen.add(id);
  }
  assertFinite(data, dim, ids, `vector set in space '${space.id}'`);
  return { space, ids, data, ...(input.meta ? { meta: input.meta } : {}) };
}

/** Throws E_NOT_FINITE naming the first row and column holding NaN or ±Infinity. */
export function assertFinite(data: Float32Array, dim: number, ids: readonly string[] | undefined, where: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN exactly when v is NaN or infinite; one comparison per value keeps this cheap.
    if (v - v !== 0) {
      const row = Math.floor(i / dim);
      const id = ids?.[row] ?? String(row);
      throw new LatentflowError("E_NOT_FINITE", `${where}: expected finite numbers, found ${v} at row ${row} (id '${id}'), column ${i % dim}`, {
        hint: "an upstream step produced NaN/Infinity; check its input or normalisation (division by a zero norm?)",
        data: { expected: "finite numbers", found: String(v), where, row, id, column: i % dim },
      });
    }
  }
}

/** Row i as a subarray view (no copy). */
export function vectorAt(vs: VectorSet, i: number): Float32Array {
  const d = vs.space.dim;
  return vs.data.subarray(i * d, (i + 1) * d);
}

/** Rows [start, end) as a new VectorSet sharing the data buffer. */
export function sliceVectorSet(vs: VectorSet, start: number, end: number): VectorSet {
  const d = vs.space.dim;
  return {
    space: vs.space,
    ids: vs.ids.slice(start, end),
    data: vs.data.subarray(start * d, end * d),
    ...(vs.meta ? { meta: vs.meta.slice(start, end) } : {}),
  };
}

/** Concatenates vector sets of one space in order (the gather of a sharded step). */
export function concatVectorSets(parts: readonly VectorSet[]): VectorSet {
  if (parts.length === 0) throw new LatentflowError("E_EMPTY", "cannot concatenate zero vector sets");
  const space = parts[0]!.space;
  let total = 0;
  for (const p of parts) {
    assertSameSpace(space, p.space, "concatenating vector sets");
    total += p.data.length;
  }
  const data = new Float32Array(total);
  const ids: string[] = [];
  const anyMeta = parts.some((p) => p.meta);
  const meta: RowMeta[] = [];
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
    for (const id of p.ids) ids.push(id);
    if (anyMeta) for (let i = 0; i < p.ids.length; i++) meta.push(p.meta?.[i] ?? {});
  }
  return createVectorSet({ space, data, ids, ...(anyMeta ? { meta } : {}) });
}
