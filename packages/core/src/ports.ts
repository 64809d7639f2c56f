import { LatentflowError } from "./errors.js";
import { canonicalJson } from "./hash.js";
import type { Tensor } from "./io/tensor.js";
import { encodeNpy, parseNpy } from "./io/npy.js";
import { encodeJsonl, parseJsonl } from "./io/jsonl.js";
import { decodeVectorSetFiles, encodeVectorSetFiles } from "./io/vector-set-fs.js";
import { assertFinite, concatVectorSets, sliceVectorSet, type RowMeta, type VectorSet } from "./vector-set.js";
import { checkItem, type Item, type ItemPayload } from "./items.js";
import { createMedia, type Media } from "./media/media.js";
import { extensionFor } from "./media/sniff.js";

/**
 * A trained model as an artifact: a fitted reducer, word vectors, an index. `kind` says which library
 * class can load it (e.g. "reducers/pca"), `format` its version of the file layout.
 */
export interface ModelArtifact {
  kind: string;
  format: string;
  meta: Record<string, unknown>;
  files: Record<string, Uint8Array>;
}

/** What flows through each port type. */
export interface PortTypes {
  vectors: VectorSet;
  tensor: Tensor;
  records: RowMeta[];
  json: unknown;
  model: ModelArtifact;
  items: Item[];
  media: Media;
}

export type PortType = keyof PortTypes;
export const PORT_TYPES: readonly PortType[] = ["vectors", "tensor", "records", "json", "model", "items", "media"];

/** Files of an artifact, by name. */
export type ArtifactFiles = Record<string, Uint8Array>;

/**
 * How a port type becomes files and back. Encoding must be deterministic: the same value gives the same
 * bytes, so artifacts are comparable by hash across executors and machines.
 */
export interface PortCodec<T> {
  /** Throws unless `value` is of this type; `where` names the step and port. */
  check(value: unknown, where: string): asserts value is T;
  encode(value: T): ArtifactFiles;
  decode(files: ArtifactFiles): T;
  /** Present when the type can be sharded: item count, a slice, and the in-order gather. */
  length?(value: T): number;
  slice?(value: T, start: number, end: number): T;
  concat?(parts: T[]): T;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function requireFile(files: ArtifactFiles, name: string, type: string): Uint8Array {
  const f = files[name];
  if (!f) throw new LatentflowError("E_ARTIFACT_FORMAT", `${type} artifact: expected a file '${name}', found ${Object.keys(files).join(", ") || "no files"}`);
  return f;
}

function typeError(where: string, expected: string, value: unknown): LatentflowError {
  const found = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? `an object with keys ${Object.keys(value as object).slice(0, 5).join(", ")}` : typeof value;
  return new LatentflowError("E_PORT_TYPE", `${where}: expected ${expected}, found ${found}`, {
    hint: "a step returned a value that does not match the port type it declares",
  });
}

const vectorsCodec: PortCodec<VectorSet> = {
  check(value, where): asserts value is VectorSet {
    const v = value as VectorSet;
    if (!v || typeof v !== "object" || !(v.data instanceof Float32Array) || !Array.isArray(v.ids) || !v.space) {
      throw typeError(where, "a VectorSet { space, ids, data: Float32Array }", value);
    }
    // A producing step fails on NaN or a bad shape, rather than caching a set its consumers will refuse.
    if (v.data.length !== v.ids.length * v.space.dim) {
      throw new LatentflowError("E_SHAPE", `${where}: expected ${v.ids.length} × ${v.space.dim} = ${v.ids.length * v.space.dim} values, found ${v.data.length}`);
    }
    assertFinite(v.data, v.space.dim, v.ids, where);
  },
  encode: encodeVectorSetFiles,
  decode: decodeVectorSetFiles,
  length: (v) => v.ids.length,
  slice: sliceVectorSet,
  concat: concatVectorSets,
};

function rowSize(t: Tensor): number {
  let s = 1;
  for (let i = 1; i < t.shape.length; i++) s *= t.shape[i]!;
  return s;
}

const tensorCodec: PortCodec<Tensor> = {
  check(value, where): asserts value is Tensor {
    const t = value as Tensor;
    if (!t || typeof t !== "object" || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data)) {
      throw typeError(where, "a Tensor { dtype, shape, data }", value);
    }
  },
  encode: (t) => ({ "tensor.npy": encodeNpy(t) }),
  decode: (files) => parseNpy(requireFile(files, "tensor.npy", "tensor")),
  length: (t) => t.shape[0] ?? 0,
  slice(t, start, end) {
    const r = rowSize(t);
    return { dtype: t.dtype, shape: [end - start, ...t.shape.slice(1)], data: t.data.subarray(start * r, end * r) as Tensor["data"] };
  },
  concat(parts) {
    const first = parts[0]!;
    const r = rowSize(first);
    let rows = 0;
    for (const p of parts) {
      if (p.dtype !== first.dtype || rowSize(p) !== r) {
        throw new LatentflowError("E_SHAPE", `gathering tensors: expected ${first.dtype} rows of shape [${first.shape.slice(1)}], found ${p.dtype} [${p.shape.slice(1)}]`);
      }
      rows += p.shape[0]!;
    }
    const Ctor = first.data.constructor as new (n: number) => Tensor["data"];
    const data = new Ctor(rows * r);
    let off = 0;
    for (const p of parts) {
      (data as Float32Array).set(p.data as Float32Array, off);
      off += p.data.length;
    }
    return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data };
  },
};

