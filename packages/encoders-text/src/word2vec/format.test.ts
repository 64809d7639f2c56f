import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textSpace } from "../encoder.js";
import { WordVectors } from "../word-vectors/word-vectors.js";
import { mobyDickSentences } from "./corpus-reference.js";
import { textsCorpus } from "./corpus.js";
import { encodeWord2VecFormat, formatFloat32, loadWord2VecFormat, saveWord2VecFormat } from "./format.js";
import { trainWord2Vec } from "./word2vec.js";
import { rejectionOf } from "@latentflow/core/testing";


const space = textSpace({ id: "tiny", dim: 2, normalized: false, producer: "test", version: "1" });
const tiny = new WordVectors({ words: ["the", "naïve"], vectors: new Float32Array([0.5, -1.25, 0.1, 3]), space });

let dir: string;
let trained: WordVectors;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-w2v-format-"));
  const moby = [...mobyDickSentences()].slice(0, 2000);
  trained = (await trainWord2Vec(textsCorpus(moby), { vectorSize: 30, epochs: 1, minCount: 3, threads: 1 })).wordVectors;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("word2vec formats", () => {
  it("writes the exact bytes gensim's load_word2vec_format reads (text and binary)", () => {
    expect(new TextDecoder().decode(encodeWord2VecFormat(tiny))).toBe("2 2\nthe 0.5 -1.25\nnaïve 0.1 3\n");
    const expected = Buffer.concat([
      Buffer.from("2 2\nthe ", "utf8"),
      Buffer.from([0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0xa0, 0xbf]), // 0.5, -1.25 little-endian float32
      Buffer.from("\nnaïve ", "utf8"),
      Buffer.from([0xcd, 0xcc, 0xcc, 0x3d, 0x00, 0x00, 0x40, 0x40]), // 0.1f, 3
      Buffer.from("\n"),
    ]);
    expect(Buffer.from(encodeWord2VecFormat(tiny, { binary: true }))).toEqual(expected);
  });

  it("writes each float32 as the shortest decimal that reads back to it", () => {
    for (const v of [0.1, -1e-7, 123456.789, 3.4028234663852886e38, 1.401298464324817e-45, 0]) {
      const f = Math.fround(v);
      const s = formatFloat32(f);
      expect(Math.fround(Number(s))).toBe(f);
      expect(s.length).toBeLessThanOrEqual(String(f).length);
    }
    expect(formatFloat32(Math.fround(0.1))).toBe("0.1");
  });

  it("round-trips a trained table through both formats, and limit reads the most frequent words", async () => {
    for (const binary of [false, true]) {
      const path = join(dir, binary ? "moby.bin" : "moby.txt");
      await saveWord2VecFormat(trained, path, { binary });
      const back = await loadWord2VecFormat(path, { binary });
      expect(back.words).toEqual(trained.words);
      expect(back.vectors).toEqual(trained.vectors);
      expect(back.counts).toBeUndefined();
      expect(back.space.dim).toBe(30);
      const head = await loadWord2VecFormat(path, { binary, limit: 10 });
      expect(head.words).toEqual(trained.words.slice(0, 10));
      expect(head.vectors).toEqual(trained.vectors.subarray(0, 300));
      expect(head.space.producer.params).toMatchObject({ limit: 10 });
    }
  });

  it("reads binary files without the newline after each vector (as gensim 4 writes them) and CRLF text files", async () => {
    const gensim4 = Buffer.concat([Buffer.from("2 2\nthe "), Buffer.from(new Float32Array([0.5, -1.25]).buffer), Buffer.from("naïve "), Buffer.from(new Float32Array([0.1, 3]).buffer)]);
    await writeFile(join(dir, "g4.bin"), gensim4);
    const wv = await loadWord2VecFormat(join(dir, "g4.bin"), { binary: true });
    expect(wv.words).toEqual(["the", "naïve"]);
    expect(Array.from(wv.vectors)).toEqual(Array.from(tiny.vectors));
    await writeFile(join(dir, "crlf.txt"), "2 2\r\nthe 0.5 -1.25 \r\nnaïve 0.1 3\r\n");
    expect(Array.from((await loadWord2VecFormat(join(dir, "crlf.txt"))).vectors)).toEqual(Array.from(tiny.vectors));
  });

  it("names the space after the content: two files of one name differ, text and binary of one table agree", async () => {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "a"), { recursive: true });
    await mkdir(join(dir, "b"), { recursive: true });
    const other = new WordVectors({ words: ["the", "naïve"], vectors: new Float32Array([0.5, -1.25, 0.1, 3.5]), space });
    await saveWord2VecFormat(tiny, join(dir, "a", "vectors.txt"));
    await saveWord2VecFormat(other, join(dir, "b", "vectors.txt"));
    await saveWord2VecFormat(tiny, join(dir, "a", "vectors.bin"), { binary: true });
    const a = await loadWord2VecFormat(join(dir, "a", "vectors.txt"));
    const b = await loadWord2VecFormat(join(dir, "b", "vectors.txt"));
    const aBin = await loadWord2VecFormat(join(dir, "a", "vectors.bin"), { binary: true });
    expect(a.space.id).not.toBe(b.space.id);
    expect(aBin.space.id.replace("vectors.bin", "vectors.txt")).toBe(a.space.id);
  });

  it("reads back the non-finite values it writes (inf, -inf, nan)", async () => {
    const odd = new WordVectors({ words: ["a", "b"], vectors: new Float32Array([Number.POSITIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, Number.NaN]), space });
    await saveWord2VecFormat(odd, join(dir, "odd.txt"));
    const back = await loadWord2VecFormat(join(dir, "odd.txt"));
    expect(Array.from(back.vectors)).toEqual([Number.POSITIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, Number.NaN]);
  });

  it("refuses malformed files, naming where", async () => {
    const cases: [string, string | Buffer, RegExp, boolean?][] = [
      ["no-header.txt", "the 0.5 -1.25\n", /line 1.*header/],
      ["short-row.txt", "2 2\nthe 0.5 -1.25\nnaïve 0.1\n", /line 3.*a word and 2 values, found 1/],
      ["nan.txt", "1 2\nthe 0.5 x\n", /line 2.*a number/],
      ["truncated.txt", "3 2\nthe 0.5 -1.25\n", /3 lines.*ends after 1/],
      ["truncated.bin", Buffer.concat([Buffer.from("2 2\nthe "), Buffer.from(new Float32Array([0.5]).buffer)]), /entry 1.*ends after 0/, true],
      ["latin1.txt", Buffer.from([0x31, 0x20, 0x31, 0x0a, 0xe9, 0x20, 0x31, 0x0a]), /line 2.*UTF-8/],
    ];
    for (const [name, content, re, binary] of cases) {
      await writeFile(join(dir, name), content);
      const e = await rejectionOf(loadWord2VecFormat(join(dir, name), { binary: binary ?? false }));
      expect(e.code, name).toBe("E_FORMAT");
      expect(e.message, name).toMatch(re);
      expect(e.message, name).toContain(name);
    }
    expect((await rejectionOf(loadWord2VecFormat(join(dir, "nope.txt")))).code).toBe("E_NOT_FOUND");
    expect((await rejectionOf(loadWord2VecFormat(join(dir, "crlf.txt"), { limit: -1 }))).code).toBe("E_PARAM");
    const spaced = new WordVectors({ words: ["new york"], vectors: new Float32Array(2), space });
    expect((await rejectionOf(saveWord2VecFormat(spaced, join(dir, "x.txt")))).code).toBe("E_PARAM");
  });

  it("the trained table is a word-vectors model artifact that loads back with its counts", () => {
    const art = trained.save();
    expect(art.kind).toBe("encoders-text/word-vectors");
    const back = WordVectors.load(art);
    expect(back.words).toEqual(trained.words);
    expect(back.counts).toEqual(trained.counts);
    expect(back.space).toEqual(trained.space);
    expect(trained.space.producer).toMatchObject({ name: "word2vec", params: { model: "cbow", vectorSize: 30, epochs: 1 } });
  });
});
