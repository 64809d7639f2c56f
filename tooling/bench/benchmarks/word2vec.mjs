// word2vec skip-gram on the reference corpus (State of the Union + Moby Dick + Brown, ≈3.0M tokens, one
// sentence per line) with gensim's settings for the comparison: negative 5, 100-d, window 5,
// min_count 5, sample 1e-3, alpha 0.025 → 0.0001, 5 epochs. Reports training speed at 1 and 2 threads
// (effective words/s: words left after subsampling, what gensim's log reports; raw words/s beside it),
// then the analogy accuracy (questions-words.txt, restrict_vocab 30000) and WordSim-353 Spearman of the
// 2-thread model, with gensim's evaluators re-implemented in src/eval/words.ts.
//
// The peer, gensim 4.2 (C/Cython, Debian's python3-gensim), runs in the same run on the same tokenised
// file (peers/gensim_word2vec.py) when /usr/bin/python3 can import it; otherwise the result falls back to
// reference constants measured on this kind of machine and says so.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultTokenize, evaluateAnalogies, evaluateWordPairs, textFileCorpus, trainWord2Vec } from "@latentflow/encoders-text";

const here = dirname(fileURLToPath(import.meta.url));
const EVAL = process.env.LATENTFLOW_WORD_EVAL_DIR ?? join(here, "../../eval-data/words");
const PYTHON = process.env.GENSIM_PYTHON ?? "/usr/bin/python3";
const GENSIM_CONSTANTS = {
  name: "gensim 4.2 Word2Vec (C/Cython), workers=2",
  measured: false,
  note: "constants (gensim not importable by /usr/bin/python3: apt-get install python3-gensim); figures measured on this kind of machine with the same corpus and settings",
  effectiveWordsPerSecond2Threads: 330_000,
  analogyAccuracy: 0.094,
  wordsim353Spearman: 0.41,
};
const SETTINGS = { model: "skipgram", vectorSize: 100, window: 5, minCount: 5, negative: 5, sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: 1 };