/** A copy of a record with object keys in sorted order; values JSON.stringify treats specially (toJSON, typed arrays) stay as they are. */
function sortedRecord(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedRecord);
  if (!value || typeof value !== "object" || ArrayBuffer.isView(value) || typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortedRecord((value as Record<string, unknown>)[k]);
  return out;
}

const recordsCodec: PortCodec<RowMeta[]> = {
  check(value, where): asserts value is RowMeta[] {
    if (!Array.isArray(value)) throw typeError(where, "an array of records", value);
  },
  // Keys sorted as for json and vector meta: equal records give equal bytes whatever order their fields were set in.
  encode: (rows) => ({ "records.jsonl": utf8.encode(encodeJsonl(rows.map(sortedRecord))) }),
  decode: (files) => parseJsonl(fromUtf8.decode(requireFile(files, "records.jsonl", "records"))) as RowMeta[],
  length: (rows) => rows.length,
  slice: (rows, s, e) => rows.slice(s, e),
  concat: (parts) => parts.flat(),
};

const jsonCodec: PortCodec<unknown> = {
  check(value, where): asserts value is unknown {
    if (value === undefined) throw typeError(where, "a JSON value", value);
  },
  encode: (v) => ({ "value.json": utf8.encode(canonicalJson(v)) }),
  decode: (files) => JSON.parse(fromUtf8.decode(requireFile(files, "value.json", "json"))),
};

const MODEL_MANIFEST = "model.json";

const modelCodec: PortCodec<ModelArtifact> = {
  check(value, where): asserts value is ModelArtifact {
    const m = value as ModelArtifact;
    if (!m || typeof m !== "object" || typeof m.kind !== "string" || !m.files || typeof m.files !== "object") {
      throw typeError(where, "a ModelArtifact { kind, format, meta, files }", value);
    }
    if (MODEL_MANIFEST in m.files) throw new LatentflowError("E_PORT_TYPE", `${where}: a model may not have a file named '${MODEL_MANIFEST}' (reserved)`);
  },
  encode: (m) => ({ ...m.files, [MODEL_MANIFEST]: utf8.encode(canonicalJson({ kind: m.kind, format: m.format, meta: m.meta })) }),
  decode(files) {
    const head = JSON.parse(fromUtf8.decode(requireFile(files, MODEL_MANIFEST, "model"))) as Omit<ModelArtifact, "files">;
    const rest: ArtifactFiles = {};
    for (const [k, v] of Object.entries(files)) if (k !== MODEL_MANIFEST) rest[k] = v;
    return { ...head, files: rest };
  },
};

/** Binary parts of items go to one file, each part at an 8-byte aligned offset (zero padding: same items, same bytes). */
const ITEMS_HEAD = "items.jsonl";
const ITEMS_BLOBS = "items.bin";
const BLOB_ALIGN = 8;

type Blob = [offset: number, length: number];
type PixelType = "u8" | "u16" | "f32";

