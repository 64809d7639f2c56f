import { LatentflowError, type ImagePayload, type Item, type MediaPayload } from "@latentflow/core";
import sharp from "sharp";

/** Largest image (width × height) decoded by default: 50 megapixels, ~150 MB as RGB. Larger ones fail with E_IMAGE_TOO_LARGE. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 50_000_000;

/** Background transparent pixels are flattened onto by default: white, as a page or a browser shows them. */
export const DEFAULT_BACKGROUND: readonly [number, number, number] = [255, 255, 255];

export interface DecodeOptions {
  /** Images with more pixels than this fail with E_IMAGE_TOO_LARGE before any pixel is decoded. Default 50 MP. */
  limitInputPixels?: number;
  /** RGB (0–255) that alpha is flattened onto. Default white. */
  background?: readonly [number, number, number];
  /** Where the bytes came from, for messages (a path, an item id). */
  where?: string;
}

/** An 8-bit RGB image (`channels: 3`, `data` a Uint8Array of height × width × 3). */
export type RgbImage = ImagePayload & { channels: 3; data: Uint8Array };

function decodeError(where: string, e: unknown, limit: number): LatentflowError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) {
    return new LatentflowError("E_IMAGE_TOO_LARGE", `${where}: expected an image of at most ${limit} pixels, found a larger one (${msg})`, {
      hint: "raise limitInputPixels if the machine has the memory, or shrink the image first",
      data: { expected: limit, where },
    });
  }
  return new LatentflowError("E_IMAGE_DECODE", `${where}: expected an image sharp can decode (PNG, JPEG, WebP, GIF, TIFF, AVIF, SVG), found bytes it cannot (${msg})`, {
    hint: "the file is damaged, truncated or not an image; leave it out, or set onError: skip on the step",
    data: { where, reason: msg },
  });
}

/**
 * Decodes an image file's bytes with sharp into 8-bit RGB, row-major height × width × 3 (HWC): EXIF
 * orientation applied, alpha flattened onto `background`, grey and CMYK converted to sRGB, 16-bit
 * samples scaled to 8 bits, the first frame of an animation (GIF, WebP). Fails with E_EMPTY_FILE,
 * E_IMAGE_TOO_LARGE (more than `limitInputPixels`, checked from the header) or E_IMAGE_DECODE.
 */
export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<RgbImage> {
  const where = opts.where ?? "image";
  const limit = opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  if (!(bytes instanceof Uint8Array)) throw new LatentflowError("E_INPUT", `${where}: expected the image's bytes as a Uint8Array, found ${typeof bytes}`, { data: { where } });
  if (bytes.length === 0) throw new LatentflowError("E_EMPTY_FILE", `${where}: expected an image file, found 0 bytes`, { data: { where } });
  try {
    // Alpha is flattened here, not by sharp: sharp flattens a grey + alpha image onto a grey background.
    const { data, info } = await sharp(bytes, { limitInputPixels: limit, failOn: "error", pages: 1, page: 0, sequentialRead: true })
      .autoOrient()
      .toColourspace("srgb")
      .ensureAlpha()
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels where 4 (RGBA) were expected`);
    const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return toRgb({ kind: "image", width: info.width, height: info.height, channels: 4, data: rgba }, opts.background ?? DEFAULT_BACKGROUND, where);
  } catch (e) {
    if (e instanceof LatentflowError) throw e;
    throw decodeError(where, e, limit);
  }
}

function scale16(v: number): number {
  return Math.round(v / 257);
}

/**
 * Any decoded image payload → 8-bit RGB: grey copied to the three channels, alpha flattened onto
 * `background`, 16-bit samples scaled (÷257), float samples in [0, 1] scaled by 255 and rounded.
 */
export function toRgb(img: ImagePayload, background: readonly [number, number, number] = DEFAULT_BACKGROUND, where = "image"): RgbImage {
  const { width: w, height: h, channels: c, data } = img;
  if (data.length !== w * h * c) throw new LatentflowError("E_SHAPE", `${where}: expected ${h} × ${w} × ${c} = ${w * h * c} values, found ${data.length}`, { data: { where } });
  if (c === 3 && data instanceof Uint8Array) return img as RgbImage;
  const at: (i: number) => number =
    data instanceof Uint8Array ? (i) => data[i]! : data instanceof Uint16Array ? (i) => scale16(data[i]!) : (i) => Math.round(Math.min(1, Math.max(0, data[i]!)) * 255);
  const out = new Uint8Array(w * h * 3);
  for (let p = 0; p < w * h; p++) {
    const s = p * c;
    let rgb: [number, number, number];
    if (c === 1 || c === 2) {
      const v = at(s);
      rgb = [v, v, v];
    } else rgb = [at(s), at(s + 1), at(s + 2)];
    if (c === 2 || c === 4) {
      const a = at(s + c - 1) / 255;
      for (let k = 0; k < 3; k++) rgb[k] = Math.round(rgb[k]! * a + background[k]! * (1 - a));
    }
    out[p * 3] = rgb[0];
    out[p * 3 + 1] = rgb[1];
    out[p * 3 + 2] = rgb[2];
  }
  return { kind: "image", width: w, height: h, channels: 3, data: out };
}

/** What an image encoder takes: a decoded image, or an image file's bytes as a media payload. */
export type ImageInput = ImagePayload | MediaPayload;

/**
 * An encoder input or an item's payload → 8-bit RGB. Media payloads must carry their bytes (a `ref` to an
 * artifact is resolved by the step before); other kinds fail with E_INPUT.
 */
export async function rgbOf(input: unknown, opts: DecodeOptions = {}): Promise<RgbImage> {
  const where = opts.where ?? "image";
  const p = input as ImageInput | undefined;
  if (p && typeof p === "object" && p.kind === "image") return toRgb(p, opts.background, where);
  if (p && typeof p === "object" && p.kind === "media") {
    if (!p.bytes) throw new LatentflowError("E_INPUT", `${where}: expected a media payload with its bytes, found a reference to ${p.ref?.artifact}/${p.ref?.file}`, { hint: "resolve the reference first (the image steps do this)", data: { where } });
    if (!p.mediaType.startsWith("image/")) {
      throw new LatentflowError("E_MEDIA_TYPE", `${where}: expected an image, found media of type ${p.mediaType}`, { hint: "filter the reader with mediaTypes: ['image/*']", data: { where, found: p.mediaType } });
    }
    return decodeImage(p.bytes, opts);
  }
  const found = p && typeof p === "object" ? `a payload of kind '${String((p as { kind?: unknown }).kind)}'` : typeof p;
  throw new LatentflowError("E_INPUT", `${where}: expected an image payload ({ kind: 'image' }) or image file bytes ({ kind: 'media' }), found ${found}`, { data: { where } });
}

/** The image input of an item, for messages naming it. */
export function itemWhere(item: Item, index: number, step: string): string {
  return `${step}: item ${index} (id '${item.id}')`;
}
