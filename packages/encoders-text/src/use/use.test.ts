import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UseGraph } from "./graph.js";
import { USE_MAX_TOKENS, USE_SPACE_ID, UniversalSentenceEncoder } from "./use.js";

const DIM = 512;
const cosine = (v: Float32Array, i: number, j: number) => {
  let s = 0;
  for (let k = 0; k < DIM; k++) s += v[i * DIM + k]! * v[j * DIM + k]!;
  return s;
};
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

// The default backend (onnxruntime-node here: tfjs-node is not installed) and tfjs wasm on worker threads.
describe.each([
  { name: "default backend", options: {}, backend: "onnxruntime", threads: availableParallelism() },
  { name: "wasm, 2 worker threads", options: { threads: 2, backend: "wasm" as const }, backend: "wasm", threads: 2 },
])("UniversalSentenceEncoder ($name)", ({ options, backend, threads }) => {
  let enc: UniversalSentenceEncoder;
  beforeAll(async () => {
    enc = await UniversalSentenceEncoder.load(options);
  });
  afterAll(async () => {
    await enc?.dispose();
  });

  it("names its space after the model: use-lite/512, unit vectors, cosine", () => {
    expect(enc.space).toMatchObject({ id: USE_SPACE_ID, dim: 512, normalized: true, metric: "cosine", modality: "text" });
    expect(enc.space.producer.name).toBe("encoders-text/use");
    expect(enc.backend).toBe(backend);
    expect(enc.threads).toBe(threads);
  });

  it("puts a sentence nearer its paraphrase than an unrelated one", async () => {
    const v = await enc.encode(["The cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply today."]);
    const near = cosine(v, 0, 1);
    const far = cosine(v, 0, 2);
    expect(near).toBeGreaterThan(far + 0.3);
    for (let i = 0; i < 3; i++) expect(cosine(v, i, i)).toBeCloseTo(1, 5);
  });

  it("refuses an empty text with E_EMPTY_TEXT and its index, and a bad batchSize with E_PARAM", async () => {
    await expect(enc.encode(["fine", "  "])).rejects.toMatchObject({ code: "E_EMPTY_TEXT", data: { index: 1 } });
    await expect(enc.encode(["fine"], { batchSize: 0 })).rejects.toMatchObject({ code: "E_PARAM" });
  });
});

describe("UniversalSentenceEncoder options", () => {
  it("refuses an unknown backend and a negative thread count with E_PARAM", async () => {
    await expect(UniversalSentenceEncoder.load({ backend: "cuda" as never })).rejects.toMatchObject({ code: "E_PARAM", message: expect.stringContaining("auto | onnxruntime | wasm | tensorflow") });
    await expect(UniversalSentenceEncoder.load({ threads: -1 })).rejects.toMatchObject({ code: "E_PARAM" });
  });

  it("on onnxruntime, gives the same bits on repeated calls and on 1 or 2 intra-op threads; threads 0 is the calling thread alone", async () => {
    const texts = ["The president spoke about the economy.", "Heavy rain closed the roads.", "She cooked rice for dinner.", "An old man walked his dog along the river at dusk."];
    const two = await UniversalSentenceEncoder.load({ backend: "onnxruntime", threads: 2 });
    const zero = await UniversalSentenceEncoder.load({ backend: "onnxruntime", threads: 0 });
    try {
      expect(zero.threads).toBe(1);
      const a = await two.encode(texts, { batchSize: 2 });
      expect(maxAbsDiff(await two.encode(texts, { batchSize: 2 }), a)).toBe(0);
      expect(maxAbsDiff(await zero.encode(texts, { batchSize: 2 }), a)).toBe(0);
    } finally {
      await Promise.all([two.dispose(), zero.dispose()]);
    }
  });
});