export async function run({ log }) {
  const { referenceCorpusPath } = await import(new URL("../../../packages/encoders-text/dist/word2vec/corpus-reference.js", import.meta.url).href);
  for (const f of ["questions-words.txt", "wordsim353.tsv"]) if (!existsSync(`${EVAL}/${f}`)) throw new Error(`${EVAL}/${f} not found: set LATENTFLOW_WORD_EVAL_DIR`);
  const raw = await referenceCorpusPath();
  // Both trainers read the same tokens: the default tokeniser's output, space-joined, one sentence per line.
  const path = raw.replace(/\.txt$/, ".tokens.txt");
  if (!existsSync(path)) {
    const { readFile } = await import("node:fs/promises");
    const lines = (await readFile(raw, "utf8")).split("\n").map((l) => defaultTokenize(l).join(" ")).filter((l) => l !== "");
    await writeFile(path, `${lines.join("\n")}\n`);
  }
  const corpus = textFileCorpus(path);
  const gensim = async (threads, epochs, evaluate) => {
    const { stdout } = await promisify(execFile)(PYTHON, [join(here, "../peers/gensim_word2vec.py"), path, `${EVAL}/questions-words.txt`, `${EVAL}/wordsim353.tsv`, String(threads), String(epochs), ...(evaluate ? ["evaluate"] : [])], { maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout.trim().split("\n").at(-1));
    log(`gensim ${threads} thread(s), ${epochs} epoch(s): ${r.trainSeconds} s, ${r.effectiveWordsPerSecond} effective words/s (${r.rawWordsPerSecond} raw)`);
    return r;
  };
  let peer = null;
  try {
    await promisify(execFile)(PYTHON, ["-c", "import gensim"]);
    peer = { name: "gensim 4.2 Word2Vec (C/Cython), same run", measured: true, oneThread: await gensim(1, 1, false), twoThreads: await gensim(2, SETTINGS.epochs, true) };
  } catch (e) {
    log(`gensim not available (${String(e.message ?? e).split("\n")[0]}): using reference constants`);
  }
  const GENSIM = peer
    ? { ...peer, effectiveWordsPerSecond2Threads: peer.twoThreads.effectiveWordsPerSecond, analogyAccuracy: peer.twoThreads.analogyAccuracy, wordsim353Spearman: peer.twoThreads.wordsim353Spearman }
    : GENSIM_CONSTANTS;

  const train = async (threads, epochs) => {
    const load = loadavg()[0];
    const cpu0 = process.cpuUsage();
    const { wordVectors, stats } = await trainWord2Vec(corpus, { ...SETTINGS, epochs, threads });
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const r = {
      threads,
      epochs,
      trainSeconds: +stats.trainSeconds.toFixed(2),
      effectiveWords: stats.effectiveWords,
      effectiveWordsPerSecond: Math.round(stats.effectiveWords / stats.trainSeconds),
      rawWordsPerSecond: Math.round((stats.corpusWords * epochs) / stats.trainSeconds),
      effectiveWordsPerCpuSecond: Math.round(stats.effectiveWords / cpuSeconds),
      loadAverageAtStart: +load.toFixed(2),
    };
    log(`${threads} thread(s), ${epochs} epoch(s): ${r.trainSeconds} s, ${r.effectiveWordsPerSecond} effective words/s (${r.rawWordsPerSecond} raw), load ${r.loadAverageAtStart}`);
    return { wordVectors, stats, r };
  };

  // One thread: one epoch is enough for a speed figure (speed does not depend on the epoch).
  const one = await train(1, 1);
  const two = await train(2, SETTINGS.epochs);
  const wv = two.wordVectors;
  log(`corpus: ${two.stats.rawWords} tokens, ${two.stats.sentences} sentences, vocabulary ${wv.size} (${two.stats.corpusWords} in-vocabulary tokens)`);

  const analogies = await evaluateAnalogies(wv, `${EVAL}/questions-words.txt`, { restrictVocab: 30000 });
  const wordsim = await evaluateWordPairs(wv, `${EVAL}/wordsim353.tsv`);
  log(`analogies: ${(analogies.accuracy * 100).toFixed(2)} % of ${analogies.evaluated} questions (${analogies.questions} in the file); WordSim-353 Spearman ${wordsim.spearman.toFixed(3)} on ${wordsim.pairs} pairs`);

  const speedTarget = Math.round(0.7 * GENSIM.effectiveWordsPerSecond2Threads);
  const dAnalogy = Math.abs(analogies.accuracy - GENSIM.analogyAccuracy) * 100;
  const dSpearman = Math.abs(wordsim.spearman - GENSIM.wordsim353Spearman) * 100;
  return {
    data: `reference corpus (SOTU + Moby Dick + Brown): ${two.stats.rawWords} tokens, ${two.stats.sentences} sentences`,
    settings: SETTINGS,
    ours: {
      oneThread: one.r,
      twoThreads: two.r,
      vocabulary: wv.size,
      analogies: { accuracy: analogies.accuracy, evaluated: analogies.evaluated, questions: analogies.questions, sections: analogies.sections },
      wordsim353: { spearman: wordsim.spearman, pearson: wordsim.pearson, pairs: wordsim.pairs, oov: wordsim.oov },
    },
    peer: GENSIM,
    ratioToGensim2Threads: GENSIM.twoThreads ? +(two.r.effectiveWordsPerSecond / GENSIM.twoThreads.effectiveWordsPerSecond).toFixed(3) : null,
    ratioToGensim1Thread: GENSIM.oneThread ? +(one.r.effectiveWordsPerSecond / GENSIM.oneThread.effectiveWordsPerSecond).toFixed(3) : null,
    targets: [
      {
        description: `≥ 0.7 × gensim's ${GENSIM.effectiveWordsPerSecond2Threads} effective words/s = ${speedTarget} on 2 threads (skip-gram, negative 5, 100-d)`,
        value: `${two.r.effectiveWordsPerSecond} words/s (load average ${two.r.loadAverageAtStart} at start)`,
        met: two.r.effectiveWordsPerSecond >= speedTarget,
      },
      {
        description: `analogy accuracy within 2 points of gensim's ${(GENSIM.analogyAccuracy * 100).toFixed(2)} % (restrict_vocab 30000)`,
        value: `${(analogies.accuracy * 100).toFixed(2)} %`,
        met: dAnalogy <= 2,
      },
      {
        description: `WordSim-353 Spearman within 0.02 of gensim's ${GENSIM.wordsim353Spearman.toFixed(3)}`,
        value: wordsim.spearman.toFixed(3),
        met: dSpearman <= 2,
      },
    ],
  };
}
