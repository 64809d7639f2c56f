import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText, type ModelArtifact, type VectorSet } from "@latentflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { plugin } from "../plugin.js";
import { brown } from "../test/corpora.js";
import { TfidfVectorizer } from "../tfidf/tfidf.js";
import { LsaEncoder } from "./lsa.js";

const registry = new PluginRegistry([corePlugin, plugin]);
const dir = await mkdtemp(join(tmpdir(), "latentflow-lsa-step-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

// Brown documents as records: news and learned (fit), then the rest of the corpus (apply).
const docs = brown();
const fitDocs = docs.filter((d) => d.genre === "news" || d.genre === "learned" || d.genre === "romance");
const newDocs = docs.filter((d) => d.genre === "government" || d.genre === "mystery");
await writeFile(join(dir, "fit.jsonl"), [...fitDocs.map((d) => JSON.stringify(d)), JSON.stringify({ id: "blank", genre: "none", text: "  " })].join("\n"));
await writeFile(join(dir, "new.jsonl"), newDocs.map((d) => JSON.stringify(d)).join("\n"));

async function run(name: string, steps: string[]) {
  const text = ["version: 1", `name: ${name}`, "steps:", "  fit: { uses: core/read-jsonl, with: { path: fit.jsonl } }", "  new: { uses: core/read-jsonl, with: { path: new.jsonl } }", ...steps].join("\n");
  const store = new FsArtifactStore(join(dir, `store-${name}`));
  const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, `${name}.yaml`), registry, dir), { store });
  const load = async (step: string, port: string) => loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!);
  return { rec, load };
}

describe("encoders-text/tfidf and encoders-text/lsa steps", () => {
  it("fit on records, then apply the model to new records", async () => {
    const { rec, load } = await run("fit-apply", [
      "  tfidf: { uses: encoders-text/tfidf, in: { records: fit }, with: { maxFeatures: 2000, stopWords: english }, onError: skip }",
      "  tfidfNew: { uses: encoders-text/tfidf, in: { records: new, model: tfidf.model } }",
      "  lsa: { uses: encoders-text/lsa, in: { records: fit }, with: { components: 30, tfidf: { stopWords: english, sublinearTf: true, minDf: 2 } }, onError: skip }",
      "  lsaNew: { uses: encoders-text/lsa, in: { records: new, model: lsa.model } }",
    ]);
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    // The blank record is skipped and reported.
    expect(JSON.stringify(rec.steps.tfidf)).toContain("E_EMPTY_TEXT");
    const tf = (await load("tfidf", "vectors")) as VectorSet;
    expect(tf.ids).toEqual(fitDocs.map((d) => d.id));
    expect(tf.space.dim).toBe(2000);
    expect(tf.meta![0]!.genre).toBe(fitDocs[0]!.genre);
    const tfModel = (await load("tfidf", "model")) as ModelArtifact;
    expect(tfModel.kind).toBe("encoders-text/tfidf");
    const tfNew = (await load("tfidfNew", "vectors")) as VectorSet;
    expect(tfNew.space).toEqual(tf.space);
    expect(tfNew.ids).toEqual(newDocs.map((d) => d.id));
    // Same numbers as the library: the step is a thin adapter.
    const v = new TfidfVectorizer({ maxFeatures: 2000, stopWords: "english" }).fit(fitDocs.map((d) => d.text));
    expect(v.vocabulary).toEqual(TfidfVectorizer.load(tfModel).vocabulary);

    const lsaVs = (await load("lsa", "vectors")) as VectorSet;
    expect(lsaVs.space.dim).toBe(30);
    expect(lsaVs.ids.length).toBe(fitDocs.length);
    const model = (await load("lsa", "model")) as ModelArtifact;
    expect(model.kind).toBe("encoders-text/lsa");
    expect(JSON.stringify(await load("lsaNew", "model"))).toBe(JSON.stringify(model));
    const lsaNew = (await load("lsaNew", "vectors")) as VectorSet;
    expect(lsaNew.space).toEqual(lsaVs.space);
    expect(Array.from(lsaNew.data)).toEqual(Array.from(await LsaEncoder.load(model).encode(newDocs.map((d) => d.text))));
  });

  it("refuses a vocabulary too wide for dense vectors, and a model of the wrong kind", async () => {
    const wide = await run("wide", ["  tfidf: { uses: encoders-text/tfidf, in: { records: fit }, onError: skip }"]);
    expect(wide.rec.status).toBe("failed");
    expect(JSON.stringify(wide.rec.steps.tfidf)).toContain("E_TOO_WIDE");
    expect(JSON.stringify(wide.rec.steps.tfidf)).toContain("maxFeatures");
    const wrong = await run("wrong", [
      "  tfidf: { uses: encoders-text/tfidf, in: { records: fit }, with: { maxFeatures: 100 }, onError: skip }",
      "  lsaNew: { uses: encoders-text/lsa, in: { records: new, model: tfidf.model } }",
    ]);
    expect(wrong.rec.status).toBe("failed");
    expect(JSON.stringify(wrong.rec.steps.lsaNew)).toContain("E_ARTIFACT_KIND");
  });
});