describe("UniversalSentenceEncoder (wasm worker threads)", () => {
  let enc: UniversalSentenceEncoder;
  beforeAll(async () => {
    enc = await UniversalSentenceEncoder.load({ threads: 2, backend: "wasm" });
  });
  afterAll(async () => {
    await enc?.dispose();
  });

  it("is deterministic: repeated calls, and worker threads or the calling thread, give the same bits", async () => {
    const texts = ["The president spoke about the economy.", "Heavy rain closed the roads.", "She cooked rice for dinner.", "An old man walked his dog along the river at dusk."];
    const a = await enc.encode(texts, { batchSize: 2 });
    const b = await enc.encode(texts, { batchSize: 2 });
    expect(maxAbsDiff(a, b)).toBe(0);
    const inline = await UniversalSentenceEncoder.load({ threads: 0, backend: "wasm" });
    try {
      expect(inline.threads).toBe(1);
      expect(maxAbsDiff(await inline.encode(texts, { batchSize: 2 }), a)).toBe(0);
    } finally {
      await inline.dispose();
    }
  });

  it("cuts a long text at 128 pieces exactly as the model's own clipping does", async () => {
    const long = Array.from({ length: 300 }, (_, i) => `Sentence number ${i} talks about taxes, roads and schools.`).join(" ");
    const full = enc.tokenizer.encode(long);
    expect(full.length).toBeGreaterThan(10 * USE_MAX_TOKENS);
    expect(enc.tokenize(long)).toEqual(full.slice(0, USE_MAX_TOKENS));
    // The graph given every piece (it clips them itself) and given our 128: the same vector.
    const graph = await UseGraph.load("wasm");
    try {
      const sparse = (ids: number[]) => ({ indices: Int32Array.from(ids.flatMap((_, p) => [0, p])), values: Int32Array.from(ids) });
      const a = sparse(full);
      const b = sparse(enc.tokenize(long));
      const viaModel = await graph.embed(a.indices, a.values, 1);
      const viaUs = await graph.embed(b.indices, b.values, 1);
      expect(maxAbsDiff(viaModel, viaUs)).toBeLessThanOrEqual(1e-6);
      const [v] = [await enc.encode([long])];
      expect(maxAbsDiff(v!, viaUs)).toBeLessThanOrEqual(1e-5);
    } finally {
      graph.dispose();
    }
  });

});

describe("UniversalSentenceEncoder event loop", () => {
  it("keeps the calling thread's event loop running while onnxruntime computes (the session is on a worker thread)", async () => {
    const enc = await UniversalSentenceEncoder.load({ backend: "onnxruntime" });
    try {
      // 256 long sentences in one batch: a session on this thread would hold the loop for the whole batch
      // (about a second here), so no timer could fire meanwhile.
      const texts = Array.from({ length: 256 }, (_, i) => `Sentence ${i}: the committee met on Tuesday to discuss roads, schools, taxes and the budget for the coming year.`);
      let last = performance.now();
      let longest = 0;
      let ticks = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
        ticks++;
      }, 5);
      const t0 = performance.now();
      try {
        await enc.encode(texts, { batchSize: 256 });
      } finally {
        clearInterval(timer);
      }
      const took = performance.now() - t0;
      // The timer kept firing all along: its longest gap is a small part of the batch.
      expect(ticks).toBeGreaterThan(took / 50);
      expect(longest).toBeLessThan(took / 2);
    } finally {
      await enc.dispose();
    }
  });
});

describe("UniversalSentenceEncoder lifetime", () => {
  it.each(["wasm", "onnxruntime"])("lets the process exit after dispose on %s (no thread left running)", async (backend) => {
    const url = new URL("../../dist/use/use.js", import.meta.url).href;
    const script = `const { UniversalSentenceEncoder } = await import(${JSON.stringify(url)});
      const e = await UniversalSentenceEncoder.load({ threads: 2, backend: ${JSON.stringify(backend)} });
      const v = await e.encode(["one sentence", "another one"]);
      await e.dispose();
      console.log(e.backend, v.length);`;
    const out = await new Promise<string>((resolve, reject) => {
      // A thread left running would keep the child alive until the timeout kills it.
      execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 120_000, cwd: fileURLToPath(new URL("../..", import.meta.url)) }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    expect(out.trim()).toBe(`${backend} ${2 * DIM}`);
  });
});
