import { readFile, realpath, stat } from "node:fs/promises";
import { dirname, extname, isAbsolute, join, relative, sep } from "node:path";
import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { sha256, sha256File } from "../hash.js";
import { parseCsv, readCsvText } from "../io/csv.js";
import { readIdxItems } from "../io/idx.js";
import { DEFAULT_MAX_FILE_BYTES, listFiles, readFileItems, safeRelativePath } from "../io/items-fs.js";
import { readJsonl } from "../io/jsonl.js";
import { imageValues, mediaItem, textItem, type ImagePayload, type Item } from "../items.js";
import { checkMediaContainer } from "../media/check.js";
import { sniffMediaType } from "../media/sniff.js";
import { inputFile } from "../pipeline/input-files.js";
import { defineStep } from "../plugin.js";
import type { RowMeta } from "../vector-set.js";

const MAX_FILE_BYTES = 2 ** 31 - 1;

/** Size and modification time of every file taken: editing, adding or removing a file changes the key. */
async function listingFingerprint(root: string, paths: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const p of paths) {
    const s = await stat(join(root, p)).catch(() => undefined);
    parts.push(`${p}\t${s ? `${s.size}\t${s.mtimeMs}` : "missing"}`);
  }
  return sha256(parts.join("\n"));
}

const readFilesParams = z.strictObject({
  dir: inputFile(z.string().min(1)).describe("folder to read (relative to the pipeline file); sub-folders are read too"),
  include: z.array(z.string().min(1)).max(1000).optional().describe("glob patterns of relative paths to take, e.g. ['**/*.png'] (default: every file)"),
  exclude: z.array(z.string().min(1)).max(1000).optional().describe("glob patterns of relative paths to leave out"),
  labels: z.enum(["top", "parent", "none"]).default("top").describe("meta.label from folders: top = first folder under dir (root/<class>/…), parent = the file's own folder, none"),
  mediaTypes: z.array(z.string().regex(/^[a-z]+\/([a-z0-9.+-]+|\*)$/)).max(100).optional().describe("media types to keep, e.g. ['image/*'] (identified by their bytes, never the file name)"),
  hidden: z.boolean().default(false).describe("read files and folders whose names start with a dot"),
  limit: z.number().int().positive().max(100_000_000).optional().describe("read at most this many files (in path order)"),
  maxFileBytes: z.number().int().positive().max(MAX_FILE_BYTES).default(DEFAULT_MAX_FILE_BYTES).describe("a larger file fails as an item (E_FILE_TOO_LARGE)"),
});

/** `core/read-files`: a folder tree (or a glob in it) → one media item per file, label from its folders. */
export const readFilesStep = defineStep({
  name: "read-files",
  description: "Read a folder tree (optionally filtered by globs and media types) as media items: the files' bytes, media types sniffed from the bytes, labels from folder names; a damaged file is an item failure under onError.",
  inputs: {},
  outputs: { items: { type: "items", description: "one media item per file: id = relative path, meta { path, name, size, label }" } },
  params: readFilesParams,
  resources: { memoryMb: 2048 },
  async fingerprint(p, env) {
    const root = env.resolvePath(p.dir);
    const paths = await listFiles(root, p);
    return listingFingerprint(root, p.limit ? paths.slice(0, p.limit) : paths);
  },
  async run(ctx, _inputs, p) {
    const items = await readFileItems(ctx.resolvePath(p.dir), {
      ...p,
      signal: ctx.signal,
      onItemError: (item, error) => ctx.itemFailed(item, error),
      onProgress: (done, total) => ctx.progress(done, total, "files"),
    });
    return { items };
  },
});

const readItemsParams = z
  .strictObject({
    path: inputFile(z.string().min(1)).describe("a JSONL (.jsonl, .jsonl.gz) or CSV (.csv, .tsv) file of rows"),
    textField: z.string().min(1).optional().describe("the field holding each row's text: text items"),
    pathField: z.string().min(1).optional().describe("the field naming each row's media file (relative to root): media items"),
    idField: z.string().min(1).default("id").describe("field holding the row's id (else the row number)"),
    root: inputFile(z.string().min(1)).optional().describe("folder the file paths are relative to and must stay inside (default: the folder of `path`)"),
    mediaTypes: z.array(z.string().regex(/^[a-z]+\/([a-z0-9.+-]+|\*)$/)).max(100).optional().describe("media types a file must have (identified by its bytes)"),
    maxFileBytes: z.number().int().positive().max(MAX_FILE_BYTES).default(DEFAULT_MAX_FILE_BYTES),
    limit: z.number().int().positive().max(100_000_000).optional().describe("read at most this many rows"),
  })
  .refine((p) => (p.textField === undefined) !== (p.pathField === undefined), { message: "set exactly one of textField (text items) and pathField (media files)" });

type ReadItemsParams = z.output<typeof readItemsParams>;

