import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { sha256File } from "../hash.js";
import { readNpyFile } from "../io/npy.js";
import { toFloat32 } from "../io/tensor.js";
import { ROWS_FILE, SPACE_FILE, VECTORS_FILE, readVectorSet } from "../io/vector-set-fs.js";
import { inputFile } from "../pipeline/input-files.js";
import { defineStep } from "../plugin.js";
import { defineSpace } from "../space.js";
import { createVectorSet } from "../vector-set.js";

async function hashFiles(paths: string[]): Promise<string> {
  const parts: string[] = [];
  for (const p of paths) parts.push(`${p}:${await sha256File(p)}`);
  return parts.join(",");
}

/** `core/read-npy`: a NumPy `.npy` file as a tensor. */
export const readNpyStep = defineStep({
  name: "read-npy",
  description: "Read a NumPy .npy file (little-endian, C order) as a tensor.",
  inputs: {},
  outputs: { tensor: { type: "tensor" } },
  params: z.strictObject({ path: inputFile(z.string().min(1).describe("the .npy file")) }),
  fingerprint: async (p, env) => hashFiles([env.resolvePath(p.path)]),
  async run(ctx, _in, p) {
    return { tensor: await readNpyFile(ctx.resolvePath(p.path)) };
  },
});

const spaceParams = z.strictObject({
  id: z.string().min(1).describe("name of the space, e.g. the model that made the vectors"),
  metric: z.enum(["l2", "cosine", "ip"]).default("l2"),
  normalized: z.boolean().default(false),
  modality: z.enum(["text", "image", "audio", "multimodal", "tabular", "other"]).default("other"),
  producer: z.string().default("external").describe("what made the vectors"),
  producerVersion: z.string().default("unknown"),
});

/**
 * `core/read-vectors`: vectors made elsewhere. Either a directory in the vector-set format
 * (vectors.npy + rows.jsonl + space.json, as Latentflow writes them) or a 2-D .npy file with a `space`
 * (and optionally a rows.jsonl of ids and metadata).
 */
export const readVectorsStep = defineStep({
  name: "read-vectors",
  description: "Read vectors: a vector-set directory (vectors.npy, rows.jsonl, space.json) or a 2-D .npy plus a space.",
  inputs: {},
  outputs: { vectors: { type: "vectors" } },
  params: z.strictObject({
    path: inputFile(z.string().min(1).describe("a vector-set directory, or a 2-D .npy file")),
    rows: inputFile(z.string()).optional().describe("for a .npy: JSONL with one {id, …meta} line per row"),
    space: spaceParams.optional().describe("for a .npy: the space its vectors belong to"),
  }),
  async fingerprint(p, env) {
    const path = env.resolvePath(p.path);
    const isDir = (await stat(path)).isDirectory();
    const files = isDir ? [VECTORS_FILE, ROWS_FILE, SPACE_FILE].map((f) => join(path, f)) : [path, ...(p.rows ? [env.resolvePath(p.rows)] : [])];
    return hashFiles(files);
  },
  async run(ctx, _in, p) {
    const path = ctx.resolvePath(p.path);
    if ((await stat(path)).isDirectory()) return { vectors: await readVectorSet(path) };
    if (!p.space) {
      throw new LatentflowError("E_PARAM", `read-vectors: ${path} is a .npy file, which does not say which space its vectors belong to`, {
        hint: "add 'space: { id: <model name>, metric: cosine }' (mixing vectors of different models is the classic silent bug)",
      });
    }
    const t = await readNpyFile(path);
    if (t.shape.length !== 2) throw new LatentflowError("E_SHAPE", `read-vectors: expected a 2-D array [n, dim] in ${path}, found shape [${t.shape.join(", ")}]`);
    const [n, dim] = t.shape as [number, number];
    const data = toFloat32(t);
    let ids: string[] | undefined;
    let meta: Record<string, unknown>[] | undefined;
    if (p.rows) {
      const rowsPath = ctx.resolvePath(p.rows);
      const rows = (await readFile(rowsPath, "utf8")).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
      if (rows.length !== n) throw new LatentflowError("E_SHAPE", `read-vectors: expected ${n} rows (one per vector in ${path}), found ${rows.length} in ${rowsPath}`);
      ids = rows.map((r, i) => String(r.id ?? i));
      meta = rows.map(({ id: _id, ...rest }) => rest);
    }
    const s = p.space;
    const space = defineSpace({ id: s.id, dim, metric: s.metric, normalized: s.normalized, modality: s.modality, producer: { name: s.producer, version: s.producerVersion } });
    return { vectors: createVectorSet({ space, data, ...(ids ? { ids } : {}), ...(meta ? { meta } : {}) }) };
  },
});
