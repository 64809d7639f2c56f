import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WordVectors } from "../word-vectors/word-vectors.js";
import { brownSentences, mobyDickSentences } from "./corpus-reference.js";
import { jsonlCorpus, textFileCorpus, textsCorpus } from "./corpus.js";
import { defaultTokenize } from "./tokenize.js";
import { fillAliasTable, trainWord2Vec, type Word2VecOptions } from "./word2vec.js";
import { rejectionOf } from "@latentflow/core/testing";


/** Mean share of a group's words among each member's 10 nearest neighbours (within the `restrict` most frequent words). */
function groupPrecision(wv: WordVectors, group: string[], restrict: number): number {
  let hit = 0;
  let n = 0;
  for (const w of group) {
    if (!wv.has(w)) continue;
    hit += wv.mostSimilar(w, 10, { restrict }).filter((x) => group.includes(x.word)).length;
    n += 10;
  }
  return hit / n;
}

const NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "hundred", "thousand"];

let dir: string;
const moby = [...mobyDickSentences()];
// A small real corpus for the quick checks: the first 3000 sentences of the Brown corpus.
const brownHead = [...brownSentences()].slice(0, 3000);
const quick: Word2VecOptions = { vectorSize: 24, epochs: 2, minCount: 3, threads: 1, seed: 3 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latentflow-word2vec-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("default tokeniser", () => {
  it("folds case and accents, keeps inner apostrophes, splits on everything else", () => {
    expect(defaultTokenize("Café CRÈME—don't stop, rock'n'roll 42nd 'quoted' naïve")).toEqual([
      "cafe", "creme", "don't", "stop", "rock'n'roll", "nd", "quoted", "naive",
    ]);
    expect(defaultTokenize("  1999 ... !!")).toEqual([]);
  });
});

describe("negative-sampling alias table", () => {
  it("gives every word exactly the probability count^0.75 / Σ count^0.75", () => {
    const counts = [900, 400, 120, 50, 50, 9, 5, 5, 5, 1];
    const t = new Uint32Array(2 * counts.length);
    fillAliasTable(t, counts, 0.75);
    const implied = new Float64Array(counts.length);
    for (let b = 0; b < counts.length; b++) {
      const keep = t[2 * b]! / 2 ** 32;
      implied[b]! += keep / counts.length;
      implied[t[2 * b + 1]!]! += (1 - keep) / counts.length;
    }
    const z = counts.reduce((s, c) => s + c ** 0.75, 0);
    for (let i = 0; i < counts.length; i++) expect(implied[i]).toBeCloseTo(counts[i]! ** 0.75 / z, 8);
  });
});

describe("trainWord2Vec", () => {
  let sg: WordVectors;
  beforeAll(async () => {
    sg = (await trainWord2Vec(textsCorpus(moby, "moby dick"), { model: "skipgram", vectorSize: 50, epochs: 5, seed: 7, threads: 1 })).wordVectors;
  });

  it("skip-gram on Moby Dick puts number words near each other, far above chance", () => {
    expect(sg.words[0]).toBe("the");
    expect(sg.counts![0]).toBeGreaterThan(sg.counts![100]!);
    const chance = (NUMBERS.length - 1) / 3000;
    expect(groupPrecision(sg, NUMBERS, 3000)).toBeGreaterThan(50 * chance);
    expect(sg.mostSimilar("whale", 5).map((n) => n.word)).toContain("sperm");
    expect(sg.mostSimilar("captain", 10).map((n) => n.word)).toEqual(expect.arrayContaining(["ahab"]));
  });

  it("CBOW on Moby Dick learns too, on two threads", async () => {
    const { wordVectors: cb, stats } = await trainWord2Vec(textsCorpus(moby), { model: "cbow", vectorSize: 50, epochs: 5, seed: 7, threads: 2 });
    expect(stats.threads).toBe(2);
    expect(cb.words).toEqual(sg.words); // the vocabulary does not depend on the model
    expect(groupPrecision(cb, NUMBERS, 3000)).toBeGreaterThan((10 * (NUMBERS.length - 1)) / 3000);
  });

  it("is bit-for-bit reproducible with one thread and a seed, and another seed gives other vectors", async () => {
    const a = await trainWord2Vec(textsCorpus(brownHead), quick);
    const b = await trainWord2Vec(textsCorpus(brownHead), quick);
    const c = await trainWord2Vec(textsCorpus(brownHead), { ...quick, seed: 4 });
    expect(a.wordVectors.words).toEqual(b.wordVectors.words);
    expect(Buffer.from(a.wordVectors.vectors.buffer).equals(Buffer.from(b.wordVectors.vectors.buffer))).toBe(true);
    expect(a.stats.effectiveWords).toBe(b.stats.effectiveWords);
    expect(Buffer.from(a.wordVectors.vectors.buffer).equals(Buffer.from(c.wordVectors.vectors.buffer))).toBe(false);
    expect(a.wordVectors.space.id).toBe(b.wordVectors.space.id);
    expect(a.wordVectors.space.id).not.toBe(c.wordVectors.space.id);
    // Trainings on several threads are not reproducible, so each gets a space of its own.
    const [p, q] = [await trainWord2Vec(textsCorpus(brownHead), { ...quick, threads: 2 }), await trainWord2Vec(textsCorpus(brownHead), { ...quick, threads: 2 })];
    expect(p.wordVectors.space.id).not.toBe(q.wordVectors.space.id);
  });

  it("applies minCount, subsampling and the counts of the corpus", async () => {
    const { wordVectors: wv, stats } = await trainWord2Vec(textsCorpus(brownHead), quick);
    const counts = new Map<string, number>();
    let tokens = 0;
    for (const s of brownHead) {
      for (const t of defaultTokenize(s)) {
        counts.set(t, (counts.get(t) ?? 0) + 1);
        tokens++;
      }
    }
    const kept = [...counts].filter(([, c]) => c >= 3);
    expect(wv.size).toBe(kept.length);
    expect(stats.rawWords).toBe(tokens);
    for (const [w, c] of kept.slice(0, 50)) expect(wv.counts![wv.indexOf(w)]).toBe(c);
    expect(wv.has("the")).toBe(true);
    // Subsampling drops a share of the frequent words; sample 0 trains on all of them.
    expect(stats.effectiveWords).toBeLessThan(stats.corpusWords * quick.epochs! * 0.9);
    const all = await trainWord2Vec(textsCorpus(brownHead), { ...quick, sample: 0 });
    expect(all.stats.effectiveWords).toBe(all.stats.corpusWords * quick.epochs!);
    expect(wv.vectors.every((v) => Number.isFinite(v))).toBe(true);
  });

  it("streams a file in reads much smaller than a line, re-read every epoch, with the same result as the texts in memory", async () => {
    const path = join(dir, "brown-head.txt");
    await writeFile(path, `${brownHead.join("\r\n")}\r\n`);
    const lines: string[] = [];
    for await (const s of textFileCorpus(path, { bufferSize: 64 }).sentences()) lines.push(s);
    expect(lines).toEqual(brownHead);
    let passes = 0;
    const file = textFileCorpus(path, { bufferSize: 64 });
    const counted = {
      where: file.where,
      sentences: (signal?: AbortSignal) => {
        passes++;
        return file.sentences(signal);
      },
    };
    const fromFile = await trainWord2Vec(counted, { ...quick, cacheMb: 0 });
    expect(passes).toBe(1 + quick.epochs!); // vocabulary, then every epoch
    const fromMemory = await trainWord2Vec(textsCorpus(brownHead), quick);
    expect(Buffer.from(fromFile.wordVectors.vectors.buffer).equals(Buffer.from(fromMemory.wordVectors.vectors.buffer))).toBe(true);
  });

  it("reads JSONL corpora by field, and names the line of a bad record", async () => {
    const path = join(dir, "brown.jsonl");
    await writeFile(path, `${brownHead.map((text, i) => JSON.stringify({ id: i, text })).join("\n")}\n\n`);
    const seen: string[] = [];
    for await (const s of jsonlCorpus(path, "text", { bufferSize: 100 }).sentences()) seen.push(s);
    expect(seen).toEqual(brownHead);
    await writeFile(path, `${JSON.stringify({ text: "fine" })}\n${JSON.stringify({ body: "no text" })}\n`);
    const e = await rejectionOf(trainWord2Vec(jsonlCorpus(path, "text"), quick));
    expect(e.code).toBe("E_CORPUS");
    expect(e.message).toContain(`${path}:2`);
    await writeFile(path, "{ not json\n");
    expect((await rejectionOf(trainWord2Vec(jsonlCorpus(path, "text"), quick))).message).toMatch(/:1: expected a JSON object/);
  });

  it("refuses bad input with clear errors", async () => {
    expect((await rejectionOf(trainWord2Vec(textFileCorpus(join(dir, "missing.txt")), quick))).code).toBe("E_CORPUS");
    const empty = await rejectionOf(trainWord2Vec(textsCorpus(["... 123 !!", ""]), quick));
    expect(empty.code).toBe("E_EMPTY_VOCAB");
    expect(empty.message).toMatch(/0 tokens/);
    expect((await rejectionOf(trainWord2Vec(textsCorpus(["a rare word"]), { minCount: 2 }))).code).toBe("E_EMPTY_VOCAB");
    for (const bad of [{ vectorSize: 0 }, { window: 1.5 }, { sample: 1 }, { model: "glove" as "cbow" }, { minAlpha: 1 }, { threads: 0 }]) {
      const e = await rejectionOf(trainWord2Vec(textsCorpus(brownHead), { ...quick, ...bad }));
      expect(e.code).toBe("E_PARAM");
      expect(e.message).toContain(Object.keys(bad)[0]);
    }
    expect((await rejectionOf(trainWord2Vec(textsCorpus([1 as unknown as string]), quick))).code).toBe("E_CORPUS");
  });

  it("splits sentences longer than 10,000 words (and chunks) without losing a word", async () => {
    const oneLine = moby.slice(0, 3000).join(" "); // ≈ 60k tokens on one line
    const tokens = defaultTokenize(oneLine).length;
    expect(tokens).toBeGreaterThan(30_000);
    const { wordVectors, stats } = await trainWord2Vec(textsCorpus([oneLine]), { ...quick, sample: 0, epochs: 1 });
    expect(stats.sentences).toBe(1);
    expect(stats.effectiveWords).toBe(stats.corpusWords);
    expect(wordVectors.vectors.every((v) => Number.isFinite(v))).toBe(true);
  });

  it("stops with E_CANCELLED when aborted mid-training", async () => {
    const ac = new AbortController();
    const p = trainWord2Vec(textsCorpus(moby), { ...quick, epochs: 50 }, { signal: ac.signal, onProgress: (done) => done > 0 && ac.abort() });
    expect((await rejectionOf(p)).code).toBe("E_CANCELLED");
  });

  it("prunes the rarest words while counting when maxVocabSize is set", async () => {
    const full = await trainWord2Vec(textsCorpus(brownHead), { ...quick, minCount: 1, epochs: 1 });
    const capped = await trainWord2Vec(textsCorpus(brownHead), { ...quick, minCount: 1, epochs: 1, maxVocabSize: 2000 });
    expect(capped.wordVectors.size).toBeLessThan(full.wordVectors.size);
    expect(capped.wordVectors.words.slice(0, 20)).toEqual(full.wordVectors.words.slice(0, 20));
  });
});

describe("reference corpus", () => {
  it("has ≈3.0M tokens from SOTU, Moby Dick and Brown", async () => {
    const { referenceCorpusPath } = await import("./corpus-reference.js");
    const text = await readFile(await referenceCorpusPath(dir), "utf8");
    let tokens = 0;
    for (const line of text.split("\n")) tokens += defaultTokenize(line).length;
    expect(tokens).toBeGreaterThan(2.9e6);
    expect(tokens).toBeLessThan(3.1e6);
  });
});