async function readRows(path: string, limit: number | undefined): Promise<RowMeta[]> {
  const ext = extname(path.replace(/\.gz$/, "")).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") {
    const text = await readCsvText(path); // gunzipped as it streams, bounded (E_TOO_LARGE)
    const rows = parseCsv(text, { delimiter: ext === ".tsv" ? "\t" : ",", file: path });
    return limit ? rows.slice(0, limit) : rows;
  }
  if (ext !== ".jsonl" && ext !== ".ndjson") {
    throw new LatentflowError("E_PARAM", `read-items: expected a .jsonl, .ndjson, .csv or .tsv file (optionally .gz), found '${ext || "no extension"}' in ${path}`);
  }
  const rows: RowMeta[] = [];
  let line = 0;
  for await (const r of readJsonl<unknown>(path)) {
    line++;
    if (!r || typeof r !== "object" || Array.isArray(r)) {
      throw new LatentflowError("E_JSONL_PARSE", `${path}: row ${line}: expected a JSON object, found ${Array.isArray(r) ? "an array" : JSON.stringify(r)}`);
    }
    rows.push(r as RowMeta);
    if (limit && rows.length >= limit) break;
  }
  return rows;
}

function rootOf(p: ReadItemsParams, resolvePath: (s: string) => string): { file: string; root: string } {
  const file = resolvePath(p.path);
  return { file, root: p.root ? resolvePath(p.root) : dirname(file) };
}

/** Whether `target` lies inside `root` once symbolic links are followed (a link may not lead out). */
async function inside(root: string, target: string): Promise<boolean> {
  const [r, t] = await Promise.all([realpath(root).catch(() => root), realpath(target).catch(() => target)]);
  const rel = relative(r, t);
  return rel !== "" && !isAbsolute(rel) && rel.split(sep)[0] !== "..";
}

/** `core/read-items`: rows of a JSONL/CSV file → text items (a field holds the text) or media items (a field names the file). */
export const readItemsStep = defineStep({
  name: "read-items",
  description: "Read rows of a JSONL or CSV file as items: text items from a text field, or media items from a field naming a file (relative to root, never outside it); the other fields become meta.",
  inputs: {},
  outputs: { items: { type: "items" } },
  params: readItemsParams,
  resources: { memoryMb: 2048 },
  async fingerprint(p, env) {
    const { file, root } = rootOf(p, env.resolvePath);
    const table = await sha256File(file);
    if (!p.pathField) return table;
    const rows = await readRows(file, p.limit);
    const paths = rows.map((r) => safeRelativePath(r[p.pathField!])).filter((x): x is string => x !== undefined);
    return `${table}:${await listingFingerprint(root, paths)}`;
  },
  async run(ctx, _inputs, p) {
    const { file, root } = rootOf(p, ctx.resolvePath);
    const rows = await readRows(file, p.limit);
    const keep = p.mediaTypes?.length ? (t: string) => p.mediaTypes!.some((m) => (m.endsWith("/*") ? t.startsWith(m.slice(0, -1)) : t === m)) : () => true;
    const items: Item[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < rows.length; i++) {
      if (ctx.signal.aborted) break;
      const row = rows[i]!;
      const raw = row[p.idField];
      const id = typeof raw === "string" || typeof raw === "number" ? String(raw) : String(i);
      const { [p.idField]: _id, ...meta } = row;
      const where = `${file}, row ${i + 1} (id '${id}')`;
      try {
        if (seen.has(id)) throw new LatentflowError("E_DUPLICATE_ID", `${where}: id '${id}' appears twice`, { hint: `ids come from the field '${p.idField}'; make them unique, or set idField to another field` });
        if (p.textField) {
          const t = row[p.textField];
          if (typeof t !== "string" || t.trim() === "") {
            throw new LatentflowError("E_EMPTY_TEXT", `${where}: expected a non-empty string in field '${p.textField}', found ${t === undefined ? "no such field" : JSON.stringify(t)}`);
          }
          const { [p.textField]: _t, ...rest } = meta;
          items.push(textItem(id, t, rest));
        } else {
          const rel = safeRelativePath(row[p.pathField!]);
          const target = rel ? join(root, ...rel.split("/")) : undefined;
          if (!rel || !target || !(await inside(root, target))) {
            throw new LatentflowError("E_PATH_OUTSIDE", `${where}: expected field '${p.pathField}' to hold a relative path inside ${root}, found ${JSON.stringify(row[p.pathField!])}`, {
              hint: "paths in the table are relative to root (default: the table's folder) and may not leave it; set root to a folder that holds them",
            });
          }
          const s = await stat(target).catch(() => undefined);
          if (!s?.isFile()) throw new LatentflowError("E_FILE_NOT_FOUND", `${where}: expected a file at ${target}, found ${s ? "a folder" : "nothing"}`);
          if (s.size > p.maxFileBytes) throw new LatentflowError("E_FILE_TOO_LARGE", `${where}: expected at most ${p.maxFileBytes} bytes, found ${s.size} in ${target}`);
          const bytes = new Uint8Array(await readFile(target));
          if (bytes.length === 0) throw new LatentflowError("E_EMPTY_FILE", `${where}: ${target} is empty`);
          const type = sniffMediaType(bytes);
          if (!type) throw new LatentflowError("E_MEDIA_TYPE", `${where}: ${target} is of no media type we know (by its bytes)`);
          if (!keep(type)) throw new LatentflowError("E_MEDIA_TYPE", `${where}: expected one of ${p.mediaTypes!.join(", ")}, found ${type} in ${target}`);
          checkMediaContainer(bytes, type, target);
          items.push(mediaItem(id, type, bytes, { ...meta, path: rel }));
        }
        seen.add(id);
      } catch (e) {
        ctx.itemFailed({ index: i, id }, e);
      }
      ctx.progress(i + 1, rows.length, "rows");
    }
    if (ctx.signal.aborted) throw new LatentflowError("E_CANCELLED", `read-items ${file}: cancelled`);
    return { items };
  },
});

