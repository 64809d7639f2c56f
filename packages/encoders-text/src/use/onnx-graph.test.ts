import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sotu } from "../test/corpora.js";
import { UseGraph, resolveBackend } from "./graph.js";
import { readUseGraphFiles } from "./model-files.js";
import { OnnxUseGraph, buildUseOnnxModel } from "./onnx-graph.js";
import { USE_MAX_TOKENS, UniversalSentenceEncoder } from "./use.js";

// The ONNX graph built from model.json's weights against the tfjs graph itself (wasm backend), on real
// sentences and on the lengths where a rewrite could slip: one piece, exactly 128, more than 128 (the
// model keeps the first 128), and short and long texts padded into one batch.

const DIM = 512;
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

function expectUnitRows(v: Float32Array): void {
  for (let r = 0; r < v.length / DIM; r++) {
    let s = 0;
    for (let k = 0; k < DIM; k++) s += v[r * DIM + k]! ** 2;
    expect(Math.abs(Math.sqrt(s) - 1), `norm of row ${r}`).toBeLessThanOrEqual(1e-5);
  }
}

/** Sentences of 4–60 words from the 2009–2012 addresses, in order. */
function sotuSentences(n: number): string[] {
  const out: string[] = [];
  for (const speech of sotu().filter((s) => s.year >= 2009)) {
    for (const s of speech.text.split(/(?<=[.!?])\s+/)) {
      const words = s.trim().split(/\s+/).length;
      if (words >= 4 && words <= 60) out.push(s.trim());
      if (out.length === n) return out;
    }
  }
  return out;
}

describe("the USE lite ONNX graph", () => {
  let onnx: UniversalSentenceEncoder;
  let wasm: UniversalSentenceEncoder;
  beforeAll(async () => {
    [onnx, wasm] = await Promise.all([UniversalSentenceEncoder.load({ backend: "onnxruntime", threads: 2 }), UniversalSentenceEncoder.load({ backend: "wasm", threads: 2 })]);
  });
  afterAll(async () => {
    await Promise.all([onnx?.dispose(), wasm?.dispose()]);
  });

  it("is what auto chooses when tfjs-node is not installed", async () => {
    let tfjsNode = true;
    try {
      const name = "@tensorflow/tfjs-node";
      await import(name);
    } catch {
      tfjsNode = false;
    }
    expect(await resolveBackend("auto")).toBe(tfjsNode ? "tensorflow" : "onnxruntime");
    expect(onnx.backend).toBe("onnxruntime");
    expect(onnx.threads).toBe(2);
  });

  it("gives the tfjs graph's vectors on 150 State of the Union sentences (max difference ≤ 1e-5, unit norms)", async () => {
    const texts = sotuSentences(150);
    expect(texts).toHaveLength(150);
    const a = await onnx.encode(texts);
    const b = await wasm.encode(texts);
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-5);
    expectUnitRows(a);
    // Not a degenerate pass: the sentences get clearly different vectors.
    expect(maxAbsDiff(a.subarray(0, DIM), a.subarray(DIM, 2 * DIM))).toBeGreaterThan(0.05);
  });

  it("matches it on one piece, exactly 128 pieces, more than 128, and short and long texts in one batch", async () => {
    const words = "We will build roads and schools for every child in America".split(" ");
    const exact = Array.from({ length: 117 }, (_, i) => words[i % words.length]).join(" ");
    const long = `${exact} ${sotuSentences(40).join(" ")}`;
    const texts = ["America", exact, long, "Peace.", "The economy is growing again.", long.slice(0, 300)];
    expect(onnx.tokenize("America")).toHaveLength(1);
    expect(onnx.tokenizer.encode(exact)).toHaveLength(USE_MAX_TOKENS);
    expect(onnx.tokenizer.encode(long).length).toBeGreaterThan(3 * USE_MAX_TOKENS);

    // One batch: every text padded to 128 pieces.
    const mixed = await onnx.encode(texts, { batchSize: texts.length });
    expect(maxAbsDiff(mixed, await wasm.encode(texts, { batchSize: texts.length }))).toBeLessThanOrEqual(1e-5);
    expectUnitRows(mixed);
    // Each text alone: no padding at all.
    for (let i = 0; i < texts.length; i++) {
      const alone = await onnx.encode([texts[i]!]);
      expect(maxAbsDiff(alone, mixed.subarray(i * DIM, (i + 1) * DIM)), texts[i]!.slice(0, 40)).toBeLessThanOrEqual(1e-5);
    }
    // The text of exactly 128 pieces and the longer one starting with it: the same vector, as the model keeps 128.
    expect(maxAbsDiff(mixed.subarray(DIM, 2 * DIM), mixed.subarray(2 * DIM, 3 * DIM))).toBeLessThanOrEqual(1e-6);
  });

  it("drops the pieces past the 128th itself, as the tfjs graph does", async () => {
    const ids = onnx.tokenizer.encode(sotuSentences(30).join(" "));
    expect(ids.length).toBeGreaterThan(USE_MAX_TOKENS);
    const pieces = Int32Array.from([...ids, ...ids.slice(0, 5)]);
    const lengths = Int32Array.of(ids.length, 5);
    const graph = await OnnxUseGraph.load(1);
    const tfjs = await UseGraph.load("wasm");
    try {
      const a = await graph.embedPieces(pieces, lengths);
      expect(maxAbsDiff(a, await tfjs.embedPieces(pieces, lengths))).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(a.subarray(0, DIM), await graph.embedPieces(Int32Array.from(ids.slice(0, USE_MAX_TOKENS)), Int32Array.of(USE_MAX_TOKENS)))).toBeLessThanOrEqual(1e-6);
    } finally {
      await graph.dispose();
      tfjs.dispose();
    }
  });

  it("refuses weights it was not written for, naming the weight", async () => {
    const files = await readUseGraphFiles();
    const weightSpecs = files.weightSpecs.map((s) => (s.name === "module/Embeddings_en" ? { ...s, name: "module/Embeddings_fr" } : s));
    expect(() => buildUseOnnxModel({ ...files, weightSpecs })).toThrow(expect.objectContaining({ code: "E_MODEL_LOAD", message: expect.stringContaining("module/Embeddings_en") }));
  });
});
