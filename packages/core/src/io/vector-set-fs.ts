import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LatentflowError } from "../errors.js";
import { canonicalJson } from "../hash.js";
import { defineSpace, type Space } from "../space.js";
import { createVectorSet, type RowMeta, type VectorSet } from "../vector-set.js";
import { parseJsonl } from "./jsonl.js";
import { encodeNpy, parseNpy } from "./npy.js";

/*
 * The on-disk form of a VectorSet — a directory anyone can read without Latentflow:
 *   vectors.npy  float32 array of shape [n, dim]            numpy.load("vectors.npy")
 *   rows.jsonl   one line per row: {"id": ..., ...meta}     pandas.read_json("rows.jsonl", lines=True)
 *   space.json   the Space as canonical JSON (sorted keys)  json.load(open("space.json"))
 * Row i of rows.jsonl describes row i of vectors.npy.
 */
export const VECTORS_FILE = "vectors.npy";
export const ROWS_FILE = "rows.jsonl";
export const SPACE_FILE = "space.json";

/** The files of a vector set's on-disk form, keyed by file name. Equal vector sets give equal bytes. */
export function encodeVectorSetFiles(vs: VectorSet): Record<string, Uint8Array> {
  const n = vs.ids.length;
  const dim = vs.space.dim;
  if (vs.data.length !== n * dim) {
    throw new LatentflowError("E_SHAPE", `encoding vector set in space '${vs.space.id}': expected ${n} × ${dim} = ${n * dim} values, found ${vs.data.length}`);
  }
  let rows = "";
  for (let i = 0; i < n; i++) {
    const meta = vs.meta?.[i];
    if (meta && Object.hasOwn(meta, "id")) {
      throw new LatentflowError(
        "E_META_RESERVED",
        `encoding vector set in space '${vs.space.id}': expected meta without an 'id' field (rows.jsonl uses it for the row id), found one at row ${i} (id '${vs.ids[i]}')`,
        { hint: "rename the meta field (e.g. to 'sourceId'); the row id is kept separately", data: { row: i, id: vs.ids[i] } },
      );
    }
    // Sorted meta keys make the bytes depend on the values only, not on the order fields were added.
    const rest = meta ? canonicalJson(meta) : "{}";
    rows += `{"id":${JSON.stringify(vs.ids[i])}${rest === "{}" ? "}" : `,${rest.slice(1)}`}\n`;
  }
  return {
    [VECTORS_FILE]: encodeNpy({ dtype: "float32", shape: [n, dim], data: vs.data }),
    [ROWS_FILE]: new TextEncoder().encode(rows),
    [SPACE_FILE]: new TextEncoder().encode(canonicalJson(vs.space)),
  };
}

/**
 * Rebuilds a vector set from its files, checking that they agree (E_SHAPE names both numbers when they do not).
 * Rows whose lines hold only an id give a set without meta. vectors.npy may also be float64 (numpy's default).
 */
