import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadGlove } from "../glove/glove.js";
import { evaluateAnalogies, evaluateWordPairs } from "./words.js";

// The public benchmark files (gensim's test data) shipped with the project's shared data.
const EVAL = process.env.LATENTFLOW_WORD_EVAL_DIR ?? new URL("../../../../tooling/eval-data/words/", import.meta.url).pathname;
const ANALOGIES = join(EVAL, "questions-words.txt");
const WORDSIM = join(EVAL, "wordsim353.tsv");
const SIMLEX = join(EVAL, "simlex999.txt");

const wv = await loadGlove();
const dir = await mkdtemp(join(tmpdir(), "latentflow-eval-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("word-vector evaluation reproduces gensim 4.2's figures for GloVe-100 (wink)", () => {
  // Reference: gensim KeyedVectors.evaluate_word_analogies / evaluate_word_pairs run independently on
  // the same vectors (tooling/eval-data/words/README.md): 65.67 % of 15,276; Spearman 0.5327 and 0.2975.
  it("analogies: 65.67 % of 15,276 questions (restrict 30,000, case-insensitive)", async () => {
    const seen: number[] = [];
    const r = await evaluateAnalogies(wv, ANALOGIES, { restrictVocab: 30000, onProgress: (done) => seen.push(done) });
    expect(r.questions).toBe(19544);
    expect(r.evaluated).toBe(15276);
    expect(r.skipped).toBe(19544 - 15276);
    expect(r.coverage).toBeCloseTo(15276 / 19544, 10);
    expect(Math.abs(r.accuracy * 100 - 65.67)).toBeLessThan(0.1);
    expect(r.sections).toHaveLength(14);
    expect(r.sections[0]!.section).toBe("capital-common-countries");
    expect(r.sections.reduce((s, x) => s + x.correct + x.incorrect, 0)).toBe(15276);
    expect(r.sections.reduce((s, x) => s + x.correct, 0)).toBe(r.correct);
    expect(seen.at(-1)).toBe(15276);
  });

  it("WordSim-353: Spearman 0.533, SimLex-999: Spearman 0.298", async () => {
    const ws = await evaluateWordPairs(wv, WORDSIM);
    expect(ws.pairs).toBe(353);
    expect(ws.oovRatio).toBe(0);
    expect(Math.abs(ws.spearman - 0.5327)).toBeLessThan(0.001);
    expect(Math.abs(ws.pearson - 0.5484)).toBeLessThan(0.001);
    const sl = await evaluateWordPairs(wv, SIMLEX);
    expect(sl.pairs).toBe(999);
    expect(Math.abs(sl.spearman - 0.2975)).toBeLessThan(0.001);
    expect(Math.abs(sl.pearson - 0.3253)).toBeLessThan(0.001);
  });
});

