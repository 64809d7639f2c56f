import { deflateSync } from "node:zlib";
import { LatentflowError } from "../errors.js";
import type { ImagePayload } from "../items.js";

let table: Int32Array | undefined;

function crc32(parts: Uint8Array[]): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = -1;
  for (const b of parts) for (let i = 0; i < b.length; i++) c = table[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const t = new Uint8Array([...type].map((c) => c.charCodeAt(0)));
  out.set(t, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32([t, data]));
  return out;
}

const COLOR_TYPE = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

/**
 * Decoded pixels → PNG bytes (8-bit for Uint8Array data, 16-bit for Uint16Array; Float32Array in [0, 1] is
 * rounded to 8 bits). Deterministic: the same pixels give the same bytes. For files to look at and to
 * export; the image encoders decode with sharp.
 */
export function encodePng(img: Pick<ImagePayload, "width" | "height" | "channels" | "data">): Uint8Array {
  const { width: w, height: h, channels: c } = img;
  let data = img.data;
  if (data.length !== w * h * c) throw new LatentflowError("E_SHAPE", `png: expected ${h} × ${w} × ${c} = ${w * h * c} values, found ${data.length}`);
  if (data instanceof Float32Array) {
    const u8 = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) u8[i] = Math.round(Math.min(1, Math.max(0, data[i]!)) * 255);
    data = u8;
  }
  const depth = data instanceof Uint16Array ? 16 : 8;
  const bpp = (c * depth) / 8;
  const raw = new Uint8Array(h * (1 + w * bpp));
  for (let y = 0; y < h; y++) {
    const row = y * (1 + w * bpp);
    raw[row] = 0; // filter: none
    if (depth === 8) raw.set((data as Uint8Array).subarray(y * w * c, (y + 1) * w * c), row + 1);
    else for (let i = 0; i < w * c; i++) {
      const v = (data as Uint16Array)[y * w * c + i]!;
      raw[row + 1 + 2 * i] = v >> 8; // PNG is big-endian
      raw[row + 2 + 2 * i] = v & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr[8] = depth;
  ihdr[9] = COLOR_TYPE[c];
  const sig = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [sig, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