export function decodeVectorSetFiles(files: Record<string, Uint8Array>): VectorSet {
  for (const name of [VECTORS_FILE, ROWS_FILE, SPACE_FILE]) {
    if (!files[name]) {
      throw new LatentflowError("E_VECTOR_SET_FORMAT", `reading a vector set: expected a file '${name}', found only ${listNames(files)}`, {
        hint: `a vector set directory holds ${VECTORS_FILE}, ${ROWS_FILE} and ${SPACE_FILE}`,
        data: { missing: name },
      });
    }
  }
  const space = decodeSpace(files[SPACE_FILE]!);
  const tensor = parseNpy(files[VECTORS_FILE]!, VECTORS_FILE);
  if (tensor.shape.length !== 2 || tensor.shape[1] !== space.dim) {
    throw new LatentflowError(
      "E_SHAPE",
      `reading a vector set: ${SPACE_FILE} says dim ${space.dim}, so ${VECTORS_FILE} should have shape [n, ${space.dim}]; found [${tensor.shape.join(", ")}]`,
      { hint: "the vectors and the space description come from different runs; re-export them together", data: { expected: space.dim, found: tensor.shape } },
    );
  }
  let data: Float32Array;
  if (tensor.dtype === "float32") {
    // Copy so the set owns its memory rather than pinning (and aliasing) the caller's file buffer.
    data = new Float32Array(tensor.data as Float32Array);
  } else if (tensor.dtype === "float64") {
    data = Float32Array.from(tensor.data as Float64Array);
  } else {
    throw new LatentflowError("E_VECTOR_SET_FORMAT", `reading a vector set: expected ${VECTORS_FILE} of dtype float32 (or float64), found ${tensor.dtype}`, {
      hint: "save the vectors as floats: numpy.save('vectors.npy', a.astype('float32'))",
      data: { dtype: tensor.dtype },
    });
  }

  const lines = parseJsonl<unknown>(new TextDecoder("utf-8").decode(files[ROWS_FILE]!), ROWS_FILE);
  const n = tensor.shape[0]!;
  if (lines.length !== n) {
    throw new LatentflowError("E_SHAPE", `reading a vector set: ${VECTORS_FILE} has ${n} rows, ${ROWS_FILE} has ${lines.length}`, {
      hint: "each row of vectors.npy needs one line in rows.jsonl, in the same order",
      data: { vectors: n, rows: lines.length },
    });
  }
  const ids: string[] = new Array(n);
  const meta: RowMeta[] = new Array(n);
  let anyMeta = false;
  for (let i = 0; i < n; i++) {
    const line = lines[i];
    if (!line || typeof line !== "object" || Array.isArray(line)) {
      throw rowError(i, `an object`, JSON.stringify(line));
    }
    const { id, ...rest } = line as Record<string, unknown>;
    // pandas writes integer ids as JSON numbers; ids are strings everywhere else in Latentflow.
    if (typeof id === "string") ids[i] = id;
    else if (typeof id === "number" && Number.isFinite(id)) ids[i] = String(id);
    else throw rowError(i, `an "id" string`, id === undefined ? "no id" : JSON.stringify(id));
    meta[i] = rest;
    if (Object.keys(rest).length > 0) anyMeta = true;
  }
  return createVectorSet({ space, data, ids, ...(anyMeta ? { meta } : {}) });
}

/** Writes a vector set as `vectors.npy`, `rows.jsonl` and `space.json` into `dir` (created if missing). */
export async function writeVectorSet(dir: string, vs: VectorSet): Promise<void> {
  const files = encodeVectorSetFiles(vs);
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
}

/** Reads a vector set directory written by writeVectorSet (or by hand with numpy and pandas). */
export async function readVectorSet(dir: string): Promise<VectorSet> {
  const files: Record<string, Uint8Array> = {};
  for (const name of [VECTORS_FILE, ROWS_FILE, SPACE_FILE]) {
    try {
      files[name] = await readFile(join(dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      throw new LatentflowError("E_VECTOR_SET_FORMAT", `reading vector set '${dir}': expected a file '${name}', found none`, {
        hint: `a vector set directory holds ${VECTORS_FILE}, ${ROWS_FILE} and ${SPACE_FILE}`,
        cause: e,
        data: { dir, missing: name },
      });
    }
  }
  return decodeVectorSetFiles(files);
}

function decodeSpace(bytes: Uint8Array): Space {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8").decode(bytes));
  } catch (cause) {
    throw new LatentflowError("E_VECTOR_SET_FORMAT", `reading a vector set: expected ${SPACE_FILE} to hold JSON, found invalid JSON (${(cause as Error).message})`, {
      cause,
    });
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new LatentflowError("E_VECTOR_SET_FORMAT", `reading a vector set: expected ${SPACE_FILE} to hold a JSON object, found ${JSON.stringify(value)}`);
  }
  const s = value as Partial<Space>;
  if (!s.producer || typeof s.producer !== "object") {
    throw new LatentflowError("E_VECTOR_SET_FORMAT", `reading a vector set: expected ${SPACE_FILE} to name a producer {name, version}, found ${JSON.stringify(s.producer)}`);
  }
  return defineSpace(s as Space);
}

function rowError(i: number, expected: string, found: string): LatentflowError {
  return new LatentflowError("E_VECTOR_SET_FORMAT", `reading a vector set: expected row ${i} of ${ROWS_FILE} to hold ${expected}, found ${found}`, {
    hint: 'each line of rows.jsonl is an object like {"id": "a", "label": 3}',
    data: { row: i },
  });
}

function listNames(files: Record<string, Uint8Array>): string {
  const names = Object.keys(files);
  return names.length === 0 ? "no files" : names.map((n) => `'${n}'`).join(", ");
}
