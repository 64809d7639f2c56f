import { LatentflowError } from "../errors.js";

/**
 * Cheap structural checks of a file's container, without decoding it: a truncated or corrupted file is
 * refused when it is read, with its name, instead of failing later inside a decoder. PNG: every chunk's
 * length, CRC-32 and the IEND trailer; JPEG: start and end markers; GIF: the trailer; RIFF (WAV, WebP): the
 * declared size fits the file; FLAC: the STREAMINFO block. Other types pass unchecked.
 */

let crcTable: Uint32Array | undefined;

function crc32(b: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function corrupt(where: string, mediaType: string, why: string, offset?: number): never {
  throw new LatentflowError("E_MEDIA_CORRUPT", `${where}: not a valid ${mediaType} file: ${why}${offset !== undefined ? ` (at byte ${offset})` : ""}`, {
    hint: "the file is truncated or damaged; re-export it, or use onError: skip to leave it out with a report",
    data: { expected: `a whole ${mediaType} file`, found: why, where, ...(offset !== undefined ? { offset } : {}) },
  });
}

function checkPng(b: Uint8Array, where: string): void {
  let at = 8;
  let first = true;
  while (at < b.length) {
    if (at + 12 > b.length) corrupt(where, "image/png", "a chunk header is cut off", at);
    const len = u32be(b, at);
    const type = String.fromCharCode(b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
    if (first && type !== "IHDR") corrupt(where, "image/png", `the first chunk is '${type}', not IHDR`, at);
    first = false;
    const end = at + 8 + len;
    if (end + 4 > b.length) corrupt(where, "image/png", `chunk '${type}' of ${len} bytes runs past the end of the file (${b.length} bytes)`, at);
    if (crc32(b, at + 4, end) !== u32be(b, end)) corrupt(where, "image/png", `chunk '${type}' fails its CRC`, at);
    if (type === "IEND") return;
    at = end + 4;
  }
  corrupt(where, "image/png", "no IEND chunk: the file is truncated", b.length);
}

/** Throws E_MEDIA_CORRUPT when `bytes` is not a structurally whole file of `mediaType`. */
export function checkMediaContainer(bytes: Uint8Array, mediaType: string, where: string): void {
  const b = bytes;
  switch (mediaType) {
    case "image/png":
      checkPng(b, where);
      return;
    case "image/jpeg": {
      // Encoders may pad after EOI; look for it near the end.
      const tail = b.subarray(Math.max(2, b.length - 4096));
      for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return;
      corrupt(where, mediaType, "no end-of-image marker: the file is truncated", b.length);
      return;
    }
    case "image/gif":
      if (b.length < 14 || b.lastIndexOf(0x3b) < 13) corrupt(where, mediaType, "no trailer byte: the file is truncated", b.length);
      return;
    case "audio/wav":
    case "image/webp": {
      if (b.length < 12) corrupt(where, mediaType, "the RIFF header is cut off", b.length);
      const declared = u32le(b, 4) + 8;
      if (declared > b.length) corrupt(where, mediaType, `the RIFF header declares ${declared} bytes, the file has ${b.length}`, 4);
      return;
    }
    case "audio/flac":
      if (b.length < 42 || (b[4]! & 0x7f) !== 0) corrupt(where, mediaType, "no STREAMINFO block", 4);
      return;
    default:
      return;
  }
}
