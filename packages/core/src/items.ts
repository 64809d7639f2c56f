import { LatentflowError } from "./errors.js";
import type { RowMeta } from "./vector-set.js";

/** A reference to a file of an artifact in the store (e.g. a thumbnail another step wrote). */
export interface ArtifactRef {
  /** Artifact key in the store. */
  artifact: string;
  /** File name within the artifact. */
  file: string;
}

/** Text: what text encoders take. */
export interface TextPayload {
  kind: "text";
  text: string;
}

/**
 * An encoded file (PNG, JPEG, WAV, FLAC, …) with its media type, as bytes carried in the item or as a
 * reference to an artifact file. The bytes are the file's bytes, unchanged: exporting an item gives back
 * the file it was read from.
 */
export interface MediaPayload {
  kind: "media";
  /** IANA media type, sniffed from the bytes by the readers (never from the file name). */
  mediaType: string;
  bytes?: Uint8Array;
  ref?: ArtifactRef;
}

/** Decoded pixels: row-major height × width × channels, interleaved (HWC). */
export interface ImagePayload {
  kind: "image";
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array | Uint16Array | Float32Array;
}

/** Decoded audio: one Float32Array of samples per channel (planar), all of one length, in [-1, 1]. */
export interface AudioPayload {
  kind: "audio";
  sampleRate: number;
  channels: Float32Array[];
}

export type ItemPayload = TextPayload | MediaPayload | ImagePayload | AudioPayload;
export type ItemKind = ItemPayload["kind"];
export const ITEM_KINDS: readonly ItemKind[] = ["text", "media", "image", "audio"];

/**
 * What is not yet a vector: an id, metadata (labels, source path, caption, …) and a payload. Readers turn
 * folders, globs, JSONL/CSV and IDX into items; encoders turn items into a VectorSet; generators turn
 * vectors back into items.
 */
export interface Item<P extends ItemPayload = ItemPayload> {
  id: string;
  meta: RowMeta;
  payload: P;
}

/** Number of values an image of this shape holds. */
export function imageValues(p: Pick<ImagePayload, "width" | "height" | "channels">): number {
  return p.width * p.height * p.channels;
}

function bad(where: string, expected: string, found: string): never {
  throw new LatentflowError("E_ITEM", `${where}: expected ${expected}, found ${found}`, {
    hint: "items are { id: string, meta: object, payload: { kind: text | media | image | audio, … } }",
    data: { expected, found, where },
  });
}

/** Throws E_ITEM naming the field unless `item` is a well-formed Item; `where` names the caller and index. */
export function checkItem(item: unknown, where: string): asserts item is Item {
  const it = item as Item;
  if (!it || typeof it !== "object") bad(where, "an item object", it === null ? "null" : typeof it);
  if (typeof it.id !== "string" || it.id === "") bad(where, "a non-empty string id", JSON.stringify(it.id));
  if (!it.meta || typeof it.meta !== "object" || Array.isArray(it.meta)) bad(`${where} (id '${it.id}')`, "meta an object", Array.isArray(it.meta) ? "an array" : typeof it.meta);
  const p = it.payload as ItemPayload;
  const at = `${where} (id '${it.id}')`;
  if (!p || typeof p !== "object") bad(at, "a payload object", typeof p);
  switch (p.kind) {
    case "text":
      if (typeof p.text !== "string") bad(at, "payload.text a string", typeof p.text);
      return;
    case "media":
      if (typeof p.mediaType !== "string" || !p.mediaType.includes("/")) bad(at, "payload.mediaType like 'image/png'", JSON.stringify(p.mediaType));
      if ((p.bytes === undefined) === (p.ref === undefined)) bad(at, "exactly one of payload.bytes and payload.ref", p.bytes ? "both" : "neither");
      if (p.bytes !== undefined && !(p.bytes instanceof Uint8Array)) bad(at, "payload.bytes a Uint8Array", typeof p.bytes);
      if (p.ref !== undefined && (typeof p.ref.artifact !== "string" || typeof p.ref.file !== "string")) bad(at, "payload.ref { artifact, file }", JSON.stringify(p.ref));
      return;
    case "image": {
      for (const k of ["width", "height"] as const) if (!Number.isInteger(p[k]) || p[k] <= 0) bad(at, `payload.${k} a positive integer`, String(p[k]));
      if (![1, 2, 3, 4].includes(p.channels)) bad(at, "payload.channels 1, 2, 3 or 4", String(p.channels));
      if (!(p.data instanceof Uint8Array || p.data instanceof Uint16Array || p.data instanceof Float32Array)) bad(at, "payload.data a Uint8Array, Uint16Array or Float32Array", typeof p.data);
      if (p.data.length !== imageValues(p)) bad(at, `${p.height} × ${p.width} × ${p.channels} = ${imageValues(p)} values`, String(p.data.length));
      return;
    }
    case "audio": {
      if (!(p.sampleRate > 0) || !Number.isFinite(p.sampleRate)) bad(at, "payload.sampleRate a positive number", String(p.sampleRate));
      if (!Array.isArray(p.channels) || p.channels.length === 0 || !p.channels.every((c) => c instanceof Float32Array)) bad(at, "payload.channels a non-empty array of Float32Array", typeof p.channels);
      const n = p.channels[0]!.length;
      if (!p.channels.every((c) => c.length === n)) bad(at, "channels of one length", p.channels.map((c) => c.length).join(", "));
      return;
    }
    default:
      bad(at, `payload.kind one of ${ITEM_KINDS.join(", ")}`, JSON.stringify((p as { kind?: unknown }).kind));
  }
}

/** Builds a text item. */
export function textItem(id: string, text: string, meta: RowMeta = {}): Item<TextPayload> {
  return { id, meta, payload: { kind: "text", text } };
}

/** Builds a media item from a file's bytes. */
export function mediaItem(id: string, mediaType: string, bytes: Uint8Array, meta: RowMeta = {}): Item<MediaPayload> {
  return { id, meta, payload: { kind: "media", mediaType, bytes } };
}