function pixelType(data: Uint8Array | Uint16Array | Float32Array): PixelType {
  return data instanceof Uint8Array ? "u8" : data instanceof Uint16Array ? "u16" : "f32";
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const itemsCodec: PortCodec<Item[]> = {
  check(value, where): asserts value is Item[] {
    if (!Array.isArray(value)) throw typeError(where, "an array of items", value);
    const seen = new Set<string>();
    for (let i = 0; i < value.length; i++) {
      checkItem(value[i], `${where}, item ${i}`);
      const id = (value[i] as Item).id;
      if (seen.has(id)) throw new LatentflowError("E_DUPLICATE_ID", `${where}: item id '${id}' appears twice (item ${i})`, { hint: "item ids name one item each; readers derive them from paths or row numbers" });
      seen.add(id);
    }
  },
  encode(items) {
    const parts: Uint8Array[] = [];
    let size = 0;
    const blob = (b: Uint8Array): Blob => {
      const at = size;
      parts.push(b);
      size += b.byteLength;
      const pad = (BLOB_ALIGN - (size % BLOB_ALIGN)) % BLOB_ALIGN;
      if (pad) {
        parts.push(new Uint8Array(pad));
        size += pad;
      }
      return [at, b.byteLength];
    };
    const lines = items.map((it) => {
      const p = it.payload;
      let head: Record<string, unknown>;
      if (p.kind === "text") head = { kind: "text", text: p.text };
      else if (p.kind === "media") head = { kind: "media", mediaType: p.mediaType, ...(p.bytes ? { blob: blob(p.bytes) } : { ref: p.ref }) };
      else if (p.kind === "image") head = { kind: "image", width: p.width, height: p.height, channels: p.channels, dtype: pixelType(p.data), blob: blob(bytesOf(p.data)) };
      else {
        const frames = p.channels[0]!.length;
        const all = new Float32Array(frames * p.channels.length);
        for (let i = 0; i < p.channels.length; i++) all.set(p.channels[i]!, i * frames);
        head = { kind: "audio", sampleRate: p.sampleRate, channels: p.channels.length, frames, blob: blob(bytesOf(all)) };
      }
      return canonicalJson({ id: it.id, meta: it.meta, payload: head });
    });
    const bin = new Uint8Array(size);
    let off = 0;
    for (const part of parts) {
      bin.set(part, off);
      off += part.byteLength;
    }
    return { [ITEMS_HEAD]: utf8.encode(lines.length ? `${lines.join("\n")}\n` : ""), [ITEMS_BLOBS]: bin };
  },
  decode(files) {
    const bin = files[ITEMS_BLOBS] ?? new Uint8Array(0);
    const copy = (b: Blob): ArrayBuffer => {
      const [at, len] = b;
      if (!(at >= 0 && len >= 0 && at + len <= bin.byteLength)) throw new LatentflowError("E_ARTIFACT_FORMAT", `items artifact: a part at ${at}+${len} lies outside ${ITEMS_BLOBS} (${bin.byteLength} bytes)`);
      // A copy, not a view: `bin` may be a Node Buffer, whose slice() shares (and whose .buffer is) a larger pool.
      const out = new Uint8Array(len);
      out.set(bin.subarray(at, at + len));
      return out.buffer;
    };
    const rows = parseJsonl(fromUtf8.decode(requireFile(files, ITEMS_HEAD, "items"))) as { id: string; meta: RowMeta; payload: Record<string, unknown> & { kind: string; blob?: Blob } }[];
    return rows.map(({ id, meta, payload: h }) => {
      let payload: ItemPayload;
      if (h.kind === "text") payload = { kind: "text", text: h.text as string };
      else if (h.kind === "media") payload = h.blob ? { kind: "media", mediaType: h.mediaType as string, bytes: new Uint8Array(copy(h.blob)) } : { kind: "media", mediaType: h.mediaType as string, ref: h.ref as { artifact: string; file: string } };
      else if (h.kind === "image") {
        const buf = copy(h.blob!);
        const data = h.dtype === "u8" ? new Uint8Array(buf) : h.dtype === "u16" ? new Uint16Array(buf) : new Float32Array(buf);
        payload = { kind: "image", width: h.width as number, height: h.height as number, channels: h.channels as 1 | 2 | 3 | 4, data };
      } else if (h.kind === "audio") {
        const all = new Float32Array(copy(h.blob!));
        const frames = h.frames as number;
        payload = { kind: "audio", sampleRate: h.sampleRate as number, channels: Array.from({ length: h.channels as number }, (_, i) => all.slice(i * frames, (i + 1) * frames)) };
      } else throw new LatentflowError("E_ARTIFACT_FORMAT", `items artifact: unknown payload kind '${h.kind}' (item '${id}')`);
      return { id, meta, payload };
    });
  },
  length: (items) => items.length,
  slice: (items, s, e) => items.slice(s, e),
  concat: (parts) => parts.flat(),
};

const MEDIA_HEAD = "media.json";

const mediaCodec: PortCodec<Media> = {
  check(value, where): asserts value is Media {
    const m = value as Media;
    if (!m || typeof m !== "object" || typeof m.mediaType !== "string" || !(m.bytes instanceof Uint8Array)) {
      throw typeError(where, "a Media { mediaType, bytes: Uint8Array }", value);
    }
    createMedia(m.mediaType, m.bytes, m);
  },
  encode: (m) => ({
    [MEDIA_HEAD]: utf8.encode(canonicalJson({ mediaType: m.mediaType, name: m.name, meta: m.meta })),
    [`media.${extensionFor(m.mediaType)}`]: m.bytes,
  }),
  decode(files) {
    const head = JSON.parse(fromUtf8.decode(requireFile(files, MEDIA_HEAD, "media"))) as Omit<Media, "bytes">;
    const name = `media.${extensionFor(head.mediaType)}`;
    return { ...head, bytes: requireFile(files, name, "media") };
  },
};

const CODECS: { [K in PortType]: PortCodec<PortTypes[K]> } = {
  vectors: vectorsCodec,
  tensor: tensorCodec,
  records: recordsCodec,
  json: jsonCodec,
  model: modelCodec,
  items: itemsCodec,
  media: mediaCodec,
};

/** The codec of a port type. */
export function codecFor<T extends PortType>(type: T): PortCodec<PortTypes[T]> {
  const c = CODECS[type];
  if (!c) throw new LatentflowError("E_PORT_TYPE", `unknown port type '${type}', expected one of ${PORT_TYPES.join(", ")}`);
  return c as PortCodec<PortTypes[T]>;
}

/** True when values of this type can be split into shards and gathered back. */
export function isShardable(type: PortType): boolean {
  const c = CODECS[type];
  return Boolean(c.length && c.slice && c.concat);
}
