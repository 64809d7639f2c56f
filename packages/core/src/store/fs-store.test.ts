import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactManifest } from "./artifact-store.js";
import { FsArtifactStore } from "./fs-store.js";
import { rejectionOf } from "../testing/errors.js";

// The child imports the built package, as a separate program using Latentflow would.
const CORE_DIST = new URL("../../dist/index.js", import.meta.url).href;
const FILE_BYTES = 3 * 1024 * 1024;

/** Key and file contents of the i-th artifact the writer puts; the parent recomputes them to check what it reads. */
const WRITER = `
import { createHash } from "node:crypto";
import { FsArtifactStore } from ${JSON.stringify(CORE_DIST)};

const store = new FsArtifactStore(process.argv[2]);
const start = Number(process.argv[3]);
const keyOf = (i) => createHash("sha256").update("crash-" + i).digest("hex");
for (let i = start; ; i++) {
  const key = keyOf(i);
  const files = {
    "a.bin": Buffer.alloc(${FILE_BYTES}, "a" + i + ":" + key),
    "nested/b.bin": Buffer.alloc(${FILE_BYTES}, "b" + i + ":" + key),
    "c.txt": Buffer.from("artifact " + i + "\\n"),
  };
  await store.put(key, "model", files, { i });
  process.stdout.write("put " + i + "\\n");
}
`;

function keyOf(i: number): string {
  return createHash("sha256").update(`crash-${i}`).digest("hex");
}

function expectedFiles(i: number): Record<string, Buffer> {
  const key = keyOf(i);
  return {
    "a.bin": Buffer.alloc(FILE_BYTES, `a${i}:${key}`),
    "nested/b.bin": Buffer.alloc(FILE_BYTES, `b${i}:${key}`),
    "c.txt": Buffer.from(`artifact ${i}\n`),
  };
}


async function listAll(store: FsArtifactStore): Promise<ArtifactManifest[]> {
  const out: ArtifactManifest[] = [];
  for await (const m of store.list()) out.push(m);
  return out;
}

async function tmpEntries(root: string): Promise<string[]> {
  return readdir(join(root, "tmp")).catch(() => []);
}

/**
 * Runs the writer from artifact `start` on, and SIGKILLs it once it has put `minPuts` artifacts, `minMs`
 * have passed, and a put is under way (a temp directory holds files). Returns the last artifact reported put.
 */
async function runAndKill(script: string, root: string, start: number, minPuts: number, minMs: number): Promise<number> {
  const child = spawn(process.execPath, [script, root, String(start)], { stdio: ["ignore", "pipe", "pipe"] });
  let lastPut = start - 1;
  let stderr = "";
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const l of lines) if (l.startsWith("put ")) lastPut = Number(l.slice(4));
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on("exit", (_code, signal) => res(signal)));
  const t0 = Date.now();
  let alive = true;
  void exited.then(() => (alive = false));
  while (alive) {
    await new Promise((r) => setTimeout(r, 2));
    if (lastPut - start + 1 < minPuts || Date.now() - t0 < minMs) continue;
    const tmp = await tmpEntries(root);
    // Kill mid-put when we can see one; after a second give up waiting for the moment and kill anyway.
    const midPut = tmp.length > 0 && (await readdir(join(root, "tmp", tmp[0]!)).catch(() => [])).length > 0;
    if (midPut || Date.now() - t0 > minMs + 1000) {
      child.kill("SIGKILL");
      break;
    }
  }
  const signal = await exited;
  expect(signal, `the writer should die by SIGKILL; stderr: ${stderr}`).toBe("SIGKILL");
  return lastPut;
}

describe("FsArtifactStore crash atomicity (real child process, SIGKILL)", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "latentflow-fs-store-crash-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lists only whole artifacts, each read back verified; leftover temp dirs are not listed and cleanTmp(0) removes them", async () => {
    const root = join(dir, "store");
    const script = join(dir, "writer.mjs");
    await writeFile(script, WRITER);

    // Kill a few writers in a row (each resuming where the last one was killed), so at least one kill
    // lands mid-put and leaves a temp directory behind.
    let next = 0;
    const reported: number[] = [];
    const inFlight: number[] = [];
    for (let round = 0; round < 4; round++) {
      const last = await runAndKill(script, root, next, round === 0 ? 5 : 2, round === 0 ? 300 : 50);
      for (let i = next; i <= last; i++) reported.push(i);
      inFlight.push(last + 1);
      // Start past the artifact that was in flight: whether it made it is the child's secret.
      next = last + 2;
      if (round >= 1 && (await tmpEntries(root)).length > 0) break;
    }
    const leftovers = await tmpEntries(root);
    expect(leftovers.length, "no kill landed mid-put, so the test proved nothing about half artifacts").toBeGreaterThan(0);

    const store = new FsArtifactStore(root);
    const listed = await listAll(store);
    const listedIs = listed.map((m) => (m.info as { i: number }).i).sort((a, b) => a - b);
    // Every put that returned is listed; the only others are puts the kill may have caught after their rename.
    for (const i of reported) expect(listedIs).toContain(i);
    for (const i of listedIs) expect(reported.includes(i) || inFlight.includes(i), `artifact ${i} was never put`).toBe(true);
    // A put caught before its rename left a temp dir (named <key>.<pid>.<random>); its key is not listed.
    for (const t of leftovers) expect(listed.map((m) => m.key)).not.toContain(t.split(".")[0]);

    for (const m of listed) {
      const i = (m.info as { i: number }).i;
      expect(m.key).toBe(keyOf(i));
      expect(m.files.map((f) => f.name)).toEqual(["a.bin", "c.txt", "nested/b.bin"]);
      const want = expectedFiles(i);
      for (const f of m.files) {
        const bytes = await store.read(m.key, f.name);
        expect(Buffer.from(bytes).equals(want[f.name]!), `artifact ${i} file ${f.name}`).toBe(true);
      }
    }

    expect(await store.cleanTmp()).toBe(0); // the default age (an hour) protects a put that is still running
    expect(await store.cleanTmp(0)).toBe(leftovers.length);
    expect(await tmpEntries(root)).toEqual([]);
    expect((await listAll(store)).map((m) => m.key)).toEqual(listed.map((m) => m.key));
  });
});

