import { describe, expect, it } from "vitest";
import { errorOf } from "./testing/errors.js";
import { checkItem, type Item } from "./items.js";
import type { Media } from "./media/media.js";
import { codecFor, isShardable, type PortCodec } from "./ports.js";

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

function sample(): Item[] {
  return [
    { id: "t", meta: { label: "greeting", lang: "en" }, payload: { kind: "text", text: "héllo 東京 🚀" } },
    { id: "m", meta: { path: "a/b.png" }, payload: { kind: "media", mediaType: "image/png", bytes: png } },
    { id: "r", meta: {}, payload: { kind: "media", mediaType: "image/webp", ref: { artifact: "abc", file: "thumb.webp" } } },
    { id: "g", meta: { label: 7 }, payload: { kind: "image", width: 3, height: 2, channels: 1, data: new Uint8Array([0, 1, 2, 253, 254, 255]) } },
    { id: "d", meta: {}, payload: { kind: "image", width: 1, height: 1, channels: 3, data: new Uint16Array([0, 40000, 65535]) } },
    { id: "f", meta: {}, payload: { kind: "image", width: 2, height: 1, channels: 2, data: new Float32Array([0.25, -1, 1e-8, 3.5]) } },
    { id: "a", meta: { rate: "8k" }, payload: { kind: "audio", sampleRate: 8000, channels: [new Float32Array([0, 0.5, -0.5]), new Float32Array([1, -1, 0.125])] } },
  ];
}

describe("items port", () => {
  const codec: PortCodec<Item[]> = codecFor("items");

  it("round-trips every payload kind through its files, bit for bit", () => {
    const items = sample();
    codec.check(items, "test");
    const back = codec.decode(codec.encode(items));
    expect(back).toEqual(items);
    // Typed arrays come back as their own types, not as plain arrays or Buffers.
    expect((back[3]!.payload as { data: unknown }).data).toBeInstanceOf(Uint8Array);
    expect((back[4]!.payload as { data: unknown }).data).toBeInstanceOf(Uint16Array);
    expect((back[5]!.payload as { data: unknown }).data).toBeInstanceOf(Float32Array);
    expect((back[6]!.payload as { channels: unknown[] }).channels[1]).toBeInstanceOf(Float32Array);
  });

  it("encodes equal items to equal bytes whatever order their meta fields were set in", () => {
    const a = sample();
    const b = sample();
    b[0]!.meta = { lang: "en", label: "greeting" };
    const ea = codec.encode(a);
    const eb = codec.encode(b);
    expect(Buffer.from(ea["items.jsonl"]!).equals(Buffer.from(eb["items.jsonl"]!))).toBe(true);
    expect(Buffer.from(ea["items.bin"]!).equals(Buffer.from(eb["items.bin"]!))).toBe(true);
  });

  it("shards: slices and gathers in order", () => {
    expect(isShardable("items")).toBe(true);
    const items = sample();
    const parts = [codec.slice!(items, 0, 3), codec.slice!(items, 3, 7)];
    expect(codec.concat!(parts).map((i) => i.id)).toEqual(items.map((i) => i.id));
  });

  it("an empty item list is an artifact too", () => {
    expect(codec.decode(codec.encode([]))).toEqual([]);
  });

  it("refuses malformed items naming the item and field", () => {
    expect(errorOf(() => codec.check([{ id: "x", meta: {}, payload: { kind: "image", width: 2, height: 2, channels: 1, data: new Uint8Array(3) } }], "step 's' output 'items'"))).toMatchObject({
      code: "E_ITEM",
      message: expect.stringContaining("item 0 (id 'x'): expected 2 × 2 × 1 = 4 values, found 3"),
    });
    expect(errorOf(() => checkItem({ id: "y", meta: {}, payload: { kind: "media", mediaType: "image/png" } }, "here")).message).toContain("exactly one of payload.bytes and payload.ref");
    expect(errorOf(() => checkItem({ id: "", meta: {}, payload: { kind: "text", text: "" } }, "here")).message).toContain("a non-empty string id");
    expect(errorOf(() => checkItem({ id: "z", meta: {}, payload: { kind: "video" } }, "here")).message).toContain("payload.kind one of text, media, image, audio");
    expect(errorOf(() => checkItem({ id: "w", meta: {}, payload: { kind: "audio", sampleRate: 8000, channels: [new Float32Array(2), new Float32Array(3)] } }, "here")).message).toContain("channels of one length");
    expect(errorOf(() => codec.check([sample()[0], sample()[0]], "out"))).toMatchObject({ code: "E_DUPLICATE_ID" });
  });

  it("refuses an artifact whose parts lie outside its blob file", () => {
    const files = codec.encode(sample());
    const truncated = { ...files, "items.bin": files["items.bin"]!.subarray(0, 8) };
    expect(errorOf(() => codec.decode(truncated))).toMatchObject({ code: "E_ARTIFACT_FORMAT" });
  });
});

describe("media port", () => {
  const codec: PortCodec<Media> = codecFor("media");
  it("stores the bytes as a file named by its type, with the header beside it", () => {
    const files = codec.encode({ mediaType: "image/png", bytes: png, name: "grid.png", meta: { width: 1 } });
    expect(Object.keys(files).sort()).toEqual(["media.json", "media.png"]);
    expect(files["media.png"]).toEqual(png);
    expect(codec.decode(files)).toEqual({ mediaType: "image/png", bytes: png, name: "grid.png", meta: { width: 1 } });
  });
  it("refuses a name with a directory in it and a malformed media type", () => {
    expect(errorOf(() => codec.check({ mediaType: "image/png", bytes: png, name: "../x.png" }, "out"))).toMatchObject({ code: "E_MEDIA" });
    expect(errorOf(() => codec.check({ mediaType: "png", bytes: png }, "out"))).toMatchObject({ code: "E_MEDIA" });
  });
});
