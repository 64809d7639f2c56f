import { readFile } from "node:fs/promises";
import { LatentflowError, defineStep, inputFile, sha256, throwIfCancelled } from "@latentflow/core";
import { z } from "zod";
import { WordVectors } from "../word-vectors/word-vectors.js";
import { evaluateAnalogies, evaluateWordPairs, type AnalogyReport, type WordPairsReport } from "./words.js";

const params = z.strictObject({
  analogies: inputFile(z.string().min(1)).optional().describe("word-analogy file in Google's questions-words format"),
  wordsim: inputFile(z.string().min(1)).optional().describe("WordSim-353 (word1<TAB>word2<TAB>score, # comments)"),
  simlex: inputFile(z.string().min(1)).optional().describe("SimLex-999, same format"),
  pairs: z.record(z.string(), z.string().min(1)).default({}).describe("more word-pair files by name (MEN, RW, …), same format"),
  restrictVocab: z.number().int().positive().default(30000).describe("analogies: only the N most frequent words (gensim's restrict_vocab)"),
  pairsRestrictVocab: z.number().int().positive().default(300000).describe("word pairs: only the N most frequent words count as known"),
  caseInsensitive: z.boolean().default(true),
  method: z.enum(["3cosadd", "3cosmul"]).default("3cosadd").describe("analogy method"),
});
type Params = z.output<typeof params>;

type Kind = "analogies" | "wordsim" | "simlex" | "pairs";
function files(p: Params): Array<{ kind: Kind; name: string; path: string }> {
  const out: Array<{ kind: Kind; name: string; path: string }> = [];
  for (const kind of ["analogies", "wordsim", "simlex"] as const) {
    const path = p[kind];
    if (path) out.push({ kind, name: kind, path });
  }
  for (const [name, path] of Object.entries(p.pairs)) out.push({ kind: "pairs", name, path });
  return out;
}

/** `encoders-text/evaluate`: gensim-compatible analogy accuracy and word-similarity correlations of a word-vector model. */
export const evaluateStep = defineStep({
  name: "evaluate",
  description:
    "Evaluate word vectors (a model of kind encoders-text/word-vectors: GloVe, word2vec) as gensim does: analogy accuracy (3CosAdd, restricted vocabulary) and Pearson/Spearman correlation with human similarity scores.",
  inputs: { model: { type: "model", description: "word vectors (kind encoders-text/word-vectors)" } },
  outputs: { report: { type: "json", description: "{ model, analogies?, wordsim?, simlex?, pairs? } with the figures of each file" } },
  params,
  resources: { cpuBound: true },
  // The evaluation files are read by the step: their content is part of the cache key.
  async fingerprint(p, env) {
    const parts = await Promise.all(files(p).map(async ({ name, path }) => `${name}:${sha256(await readFile(env.resolvePath(path)))}`));
    return sha256(parts.join("\n"));
  },
  async run(ctx, { model }, p) {
    const list = files(p);
    if (list.length === 0) {
      throw new LatentflowError("E_PARAM", "encoders-text/evaluate: expected at least one evaluation file (analogies, wordsim, simlex or pairs), found none", {
        hint: "e.g. with: { analogies: eval/questions-words.txt, wordsim: eval/wordsim353.tsv }",
        data: { expected: "analogies, wordsim, simlex or pairs", found: "none", where: "encoders-text/evaluate params" },
      });
    }
    const wv = WordVectors.load(model);
    const report: {
      model: { space: string; producer: string; words: number; dim: number };
      analogies?: AnalogyReport;
      wordsim?: WordPairsReport;
      simlex?: WordPairsReport;
      pairs?: Record<string, WordPairsReport>;
    } = { model: { space: wv.space.id, producer: `${wv.space.producer.name}@${wv.space.producer.version}`, words: wv.size, dim: wv.dim } };
    const pairsOpts = { restrictVocab: p.pairsRestrictVocab, caseInsensitive: p.caseInsensitive };
    let done = 0;
    for (const { kind, name, path } of list) {
      throwIfCancelled(ctx.signal, "encoders-text/evaluate");
      ctx.progress(done, list.length, name);
      const file = ctx.resolvePath(path);
      if (kind === "analogies") {
        report.analogies = await evaluateAnalogies(wv, file, { restrictVocab: p.restrictVocab, caseInsensitive: p.caseInsensitive, method: p.method, signal: ctx.signal });
        ctx.log.info("analogies", { accuracy: report.analogies.accuracy, evaluated: report.analogies.evaluated, questions: report.analogies.questions });
      } else {
        const r = await evaluateWordPairs(wv, file, pairsOpts);
        if (kind === "wordsim") report.wordsim = r;
        else if (kind === "simlex") report.simlex = r;
        else (report.pairs ??= {})[name] = r;
        ctx.log.info(name, { spearman: r.spearman, pearson: r.pearson, oovRatio: r.oovRatio });
      }
      done++;
    }
    ctx.progress(list.length, list.length);
    return { report };
  },
});