describe("FsArtifactStore reading damaged artifacts", () => {
  let dir: string;
  let store: FsArtifactStore;
  const key = "ab".repeat(16);
  const files = { "vectors.npy": new Uint8Array(4096).map((_, i) => i % 251), "rows.jsonl": new TextEncoder().encode('{"id":"a"}\n') };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "latentflow-fs-store-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fresh(): Promise<string> {
    store = new FsArtifactStore(await mkdtemp(join(dir, "s-")));
    await store.put(key, "vectors", files);
    return join(store.location, "objects", key.slice(0, 2), key);
  }

  it("reads back what was put, byte for byte", async () => {
    await fresh();
    expect(Buffer.from(await store.read(key, "vectors.npy")).equals(Buffer.from(files["vectors.npy"]))).toBe(true);
  });

  it("a file changed in place (same size) is E_ARTIFACT_CORRUPT naming the file and both hashes", async () => {
    const at = await fresh();
    const bytes = await readFile(join(at, "vectors.npy"));
    bytes[1000] ^= 0xff;
    await writeFile(join(at, "vectors.npy"), bytes);
    const e = await rejectionOf(store.read(key, "vectors.npy"));
    expect(e.code).toBe("E_ARTIFACT_CORRUPT");
    expect(e.message).toMatch(/file 'vectors\.npy'/);
    expect(e.message).toContain(createHash("sha256").update(files["vectors.npy"]).digest("hex"));
    expect(e.message).toContain(createHash("sha256").update(bytes).digest("hex"));
    expect(e.hint).toMatch(/delete the artifact/);
    expect(e.hint).toMatch(/latentflow store verify --repair/);
    // The other file of the artifact still reads.
    expect(new TextDecoder().decode(await store.read(key, "rows.jsonl"))).toBe('{"id":"a"}\n');
  });

  it("names the step that made a damaged artifact, and the forced rerun of that step replaces it", async () => {
    store = new FsArtifactStore(await mkdtemp(join(dir, "s-")));
    await store.put(key, "vectors", files, { step: "embed" });
    const at = join(store.location, "objects", key.slice(0, 2), key, "vectors.npy");
    const bytes = await readFile(at);
    bytes[7] ^= 1;
    await writeFile(at, bytes);
    const e = await rejectionOf(store.read(key, "vectors.npy"));
    expect(e.message).toContain(`artifact ${key} (output of step 'embed'), file 'vectors.npy'`);
    expect(e.hint).toContain("latentflow run --force --only embed <pipeline>");
    expect(e.data).toMatchObject({ key, step: "embed", file: "vectors.npy" });
    await store.put(key, "vectors", files, { step: "embed" }, { replace: true });
    expect(Buffer.from(await store.read(key, "vectors.npy")).equals(Buffer.from(files["vectors.npy"]))).toBe(true);
    expect(await readdir(join(store.location, "tmp"))).toEqual([]);
  });

  it("a truncated file is E_ARTIFACT_CORRUPT", async () => {
    const at = await fresh();
    await writeFile(join(at, "vectors.npy"), files["vectors.npy"].subarray(0, 100));
    const e = await rejectionOf(store.read(key, "vectors.npy"));
    expect(e.code).toBe("E_ARTIFACT_CORRUPT");
    expect(e.message).toMatch(/4096 bytes.*100 bytes/);
  });

  it("a listed file that is missing is E_ARTIFACT_CORRUPT with a hint", async () => {
    const at = await fresh();
    await rm(join(at, "rows.jsonl"));
    const e = await rejectionOf(store.read(key, "rows.jsonl"));
    expect(e.code).toBe("E_ARTIFACT_CORRUPT");
    expect(e.message).toMatch(/file 'rows\.jsonl' in .*: the file is listed but missing/);
    expect(e.hint).toMatch(/delete the artifact \(or run with --force\) to recompute it/);
  });

  it("a name the manifest does not list is E_ARTIFACT_MISSING, and so is an unknown key", async () => {
    await fresh();
    expect((await rejectionOf(store.read(key, "space.json"))).code).toBe("E_ARTIFACT_MISSING");
    expect((await rejectionOf(store.read("cd".repeat(16), "rows.jsonl"))).code).toBe("E_ARTIFACT_MISSING");
  });

  it("delete removes a damaged artifact so it can be put again", async () => {
    const at = await fresh();
    await rm(join(at, "rows.jsonl"));
    expect(await store.delete(key)).toBe(true);
    expect(existsSync(at)).toBe(false);
    await store.put(key, "vectors", files);
    expect(new TextDecoder().decode(await store.read(key, "rows.jsonl"))).toBe('{"id":"a"}\n');
  });
});
