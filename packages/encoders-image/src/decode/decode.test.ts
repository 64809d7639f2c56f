import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDeflate } from "node:zlib";
import { encodePng } from "@latentflow/core/io";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emojiPayloads } from "../test/images.js";
import { decodeImage, rgbOf, toRgb } from "./decode.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-decode-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

const solid = (w: number, h: number, rgb: [number, number, number]) => sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });

describe("decodeImage", () => {
  it("decodes a real PNG with alpha to RGB, flattened onto the background given", async () => {
    const [emoji] = emojiPayloads(1, 100);
    const white = await decodeImage(emoji!.bytes!);
    expect([white.width, white.height, white.channels, white.data.length]).toEqual([64, 64, 3, 64 * 64 * 3]);
    // The corner of an emoji is transparent: it takes the background's colour.
    expect([...white.data.subarray(0, 3)]).toEqual([255, 255, 255]);
    const black = await decodeImage(emoji!.bytes!, { background: [0, 0, 0] });
    expect([...black.data.subarray(0, 3)]).toEqual([0, 0, 0]);
  });

  it("turns grey and grey + alpha into RGB", async () => {
    const grey = encodePng({ width: 2, height: 1, channels: 1, data: new Uint8Array([10, 200]) });
    expect(Array.from((await decodeImage(grey)).data)).toEqual([10, 10, 10, 200, 200, 200]);
    const ga = encodePng({ width: 2, height: 1, channels: 2, data: new Uint8Array([0, 0, 100, 255]) });
    expect(Array.from((await decodeImage(ga, { background: [255, 0, 0] })).data)).toEqual([255, 0, 0, 100, 100, 100]);
  });

  it("scales 16-bit samples to 8 bits", async () => {
    const png16 = encodePng({ width: 2, height: 1, channels: 3, data: new Uint16Array([65535, 0, 32896, 257 * 10, 257 * 20, 257 * 30]) });
    expect(Array.from((await decodeImage(png16)).data)).toEqual([255, 0, 128, 10, 20, 30]);
  });

  it("applies the EXIF orientation", async () => {
    // Stored 4 wide × 2 high, left half red; orientation 6 means: show it turned 90° clockwise.
    const raw = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) raw.set([255, 0, 0], (y * 4 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeImage(jpeg);
    expect([img.width, img.height]).toEqual([2, 4]);
    // After turning clockwise, the red half is on top.
    expect(img.data[0]!).toBeGreaterThan(200);
    expect(img.data[(3 * 2) * 3]!).toBeLessThan(60);
  });

  it("decodes CMYK and progressive JPEG, WebP, TIFF, AVIF and the first frame of an animated GIF", async () => {
    const cmyk = await solid(8, 8, [200, 100, 50]).toColourspace("cmyk").jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    const c = await decodeImage(cmyk);
    expect(Math.abs(c.data[0]! - 200) + Math.abs(c.data[1]! - 100) + Math.abs(c.data[2]! - 50)).toBeLessThan(40);
    for (const bytes of [
      await solid(8, 8, [200, 100, 50]).jpeg({ progressive: true }).toBuffer(),
      await solid(8, 8, [200, 100, 50]).webp({ lossless: true }).toBuffer(),
      await solid(8, 8, [200, 100, 50]).tiff().toBuffer(),
      await solid(8, 8, [200, 100, 50]).avif({ lossless: true }).toBuffer(),
    ]) {
      const img = await decodeImage(bytes);
      expect([img.width, img.height]).toEqual([8, 8]);
      expect(Math.abs(img.data[0]! - 200) + Math.abs(img.data[1]! - 100) + Math.abs(img.data[2]! - 50)).toBeLessThan(12);
    }
    const frames = [await solid(4, 2, [255, 0, 0]).png().toBuffer(), await solid(4, 2, [0, 0, 255]).png().toBuffer()];
    const gif = await sharp(frames, { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const first = await decodeImage(gif);
    expect([first.width, first.height]).toEqual([4, 2]);
    expect([...first.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });

  it("decodes a 1 × 1 image", async () => {
    const one = encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array([1, 2, 3]) });
    expect(await decodeImage(one)).toMatchObject({ width: 1, height: 1, channels: 3, data: new Uint8Array([1, 2, 3]) });
  });

  it("refuses empty, garbage and truncated files with coded errors", async () => {
    expect(await code(decodeImage(new Uint8Array(0)))).toBe("E_EMPTY_FILE");
    expect(await code(decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])))).toBe("E_IMAGE_DECODE");
    const [emoji] = emojiPayloads(1, 200);
    expect(await code(decodeImage(emoji!.bytes!.subarray(0, emoji!.bytes!.length - 40)))).toBe("E_IMAGE_DECODE");
    const noisy = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#000000", noise: { type: "gaussian", mean: 128, sigma: 30 } } }).jpeg().toBuffer();
    expect(await code(decodeImage(noisy.subarray(0, noisy.length >> 1)))).toBe("E_IMAGE_DECODE");
  });

  it("refuses a 20,000 × 20,000 PNG from its header, before decoding it (E_IMAGE_TOO_LARGE)", async () => {
    // A real, valid grey PNG of 400 megapixels (a decompression bomb of ~0.4 MB), written row by row.
    const path = join(dir, "bomb.png");
    const side = 20_000;
    const out = createWriteStream(path);
    const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chunk = (type: string, data: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.length, 0);
      head.write(type, 4, "latin1");
      const tail = Buffer.alloc(4);
      tail.writeUInt32BE(crcOf(Buffer.concat([head.subarray(4), data])), 0);
      return Buffer.concat([head, data, tail]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(side, 0);
    ihdr.writeUInt32BE(side, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 0; // grey
    out.write(sig);
    out.write(chunk("IHDR", ihdr));
    const deflate = createDeflate({ level: 1 });
    const parts: Buffer[] = [];
    deflate.on("data", (b: Buffer) => parts.push(b));
    const row = Buffer.alloc(side + 1);
    for (let y = 0; y < side; y++) if (!deflate.write(row)) await once(deflate, "drain");
    deflate.end();
    await once(deflate, "end");
    out.write(chunk("IDAT", Buffer.concat(parts)));
    out.write(chunk("IEND", Buffer.alloc(0)));
    out.end();
    await once(out, "finish");
    const bytes = await readFile(path);
    expect(bytes.length).toBeLessThan(2_000_000);
    expect((await sharp(bytes, { limitInputPixels: false }).metadata()).width).toBe(side);
    expect(await code(decodeImage(bytes))).toBe("E_IMAGE_TOO_LARGE");
  });
});

let crcTable: Int32Array | undefined;
function crcOf(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

describe("toRgb and rgbOf", () => {
  it("converts decoded payloads of every channel count and sample type to 8-bit RGB", () => {
    expect(Array.from(toRgb({ kind: "image", width: 1, height: 1, channels: 1, data: new Uint8Array([7]) }).data)).toEqual([7, 7, 7]);
    expect(Array.from(toRgb({ kind: "image", width: 1, height: 1, channels: 4, data: new Uint8Array([0, 0, 0, 0]) }, [9, 8, 7]).data)).toEqual([9, 8, 7]);
    expect(Array.from(toRgb({ kind: "image", width: 1, height: 1, channels: 3, data: new Uint16Array([65535, 0, 257]) }).data)).toEqual([255, 0, 1]);
    expect(Array.from(toRgb({ kind: "image", width: 1, height: 1, channels: 1, data: new Float32Array([0.5]) }).data)).toEqual([128, 128, 128]);
  });

  it("refuses what is not an image with E_INPUT or E_MEDIA_TYPE", async () => {
    expect(await code(rgbOf({ kind: "text", text: "a cat" }))).toBe("E_INPUT");
    expect(await code(rgbOf("a cat"))).toBe("E_INPUT");
    expect(await code(rgbOf({ kind: "media", mediaType: "audio/wav", bytes: new Uint8Array([1]) }))).toBe("E_MEDIA_TYPE");
  });
});
