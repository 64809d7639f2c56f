import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy } from "@latentflow/core/io";
import { EXIT, main } from "./cli.js";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin.js");

function capture(): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: () => string; err: () => string } {
  let o = "";
  let e = "";
  return { io: { stdout: (s) => (o += s), stderr: (s) => (e += s) }, out: () => o, err: () => e };
}

/** An IDX file: uint8 data of `shape`, values i % 251. */
function idx(shape: number[]): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * shape.length + size);
  out[2] = 0x08;
  out[3] = shape.length;
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  for (let i = 0; i < size; i++) out[4 + 4 * shape.length + i] = i % 251;
  return out;
}

describe("clear errors where there were none", () => {
  let dir: string;
  let good: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-errors-"));
    await writeFile(join(dir, "images.idx"), idx([6, 2, 2]));
    await writeFile(join(dir, "labels.idx"), idx([6]));
    good = join(dir, "good.yaml");
    await writeFile(good, "version: 1\nname: good\nsteps:\n  pixels: { uses: core/read-idx, with: { images: images.idx, labels: labels.idx } }\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a .npy of dtype <i8 as vectors (no BigInt error)", async () => {
    await writeFile(join(dir, "ints.npy"), encodeNpy({ dtype: "int64", shape: [2, 3], data: BigInt64Array.from([1n, -2n, 3n, 4n, 5n, 2n ** 40n]) }));
    const file = join(dir, "npy.yaml");
    await writeFile(file, "version: 1\nname: npy\nsteps:\n  v: { uses: core/read-vectors, with: { path: ints.npy, space: { id: ints } } }\n");
    const c = capture();
    expect(await main(["--home", join(dir, "home-npy"), "run", file, "--show", "v"], c.io)).toBe(EXIT.ok);
    expect(c.out()).toContain("2 vectors in space 'ints' (dim 3");
    expect(c.out()).toContain("[1.0000, -2.0000, 3.0000]");
    expect(c.out()).toContain("[4.0000, 5.0000, 1099511627776.0000]");
  });

  it("reads a 0-item IDX file as an empty set", async () => {
    await writeFile(join(dir, "empty-images.idx"), idx([0, 28, 28]));
    await writeFile(join(dir, "empty-labels.idx"), idx([0]));
    const file = join(dir, "empty.yaml");
    await writeFile(file, "version: 1\nname: empty\nsteps:\n  pixels: { uses: core/read-idx, with: { images: empty-images.idx, labels: empty-labels.idx } }\n");
    const c = capture();
    expect(await main(["--home", join(dir, "home-empty"), "run", file, "--show", "pixels"], c.io)).toBe(EXIT.ok);
    expect(c.out()).toContain("0 vectors in space 'pixels/28x28'");
  });

  it("refuses a missing input file before running: E_FILE_NOT_FOUND naming the step, the param and the resolved path, exit 2", async () => {
    const file = join(dir, "missing.yaml");
    await writeFile(file, "version: 1\nname: missing\nsteps:\n  pixels: { uses: core/read-idx, with: { images: images.idx, labels: no-such-labels.idx } }\n");
    for (const cmd of ["run", "validate"]) {
      const c = capture();
      expect(await main(["--home", join(dir, "home-missing"), cmd, file], c.io)).toBe(EXIT.invalid);
      expect(c.err()).toContain(`${file}:4:`);
      expect(c.err()).toContain(`E_FILE_NOT_FOUND step 'pixels' (core/read-idx): param 'labels' names ${join(dir, "no-such-labels.idx")}`);
    }
    const json = capture();
    expect(await main(["validate", file, "--json"], json.io)).toBe(EXIT.invalid);
    expect(JSON.parse(json.out()).errors[0].data).toEqual({ step: "pixels", param: "labels", path: join(dir, "no-such-labels.idx") });
  });

  it("refuses a --home that is a file at start, before any step runs: E_HOME, exit 2", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "not a directory");
    for (const home of [file, join(file, "below")]) {
      const c = capture();
      expect(await main(["--home", home, "run", good], c.io)).toBe(EXIT.invalid);
      expect(c.err()).toMatch(/^E_HOME --home \(or \$LATENTFLOW_HOME\) must be a directory/);
      expect(c.out()).toBe(""); // nothing ran, no summary
    }
  });

  it("refuses export --to an existing file: E_EXPORT_TARGET, exit 2; export latest works as show latest does", async () => {
    const home = join(dir, "home-export");
    expect(await main(["--home", home, "run", good], capture().io)).toBe(EXIT.ok);
    const target = join(dir, "exists.txt");
    await writeFile(target, "keep me");
    const c = capture();
    expect(await main(["--home", home, "export", "latest", "pixels", "--to", target], c.io)).toBe(EXIT.invalid);
    expect(c.err()).toContain(`E_EXPORT_TARGET --to expects a directory to write into; ${target} is a file`);
    expect(await readFile(target, "utf8")).toBe("keep me");
    const ok = capture();
    expect(await main(["--home", home, "export", "latest", "pixels", "--to", join(dir, "out"), "--format", "projector"], ok.io)).toBe(EXIT.ok);
    expect(ok.out()).toContain(join(dir, "out", "vectors.tsv"));
    const none = capture();
    expect(await main(["--home", join(dir, "home-none"), "export", "latest", "pixels", "--to", join(dir, "out2")], none.io)).toBe(EXIT.invalid);
    expect(none.err()).toContain("E_NOT_FOUND no runs yet in");
  });

  it("refuses __proto__, constructor and prototype under with: (at any depth) and in: as E_PARAM_NAME, exit 2", async () => {
    for (const [key, where] of [["__proto__", "with: { __proto__: { limit: 1 }, images: images.idx }"], ["constructor", "with: { images: images.idx, constructor: 1 }"], ["prototype", "with: { images: images.idx, space: { prototype: 1 } }"]] as const) {
      const file = join(dir, `proto-${key}.yaml`);
      await writeFile(file, `version: 1\nname: proto\nsteps:\n  pixels: { uses: core/read-idx, ${where} }\n`);
      const c = capture();
      expect(await main(["validate", file], c.io)).toBe(EXIT.invalid);
      expect(c.err()).toContain(`E_PARAM_NAME step 'pixels': '`);
      expect(c.err()).toContain(`'${key}' is reserved in JavaScript objects`);
    }
    const file = join(dir, "proto-in.yaml");
    await writeFile(file, "version: 1\nname: proto\nsteps:\n  a: { uses: core/read-idx, with: { images: images.idx } }\n  b: { uses: core/accuracy, in: { __proto__: a } }\n");
    const c = capture();
    expect(await main(["validate", file], c.io)).toBe(EXIT.invalid);
    expect(c.err()).toContain("E_PARAM_NAME step 'b': '__proto__' under 'in:'");
  });

  it("refuses --concurrency 0, -3 and abc (and other counts) as E_OPTION, exit 2", async () => {
    for (const v of ["0", "-3", "abc", "1.5", ""]) {
      const c = capture();
      expect(await main(["--home", join(dir, "home-conc"), "run", good, "--concurrency", v], c.io)).toBe(EXIT.invalid);
      expect(c.err()).toContain(`E_OPTION --concurrency expects a whole number of at least 1, found '${v}'`);
    }
    const c = capture();
    expect(await main(["show", "latest", "pixels", "--limit", "0"], c.io)).toBe(EXIT.invalid);
    expect(c.err()).toContain("E_OPTION --limit");
    expect(await main(["--home", join(dir, "home-conc"), "run", good, "--concurrency", "2"], capture().io)).toBe(EXIT.ok);
  });

  it("--only nope FILE leaves FILE to the command and names the unknown step: E_UNKNOWN_STEP, exit 2", async () => {
    const c = capture();
    expect(await main(["--home", join(dir, "home-only"), "run", "--only", "nope", good], c.io)).toBe(EXIT.invalid);
    expect(c.err()).toContain(`E_UNKNOWN_STEP --only names step 'nope', which is not in ${good}`);
    const both = capture();
    expect(await main(["--home", join(dir, "home-only"), "run", "--only", "pixels,pixels", good, "--show", "pixels"], both.io)).toBe(EXIT.ok);
  });

  it("refuses an IDX labels file given as images, and the reverse: E_IDX_KIND, the run fails (exit 1)", async () => {
    const file = join(dir, "swapped.yaml");
    await writeFile(file, "version: 1\nname: swapped\nsteps:\n  pixels: { uses: core/read-idx, with: { images: labels.idx, labels: images.idx } }\n");
    const c = capture();
    expect(await main(["--home", join(dir, "home-swapped"), "run", file], c.io)).toBe(EXIT.failed);
    expect(c.out()).toContain("E_IDX_KIND: read-idx: param 'images' expects items of shape [n, …] (rank 2 or more), found a rank-1 IDX file [6]");
    await writeFile(file, "version: 1\nname: swapped\nsteps:\n  pixels: { uses: core/read-idx, with: { images: images.idx, labels: images.idx } }\n");
    const r = capture();
    expect(await main(["--home", join(dir, "home-swapped"), "run", file], r.io)).toBe(EXIT.failed);
    expect(r.out()).toContain("E_IDX_KIND: read-idx: param 'labels' expects one value per item (a rank-1 IDX file), found a rank-3 IDX file [6, 2, 2]");
  });

  it("validate --json prints the problems as JSON on stdout for a broken file, exit 2", async () => {
    const file = join(dir, "broken.yaml");
    await writeFile(file, "version: 1\nname: broken\nsteps:\n  a: { uses: core/read-idx, with: { images: images.idx, limt: 3 } }\n  b: { uses: core/nope }\n");
    const c = capture();
    expect(await main(["validate", file, "--json"], c.io)).toBe(EXIT.invalid);
    const report = JSON.parse(c.out()) as { ok: boolean; errors: { code: string; location: { line: number } }[] };
    expect(report.ok).toBe(false);
    expect(report.errors.map((e) => [e.code, e.location.line])).toEqual([
      ["E_PARAM", 4],
      ["E_UNKNOWN_STEP", 5],
    ]);
    const syntax = join(dir, "syntax.yaml");
    await writeFile(syntax, "version: 1\nsteps: [\n");
    const s = capture();
    expect(await main(["validate", syntax, "--json"], s.io)).toBe(EXIT.invalid);
    expect(JSON.parse(s.out()).errors[0].code).toBe("E_YAML_SYNTAX");
  });

  it("plugins | head: a reader that leaves early ends the command quietly, no EPIPE stack trace", async () => {
    const child = spawn(process.execPath, [bin, "plugins"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    // Like head -1: read the first chunk, then close the pipe while the command is still writing.
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((res) => child.on("close", res));
    expect(err).not.toContain("EPIPE");
    expect(err).not.toContain("Error");
    expect(code).toBe(0);
  });

  it("core/knn-classify keeps labelField's name in its predictions, so core/accuracy with the same labelField works", async () => {
    await mkdir(join(dir, "cat"), { recursive: true });
    const rows = ["a", "a", "b", "b"].map((c, i) => JSON.stringify({ id: `r${i}`, category: c })).join("\n");
    await writeFile(join(dir, "cat", "rows.jsonl"), `${rows}\n`);
    await writeFile(join(dir, "cat", "v.npy"), encodeNpy({ dtype: "float32", shape: [4, 2], data: Float32Array.from([0, 0, 0, 1, 9, 9, 9, 10]) }));
    const file = join(dir, "category.yaml");
    await writeFile(
      file,
      `version: 1
name: category
steps:
  v: { uses: core/read-vectors, with: { path: cat/v.npy, rows: cat/rows.jsonl, space: { id: toy } } }
  classify: { uses: core/knn-classify, in: { reference: v, queries: v }, with: { k: 1, labelField: category } }
  score: { uses: core/accuracy, in: { predictions: classify }, with: { labelField: category } }
`,
    );
    const c = capture();
    expect(await main(["--home", join(dir, "home-cat"), "run", file], c.io)).toBe(EXIT.ok);
    expect(c.out()).toContain('score.report: {"accuracy":1,"correct":4,"total":4}');
  });
});