describe("evaluateAnalogies", () => {
  it("answers each question as WordVectors.analogy does (3CosAdd and 3CosMul), restricted vocabulary", async () => {
    // Every 100th question of the real file: the batch evaluator must agree with the one-question search.
    const lines = (await readFile(ANALOGIES, "utf8")).split("\n");
    const picked = [": sample", ...lines.filter((l) => !l.startsWith(":")).filter((_, i) => i % 100 === 0)];
    const file = join(dir, "sample.txt");
    await writeFile(file, picked.join("\n"));
    for (const method of ["3cosadd", "3cosmul"] as const) {
      const r = await evaluateAnalogies(wv, file, { method, restrictVocab: 30000 });
      let correct = 0;
      let evaluated = 0;
      for (const l of picked.slice(1)) {
        const [a, b, c, d] = l.toLowerCase().split(/\s+/);
        if (![a, b, c, d].every((w) => wv.indexOf(w!) >= 0 && wv.indexOf(w!) < 30000)) continue;
        evaluated++;
        if (wv.analogy(a!, b!, c!, { method, k: 1, restrict: 30000 })[0]!.word === d) correct++;
      }
      expect(r.evaluated).toBe(evaluated);
      expect(r.correct).toBe(correct);
      expect(r.method).toBe(method);
    }
  });

  it("skips out-of-vocabulary and malformed lines as gensim does; case-sensitive mode", async () => {
    const file = join(dir, "edge.txt");
    await writeFile(file, [": mixed", "Athens Greece Berlin Germany", "athens greece qwzxv germany", "too few words", "", "Athens Greece Baghdad Iraq", ": empty-section", "qwzxv a b c"].join("\n"));
    const r = await evaluateAnalogies(wv, file);
    expect(r.questions).toBe(4);
    expect(r.evaluated).toBe(2);
    expect(r.sections.map((s) => s.section)).toEqual(["mixed", "empty-section"]);
    expect(r.sections[1]!.accuracy).toBeNull();
    expect(r.correct).toBe(2);
    // GloVe is lower-case: case-sensitively the capitalised questions are out of vocabulary.
    const cs = await evaluateAnalogies(wv, file, { caseInsensitive: false });
    expect(cs.evaluated).toBe(0);
    // A restricted vocabulary too small for the words skips them.
    expect((await evaluateAnalogies(wv, file, { restrictVocab: 100 })).evaluated).toBe(0);
  });

  it("refuses a question before any section, and bad options", async () => {
    const file = join(dir, "nosection.txt");
    await writeFile(file, "athens greece berlin germany\n");
    await expect(evaluateAnalogies(wv, file)).rejects.toMatchObject({ code: "E_FORMAT", data: { where: `${file}:1` } });
    await expect(evaluateAnalogies(wv, ANALOGIES, { restrictVocab: 0 })).rejects.toMatchObject({ code: "E_PARAM" });
    await expect(evaluateAnalogies(wv, join(dir, "missing.txt"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("evaluateWordPairs", () => {
  it("Spearman uses average ranks for ties; OOV pairs are skipped and counted; comments and bad lines ignored", async () => {
    // Real pairs; human scores made coarse so they tie.
    const lines = (await readFile(WORDSIM, "utf8")).split("\n").filter((l) => l && !l.startsWith("#")).slice(0, 60);
    const rows = lines.map((l) => l.split("\t")).map(([a, b, s]) => [a!, b!, String(Math.round(Number(s) / 3))]);
    const file = join(dir, "pairs.tsv");
    await writeFile(file, ["# comment", ...rows.map((r) => r.join("\t")), "qwzxv\tcat\t5", "only\ttwo", "cat\tdog\tnot-a-number", "Tiger\tCAT\t7"].join("\r\n"));
    const r = await evaluateWordPairs(wv, file);
    expect(r.pairs).toBe(61);
    expect(r.oov).toBe(1);
    expect(r.oovRatio).toBeCloseTo((1 / 62) * 100, 10);
    // Independent check: O(n²) average ranks and Pearson on them.
    const gold = [...rows.map((x) => Number(x[2])), 7];
    const cosOf = (a: string, b: string) => {
      const [x, y] = [wv.get(a.toLowerCase())!, wv.get(b.toLowerCase())!];
      let xy = 0;
      let xx = 0;
      let yy = 0;
      for (let j = 0; j < 100; j++) {
        xy += x[j]! * y[j]!;
        xx += x[j]! * x[j]!;
        yy += y[j]! * y[j]!;
      }
      return Math.fround(xy / Math.sqrt(xx * yy));
    };
    const model = [...rows.map((x) => cosOf(x[0]!, x[1]!)), cosOf("tiger", "cat")];
    const rank = (v: number[]) => v.map((x) => v.filter((y) => y < x).length + (v.filter((y) => y === x).length + 1) / 2);
    const corr = (x: number[], y: number[]) => {
      const mx = x.reduce((s, t) => s + t, 0) / x.length;
      const my = y.reduce((s, t) => s + t, 0) / y.length;
      const sxy = x.reduce((s, t, i) => s + (t - mx) * (y[i]! - my), 0);
      return sxy / Math.sqrt(x.reduce((s, t) => s + (t - mx) ** 2, 0) * y.reduce((s, t) => s + (t - my) ** 2, 0));
    };
    expect(new Set(gold).size).toBeLessThan(gold.length / 4); // many ties
    expect(r.spearman).toBeCloseTo(corr(rank(gold), rank(model)), 12);
    expect(r.pearson).toBeCloseTo(corr(gold, model), 12);
  });

  it("refuses a file with no usable pair", async () => {
    const file = join(dir, "none.tsv");
    await writeFile(file, "# nothing\nqwzxv\tzzqx\t1\n");
    await expect(evaluateWordPairs(wv, file)).rejects.toMatchObject({ code: "E_NO_DATA" });
  });
});