/** `core/read-idx-items`: IDX images (n × h × w, or n × h × w × c) → decoded image items in their own shape. */
export const readIdxItemsStep = defineStep({
  name: "read-idx-items",
  description: "Read an IDX file of images (MNIST format, plain or gzipped) as image items keeping their shape (28×28 grey for MNIST), labels in meta.",
  inputs: {},
  outputs: { items: { type: "items", description: "one image item per IDX item; meta.label when labels are given" } },
  params: z.strictObject({
    images: inputFile(z.string().min(1)).describe("IDX file of images: n × height × width (grey) or n × height × width × channels"),
    labels: inputFile(z.string().min(1)).optional().describe("IDX file of labels, one per image; stored as meta.label"),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().positive().max(100_000_000).optional(),
    idPrefix: z.string().max(200).default(""),
  }),
  resources: { memoryMb: 1024 },
  async fingerprint(p, env) {
    const files = [p.images, ...(p.labels ? [p.labels] : [])];
    return (await Promise.all(files.map((f) => sha256File(env.resolvePath(f))))).join(",");
  },
  async run(ctx, _inputs, p) {
    const path = ctx.resolvePath(p.images);
    // Only the images asked for are read (and inflated): the header says where they are.
    const { tensor: t, total: n } = await readIdxItems(path, { offset: p.offset, ...(p.limit ? { limit: p.limit } : {}) });
    const [, h = 0, w = 0, c = 1] = t.shape;
    if ((t.shape.length !== 3 && t.shape.length !== 4) || ![1, 2, 3, 4].includes(c)) {
      throw new LatentflowError("E_SHAPE", `read-idx-items: expected images of shape n × height × width (× 1–4 channels), found [${t.shape.join(", ")}] in ${path}`, {
        hint: t.shape.length === 1 ? "this looks like a labels file: pass it as labels:" : "use core/read-idx for other tensors",
      });
    }
    if (p.offset > n || (n > 0 && p.offset === n)) throw new LatentflowError("E_PARAM", `read-idx-items: offset ${p.offset} is past the end of ${path} (${n} images)`);
    const count = t.shape[0] ?? 0;
    let labels: ArrayLike<number | bigint> | undefined;
    if (p.labels) {
      const lp = ctx.resolvePath(p.labels);
      const { tensor: l, total: labelTotal } = await readIdxItems(lp, { offset: p.offset, limit: Math.max(1, count) });
      if (l.shape.length !== 1 || labelTotal !== n) {
        throw new LatentflowError("E_SHAPE", `read-idx-items: expected ${n} labels (shape [${n}]) for the images of ${path}, found shape [${[labelTotal, ...l.shape.slice(1)].join(", ")}] in ${lp}`, {
          hint: l.shape.length > 1 ? "this looks like an images file: pass it as images:" : undefined,
        });
      }
      labels = l.data as ArrayLike<number | bigint>;
    }
    const shape = { width: w, height: h, channels: c as ImagePayload["channels"] };
    const size = imageValues(shape);
    const items: Item[] = [];
    for (let i = 0; i < count; i++) {
      const at = i * size;
      const src = t.data.subarray(at, at + size);
      const data = t.dtype === "uint8" ? new Uint8Array(src as Uint8Array) : t.dtype === "uint16" ? new Uint16Array(src as Uint16Array) : Float32Array.from(src as ArrayLike<number>, Number);
      const meta: RowMeta = labels ? { label: Number(labels[i]) } : {};
      items.push({ id: `${p.idPrefix}${p.offset + i}`, meta, payload: { kind: "image", ...shape, data } });
    }
    ctx.progress(count, count, "images");
    return { items };
  },
});
