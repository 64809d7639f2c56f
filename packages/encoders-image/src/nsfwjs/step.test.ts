import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, ResourceCache, corePlugin, loadArtifactValue, loadPipelineText, type Item, type RunRecord, type VectorSet } from "@latentflow/core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plugin } from "../plugin.js";
import { EMOJI_DIR } from "../test/images.js";
import { MobileNetV2Features } from "./features.js";

const registry = new PluginRegistry([corePlugin, plugin]);
const executor = new LocalExecutor();
let dir: string;
let store: FsArtifactStore;
const EMOJI = ["1f600.png", "1f431.png", "1f436.png", "1f34e.png", "1f697.png", "2764-fe0f.png", "1f333.png"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-image-step-"));
  store = new FsArtifactStore(join(dir, "store"));
  await mkdir(join(dir, "images", "faces"), { recursive: true });
  await mkdir(join(dir, "images", "things"), { recursive: true });
  for (const [i, f] of EMOJI.entries()) await copyFile(join(EMOJI_DIR, f), join(dir, "images", i < 3 ? "faces" : "things", f));
  // A PNG whose container is whole (chunk CRCs right) but whose compressed pixels are damaged: it gets
  // past the reader's container check, not the decoder.
  const png = Buffer.from(await readFile(join(EMOJI_DIR, "1f680.png")));
  const idat = png.indexOf("IDAT");
  const len = png.readUInt32BE(idat - 4);
  for (let i = idat + 4 + 2; i < idat + 4 + Math.min(len, 200); i++) png[i] = 0xa5 ^ png[i]!;
  png.writeUInt32BE(crc32(png.subarray(idat, idat + 4 + len)), idat + 4 + len);
  await writeFile(join(dir, "images", "things", "broken.png"), png);
  // A photo-sized JPEG with an EXIF orientation.
  await writeFile(join(dir, "images", "things", "photo.jpg"), await sharp(join(EMOJI_DIR, "1f30d.png")).resize(1200, 900).flatten({ background: "#ffffff" }).jpeg().withMetadata({ orientation: 6 }).toBuffer());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function crc32(b: Uint8Array): number {
  let c = -1;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ -1) >>> 0;
}

async function run(lines: string[], resources?: ResourceCache): Promise<RunRecord> {
  const text = ["version: 1", "name: image-test", "steps:", ...lines.map((l) => `  ${l}`)].join("\n");
  return executor.run(loadPipelineText(text, join(dir, "pipeline.yaml"), registry, dir), { store, concurrency: 2, force: true, ...(resources ? { resources } : {}) });
}

async function output<T>(rec: RunRecord, step: string, port: string): Promise<T> {
  return (await loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!)) as T;
}

describe("encoders-image steps in a pipeline", () => {
  it("reads files → mobilenet (sharded, one model load), a damaged image skipped; decode → mobilenet gives the same vectors; thumbnails", async () => {
    const resources = new ResourceCache();
    try {
      const rec = await run(
        [
          "images: { uses: core/read-files, with: { dir: images, mediaTypes: ['image/*'] } }",
          "embed: { uses: encoders-image/mobilenet, in: { items: images }, with: { batchSize: 4 }, onError: skip }",
          "sharded: { uses: encoders-image/mobilenet, in: { items: images }, with: { batchSize: 2 }, shard: { size: 3 }, onError: skip }",
          "decoded: { uses: encoders-image/decode, in: { items: images }, onError: skip }",
          "fromPixels: { uses: encoders-image/mobilenet, in: { items: decoded } }",
          "thumbs: { uses: encoders-image/thumbnails, in: { items: images }, with: { size: 32 }, onError: skip }",
        ],
        resources,
      );
      expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
      for (const s of ["embed", "sharded", "decoded", "thumbs"]) {
        expect(rec.steps[s]!.skipped.map((x) => [x.id, x.code]), s).toEqual([["things/broken.png", "E_IMAGE_DECODE"]]);
      }
      expect(rec.steps.sharded!.shards?.count).toBe(3);
      // One MobileNetV2 for the three steps and all shards of this process.
      expect(Object.values(resources.stats().byKey)).toEqual([1]);

      const embed = await output<VectorSet>(rec, "embed", "vectors");
      expect(embed.space.id).toBe("nsfwjs-mobilenet-v2/1280");
      expect(embed.ids).toHaveLength(EMOJI.length + 1);
      expect(embed.ids).not.toContain("things/broken.png");
      expect(embed.meta?.find((m) => m.path === "faces/1f600.png")?.label).toBe("faces");
      const sharded = await output<VectorSet>(rec, "sharded", "vectors");
      const fromPixels = await output<VectorSet>(rec, "fromPixels", "vectors");
      expect(sharded.ids).toEqual(embed.ids);
      expect(fromPixels.ids).toEqual(embed.ids);
      for (const other of [sharded, fromPixels]) {
        let m = 0;
        for (let i = 0; i < embed.data.length; i++) m = Math.max(m, Math.abs(embed.data[i]! - other.data[i]!));
        expect(m).toBeLessThan(1e-4);
      }

      // The library gives the same vectors as the step.
      const enc = await MobileNetV2Features.load();
      try {
        const bytes = new Uint8Array(await readFile(join(dir, "images", "faces", "1f600.png")));
        const direct = await enc.encode([{ kind: "media", mediaType: "image/png", bytes }]);
        const row = embed.ids.indexOf("faces/1f600.png");
        let m = 0;
        for (let i = 0; i < 1280; i++) m = Math.max(m, Math.abs(direct[i]! - embed.data[row * 1280 + i]!));
        expect(m).toBeLessThan(1e-4);
      } finally {
        await enc.dispose();
      }

      const thumbs = await output<Item[]>(rec, "thumbs", "items");
      expect(thumbs.map((t) => t.id)).toEqual(embed.ids);
      for (const t of thumbs) {
        expect(t.payload.kind).toBe("media");
        const p = t.payload as { mediaType: string; bytes: Uint8Array };
        expect(p.mediaType).toBe("image/webp");
        const m = await sharp(p.bytes).metadata();
        expect(m.format).toBe("webp");
        expect(Math.max(m.width!, m.height!)).toBe(32);
        expect([m.width, m.height]).toEqual([t.meta.width, t.meta.height]);
      }
      // The photo was 1200 × 900 with orientation 6: its thumbnail stands upright (portrait).
      const photo = thumbs.find((t) => t.id === "things/photo.jpg")!;
      expect([photo.meta.width, photo.meta.height]).toEqual([24, 32]);
    } finally {
      await resources.dispose();
    }
  });

  it("fails the step on a damaged image under onError: fail, naming the item", async () => {
    const rec = await run(["images: { uses: core/read-files, with: { dir: images } }", "embed: { uses: encoders-image/mobilenet, in: { items: images } }"]);
    expect(rec.status).toBe("failed");
    expect(rec.steps.embed!.error?.code).toBe("E_IMAGE_DECODE");
    expect(rec.steps.embed!.error?.message).toContain("things/broken.png");
  });
});
