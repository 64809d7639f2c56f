import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { errorOf } from "../testing/errors.js";
import { checkMediaContainer } from "./check.js";
import { encodePng } from "./png.js";
import { sniffMediaType } from "./sniff.js";
import { encodeWav } from "./wav.js";

// Real PNGs: the 64×64 Google emoji of emoji-datasource-google (a devDependency).
const emojiDir = join(dirname(createRequire(import.meta.url).resolve("emoji-datasource-google/package.json")), "img/google/64");
const emoji = readdirSync(emojiDir).sort().slice(0, 40).map((f) => new Uint8Array(readFileSync(join(emojiDir, f))));

/** The pixels of a PNG made by encodePng (filter 0 on every row), read back by hand. */
function unpng(b: Uint8Array): { width: number; height: number; depth: number; color: number; rows: Uint8Array } {
  const v = new DataView(b.buffer, b.byteOffset);
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  const idatLen = v.getUint32(33);
  return { width, height, depth: b[24]!, color: b[25]!, rows: new Uint8Array(inflateSync(b.subarray(41, 41 + idatLen))) };
}

describe("media types from bytes", () => {
  it("names real PNGs image/png whatever their name, and other formats by their magic", () => {
    for (const b of emoji) expect(sniffMediaType(b)).toBe("image/png");
    const enc = new TextEncoder();
    expect(sniffMediaType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe("image/jpeg");
    expect(sniffMediaType(enc.encode("GIF89a......"))).toBe("image/gif");
    expect(sniffMediaType(enc.encode("RIFF\u0000\u0000\u0000\u0000WEBPVP8 "))).toBe("image/webp");
    expect(sniffMediaType(encodeWav({ sampleRate: 16000, channels: [new Float32Array(10)] }))).toBe("audio/wav");
    expect(sniffMediaType(enc.encode("fLaC\u0000\u0000\u0000\u0022"))).toBe("audio/flac");
    expect(sniffMediaType(enc.encode("OggS\u0000\u0002"))).toBe("audio/ogg");
    expect(sniffMediaType(enc.encode("ID3\u0004\u0000"))).toBe("audio/mpeg");
    expect(sniffMediaType(enc.encode('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toBe("image/svg+xml");
    expect(sniffMediaType(enc.encode("\u0000\u0000\u0000\u001cftypavif"))).toBe("image/avif");
    expect(sniffMediaType(enc.encode("just some text, not media"))).toBeUndefined();
    expect(sniffMediaType(new Uint8Array(0))).toBeUndefined();
  });
});

describe("container checks", () => {
  it("pass every real emoji PNG and refuse it truncated, with a flipped byte, or without its first chunk", () => {
    for (const b of emoji) checkMediaContainer(b, "image/png", "emoji");
    const b = emoji[0]!;
    expect(errorOf(() => checkMediaContainer(b.subarray(0, b.length - 20), "image/png", "cut.png"))).toMatchObject({ code: "E_MEDIA_CORRUPT", message: expect.stringContaining("cut.png") });
    const flipped = b.slice();
    flipped[60] = flipped[60]! ^ 0xff;
    expect(errorOf(() => checkMediaContainer(flipped, "image/png", "flip.png")).message).toMatch(/fails its CRC/);
    expect(errorOf(() => checkMediaContainer(b.subarray(0, 8), "image/png", "sig-only.png")).message).toMatch(/no IEND/);
  });
  it("refuse a WAV whose header declares more bytes than it has", () => {
    const wav = encodeWav({ sampleRate: 8000, channels: [new Float32Array(100)] });
    checkMediaContainer(wav, "audio/wav", "ok.wav");
    expect(errorOf(() => checkMediaContainer(wav.subarray(0, 100), "audio/wav", "cut.wav")).message).toMatch(/declares 244 bytes, the file has 100/);
  });
});

describe("encodePng / encodeWav", () => {
  it("writes grey, RGB and 16-bit pixels a PNG reader gets back exactly, and passes its own container check", () => {
    const grey = { width: 3, height: 2, channels: 1 as const, data: new Uint8Array([0, 50, 100, 150, 200, 255]) };
    const g = encodePng(grey);
    checkMediaContainer(g, "image/png", "grey");
    expect(sniffMediaType(g)).toBe("image/png");
    const r = unpng(g);
    expect([r.width, r.height, r.depth, r.color]).toEqual([3, 2, 8, 0]);
    expect(Array.from(r.rows)).toEqual([0, 0, 50, 100, 0, 150, 200, 255]);
    const deep = unpng(encodePng({ width: 1, height: 1, channels: 3, data: new Uint16Array([1, 256, 65535]) }));
    expect([deep.depth, deep.color]).toEqual([16, 2]);
    expect(Array.from(deep.rows)).toEqual([0, 0, 1, 1, 0, 255, 255]);
    expect(Buffer.from(encodePng(grey)).equals(Buffer.from(g))).toBe(true);
  });
  it("writes 16-bit PCM with interleaved channels", () => {
    const w = encodeWav({ sampleRate: 16000, channels: [new Float32Array([1, -1]), new Float32Array([0.5, 0])] });
    const v = new DataView(w.buffer);
    expect([v.getUint16(22, true), v.getUint32(24, true), v.getUint16(34, true)]).toEqual([2, 16000, 16]);
    expect([v.getInt16(44, true), v.getInt16(46, true), v.getInt16(48, true), v.getInt16(50, true)]).toEqual([32767, 16384, -32767, 0]);
  });
});
