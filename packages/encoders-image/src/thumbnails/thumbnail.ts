import { LatentflowError, type ImagePayload } from "@latentflow/core";
import sharp, { type Sharp } from "sharp";
import { DEFAULT_LIMIT_INPUT_PIXELS, toRgb, type ImageInput } from "../decode/decode.js";

export interface ThumbnailOptions {
  /** Longest side in pixels; smaller images are not enlarged. Default 128. */
  size?: number;
  /** Output format. Default `webp`. */
  format?: "webp" | "png";
  /** WebP quality 1–100. Default 80. */
  quality?: number;
  /** Files with more pixels fail with E_IMAGE_TOO_LARGE. Default 50 MP. */
  limitInputPixels?: number;
  where?: string;
}

export interface Thumbnail {
  mediaType: "image/webp" | "image/png";
  bytes: Uint8Array;
  width: number;
  height: number;
}

function rawOf(img: ImagePayload, where: string): { data: Uint8Array; width: number; height: number; channels: 1 | 2 | 3 | 4 } {
  if (img.data instanceof Uint8Array) return { data: img.data, width: img.width, height: img.height, channels: img.channels };
  // 16-bit and float pixels: to 8-bit RGB first (sharp's raw input here is 8-bit).
  const rgb = toRgb(img, [255, 255, 255], where);
  return { data: rgb.data, width: rgb.width, height: rgb.height, channels: 3 };
}

/**
 * A small preview of an image (a file's bytes or decoded pixels): EXIF orientation applied, the longest
 * side scaled down to `size` (never up), alpha kept, metadata stripped; WebP or PNG. Deterministic: the
 * same input and options give the same bytes.
 */
export async function makeThumbnail(input: ImageInput, opts: ThumbnailOptions = {}): Promise<Thumbnail> {
  const where = opts.where ?? "thumbnail";
  const size = opts.size ?? 128;
  const limitInputPixels = opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  let img: Sharp;
  if (input.kind === "image") {
    const raw = rawOf(input, where);
    img = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  } else {
    if (!input.bytes || input.bytes.length === 0) throw new LatentflowError("E_EMPTY_FILE", `${where}: expected an image file, found ${input.bytes ? "0 bytes" : "no bytes"}`, { data: { where } });
    img = sharp(input.bytes, { limitInputPixels, failOn: "error", pages: 1, page: 0 }).autoOrient();
  }
  const format = opts.format ?? "webp";
  try {
    const piped = img.resize({ width: size, height: size, fit: "inside", withoutEnlargement: true });
    const { data, info } = await (format === "webp" ? piped.webp({ quality: opts.quality ?? 80, effort: 4 }) : piped.png({ compressionLevel: 9 })).toBuffer({ resolveWithObject: true });
    return { mediaType: format === "webp" ? "image/webp" : "image/png", bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    const msg = (e as Error).message;
    if (/pixel limit/i.test(msg)) {
      throw new LatentflowError("E_IMAGE_TOO_LARGE", `${where}: expected an image of at most ${limitInputPixels} pixels, found a larger one (${msg})`, { hint: "raise limitInputPixels", data: { where, expected: limitInputPixels } });
    }
    throw new LatentflowError("E_IMAGE_DECODE", `${where}: expected an image sharp can decode, found bytes it cannot (${msg})`, { hint: "the file is damaged or not an image; set onError: skip to leave it out", data: { where, reason: msg } });
  }
}
