import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadGlove } from "../glove/glove.js";
import { readWordVectorsFile, writeWordVectorsFile } from "./binary-file.js";
import { WordVectors } from "./word-vectors.js";

const dir = await mkdtemp(join(tmpdir(), "latentflow-lfwv-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
// 5,000 real GloVe rows with made-up counts (the file stores whatever counts a table has).
const glove = (await loadGlove()).head(5000);
const table = new WordVectors({ words: glove.words, vectors: glove.vectors, space: glove.space, counts: Float64Array.from({ length: 5000 }, (_, i) => 1e6 / (i + 1)) });

describe("word-vector binary file", () => {
  it("round-trips words, vectors, counts, space and meta", async () => {
    const path = join(dir, "a.lfwv");
    await writeWordVectorsFile(path, table, { source: "test" });
    const { wordVectors: back, meta } = await readWordVectorsFile(path);
    expect(meta.source).toBe("test");
    expect(back.words).toEqual(table.words);
    expect(back.space).toEqual(table.space);
    expect(Array.from(back.vectors)).toEqual(Array.from(table.vectors));
    expect(Array.from(back.counts!)).toEqual(Array.from(table.counts!));
    expect(back.indexOf("queen")).toBe(table.indexOf("queen"));
  });

  it("refuses truncated or foreign files with E_CACHE_CORRUPT", async () => {
    const path = join(dir, "b.lfwv");
    await writeWordVectorsFile(path, glove);
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 100));
    await expect(readWordVectorsFile(path)).rejects.toMatchObject({ code: "E_CACHE_CORRUPT" });
    await writeFile(path, (await readFile(new URL("./tokenize.ts", import.meta.url))).subarray(0, 4000));
    await expect(readWordVectorsFile(path)).rejects.toMatchObject({ code: "E_CACHE_CORRUPT" });
  });

  it("concurrent writers of one path leave one complete file and no temporaries", async () => {
    const path = join(dir, "c.lfwv");
    const variants = [glove.head(1000), glove.head(3000), glove, table];
    await Promise.all(variants.map((v) => writeWordVectorsFile(path, v)));
    const { wordVectors: back } = await readWordVectorsFile(path);
    expect(variants.map((v) => v.size)).toContain(back.size);
    expect(back.words[999]).toBe(glove.words[999]);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses words holding a newline", async () => {
    const bad = new WordVectors({ words: ["a\nb"], vectors: glove.vectors.subarray(0, 100), space: glove.space });
    await expect(writeWordVectorsFile(join(dir, "d.lfwv"), bad)).rejects.toMatchObject({ code: "E_PARAM" });
  });
});
