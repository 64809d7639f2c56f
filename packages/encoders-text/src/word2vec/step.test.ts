import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LatentflowAggregateError, LocalExecutor, PluginRegistry, corePlugin, definePlugin, loadArtifactValue, loadPipelineText, type ModelArtifact, type VectorSet } from "@latentflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WordVectorsEncoder } from "../word-vectors/encoder.js";
import { tokenIndices, wordTokens } from "../word-vectors/tokenize.js";
import { WordVectors } from "../word-vectors/word-vectors.js";
import { mobyDickSentences } from "./corpus-reference.js";
import { textsCorpus } from "./corpus.js";
import { word2vecStep } from "./step.js";
import { trainWord2Vec } from "./word2vec.js";

const registry = new PluginRegistry([corePlugin, definePlugin({ name: "encoders-text", version: "0.1.0", steps: [word2vecStep] })]);
const sentences = [...mobyDickSentences()].slice(0, 1500);
const WITH = "model: skipgram, vectorSize: 20, epochs: 1, minCount: 3, threads: 1, seed: 5";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-word2vec-step-"));
  await writeFile(join(dir, "moby.txt"), `${sentences.join("\n")}\n`);
  const records = sentences.map((text, i) => ({ id: `s${i}`, text }));
  records.splice(7, 0, { id: "blank", text: "" });
  await writeFile(join(dir, "moby.jsonl"), records.map((r) => JSON.stringify(r)).join("\n"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(yaml: string[], name: string) {
  const store = new FsArtifactStore(join(dir, `store-${name}`));
  const plan = () => loadPipelineText(["version: 1", `name: ${name}`, "steps:", ...yaml].join("\n"), join(dir, `${name}.yaml`), registry, dir);
  const rec = await new LocalExecutor().run(plan(), { store });
  return { rec, store, plan };
}

describe("encoders-text/word2vec step", () => {
  it("is deterministic by default: one thread and the run's seed for the step; the space names the mode", async () => {
    const base = "model: skipgram, vectorSize: 16, epochs: 1, minCount: 3";
    const a = await run([`  w2v: { uses: encoders-text/word2vec, with: { corpus: moby.txt, ${base} } }`], "default-a");
    const b = await run([`  w2v: { uses: encoders-text/word2vec, with: { corpus: moby.txt, ${base} } }`], "default-b");
    expect(a.plan().nodes[0]!.params).toMatchObject({ threads: 1, seed: "0/w2v" });
    expect(b.rec.steps.w2v!.outputs.words!.hash).toBe(a.rec.steps.w2v!.outputs.words!.hash);
    const words = (await loadArtifactValue(a.store, (await a.store.stat(a.rec.steps.w2v!.outputs.words!.key))!)) as VectorSet;
    expect(words.space.producer.params).toMatchObject({ threads: 1, deterministic: true, seed: "0/w2v" });
    // The same training as the library's with that seed and one thread.
    const lib = (await trainWord2Vec(textsCorpus(sentences), { model: "skipgram", vectorSize: 16, epochs: 1, minCount: 3, seed: "0/w2v" })).wordVectors;
    expect(Array.from(words.data)).toEqual(Array.from(lib.vectors));
    // Threads are opt-in, and say so in the space.
    const fast = await run([`  w2v: { uses: encoders-text/word2vec, with: { corpus: moby.txt, ${base}, threads: 2 } }`], "threads-2");
    const fastWords = (await loadArtifactValue(fast.store, (await fast.store.stat(fast.rec.steps.w2v!.outputs.words!.key))!)) as VectorSet;
    expect(fastWords.space.producer.params).toMatchObject({ threads: 2, deterministic: false });
  });

  it("trains on a corpus file and on records alike: word table as vectors and as a model, the library's numbers", async () => {
    const lib = (await trainWord2Vec(textsCorpus(sentences), { model: "skipgram", vectorSize: 20, epochs: 1, minCount: 3, threads: 1, seed: 5 })).wordVectors;
    const file = await run([`  w2v: { uses: encoders-text/word2vec, with: { corpus: moby.txt, ${WITH} } }`], "file");
    const recs = await run(
      ["  r: { uses: core/read-jsonl, with: { path: moby.jsonl } }", `  w2v: { uses: encoders-text/word2vec, in: { records: r }, onError: skip, with: { ${WITH} } }`],
      "records",
    );
    // Sentences none of whose words reach minCount ("Chowder.") have no sentence vector: reported, left out.
    const known = sentences.map((t) => tokenIndices(wordTokens(t), (w) => lib.indexOf(w)).length > 0);
    const skipped = recs.rec.steps.w2v!.skipped!;
    expect(skipped[0]).toMatchObject({ id: "blank", code: "E_EMPTY_TEXT" });
    expect(skipped.slice(1).map((x) => x.id)).toEqual(sentences.flatMap((_, i) => (known[i] ? [] : [`s${i}`])));
    expect(skipped.length).toBeGreaterThan(1);
    expect(skipped.slice(1).every((x) => x.code === "E_OOV")).toBe(true);
    for (const { rec, store } of [file, recs]) {
      expect(rec.status, JSON.stringify(rec.steps.w2v?.error)).toBe("succeeded");
      const vs = (await loadArtifactValue(store, (await store.stat(rec.steps.w2v!.outputs.words!.key))!)) as VectorSet;
      const model = (await loadArtifactValue(store, (await store.stat(rec.steps.w2v!.outputs.model!.key))!)) as ModelArtifact;
      const wv = WordVectors.load(model);
      expect(vs.ids).toEqual(lib.words);
      expect(Array.from(vs.data)).toEqual(Array.from(lib.vectors));
      expect(wv.counts).toEqual(lib.counts);
      expect(vs.meta?.[0]).toEqual({ word: "the", rank: 0 });
    }
    // Trained on records, `vectors` are the records' SIF sentence vectors; on a file, the word table.
    const get = async (r: typeof file, port: string) => (await loadArtifactValue(r.store, (await r.store.stat(r.rec.steps.w2v!.outputs[port]!.key))!)) as VectorSet;
    const sent = await get(recs, "vectors");
    expect(sent.ids).toEqual(sentences.flatMap((_, i) => (known[i] ? [`s${i}`] : [])));
    const first = sentences.filter((_, i) => known[i]).slice(0, 2);
    expect(sent.meta?.[0]).toMatchObject({ text: first[0] });
    expect(sent.space.id).toBe(`${lib.space.id}/sif`);
    const enc = new WordVectorsEncoder(lib);
    expect(Array.from(sent.data.subarray(0, 40))).toEqual(Array.from(await enc.encode(first)));
    expect((await get(file, "vectors")).ids).toEqual(lib.words);
    // The corpus file is part of the cache key.
    expect((await new LocalExecutor().run(file.plan(), { store: file.store })).steps.w2v!.cache).toBe("hit");
    await writeFile(join(dir, "moby.txt"), `${sentences.slice(0, 1400).join("\n")}\n`);
    expect((await new LocalExecutor().run(file.plan(), { store: file.store })).steps.w2v!.cache).toBe("miss");
  });

  it("fails clearly with neither or both sources, or a bad param", async () => {
    const neither = await run(["  w2v: { uses: encoders-text/word2vec }"], "neither");
    expect(neither.rec.steps.w2v!.error).toMatchObject({ code: "E_PARAM" });
    expect(neither.rec.steps.w2v!.error!.message).toMatch(/found neither/);
    const both = await run(["  r: { uses: core/read-jsonl, with: { path: moby.jsonl } }", "  w2v: { uses: encoders-text/word2vec, in: { records: r }, with: { corpus: moby.txt } }"], "both");
    expect(both.rec.steps.w2v!.error!.message).toMatch(/found both/);
    let err: unknown;
    try {
      loadPipelineText(["version: 1", "name: bad", "steps:", "  w2v: { uses: encoders-text/word2vec, with: { corpus: moby.txt, window: 0 } }"].join("\n"), join(dir, "bad.yaml"), registry, dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LatentflowAggregateError);
    expect((err as LatentflowAggregateError).errors.map((e) => e.message).join("\n")).toMatch(/window/);
  });
});
