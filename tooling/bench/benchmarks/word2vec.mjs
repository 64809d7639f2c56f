// word2vec skip-gram on the reference corpus (State of the Union + Moby Dick + Brown, ≈3.0M tokens, one
// sentence per line) with gensim's settings for the comparison: negative 5, 100-d, window 5,
// min_count 5, sample 1e-3, alpha 0.025 → 0.0001, 5 epochs. Reports training speed at 1 and 2 threads
// (effective words/s: words left after subsampling, what gensim's log reports), then the analogy accuracy
// (questions-words.txt, restrict_vocab 30000) and WordSim-353 Spearman of the 2-thread model, with
// gensim's evaluators re-implemented in src/eval/words.ts.
//
// The peer, gensim 4.2 (C/Cython), cannot be installed here (PyPI is unreachable), so its figures are
// constants measured on this kind of machine (2 cores) with the same corpus and settings — not re-measured
// in this run.
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateAnalogies, evaluateWordPairs, textFileCorpus, trainWord2Vec } from "@latentflow/encoders-text";

const here = dirname(fileURLToPath(import.meta.url));
const EVAL = process.env.LATENTFLOW_WORD_EVAL_DIR ?? join(here, "../../eval-data/words");
const GENSIM = {
  name: "gensim 4.2 Word2Vec (C/Cython), workers=2",
  measured: false,
  note: "constants: gensim cannot be installed here (PyPI unreachable); figures measured on this kind of machine with the same corpus and settings",
  effectiveWordsPerSecond2Threads: 330_000,
  analogyAccuracy: 0.094,
  wordsim353Spearman: 0.41,
};
const SETTINGS = { model: "skipgram", vectorSize: 100, window: 5, minCount: 5, negative: 5, sample: 1e-3, alpha: 0.025, minAlpha: 0.0001, epochs: 5, seed: 1 };

export async function run({ log }) {
  const { referenceCorpusPath } = await import(new URL("../../../packages/encoders-text/dist/word2vec/corpus-reference.js", import.meta.url).href);
  for (const f of ["questions-words.txt", "wordsim353.tsv"]) if (!existsSync(`${EVAL}/${f}`)) throw new Error(`${EVAL}/${f} not found: set LATENTFLOW_WORD_EVAL_DIR`);
  const path = await referenceCorpusPath();
  const corpus = textFileCorpus(path);

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
    targets: [
      {
        description: `≥ 0.7 × gensim's ${GENSIM.effectiveWordsPerSecond2Threads} effective words/s = ${speedTarget} on 2 threads (skip-gram, negative 5, 100-d)`,
        value: `${two.r.effectiveWordsPerSecond} words/s (load average ${two.r.loadAverageAtStart} at start)`,
        met: two.r.effectiveWordsPerSecond >= speedTarget,
      },
      {
        description: `analogy accuracy within 2 points of gensim's ${GENSIM.analogyAccuracy * 100} % (restrict_vocab 30000)`,
        value: `${(analogies.accuracy * 100).toFixed(2)} %`,
        met: dAnalogy <= 2,
      },
      {
        description: `WordSim-353 Spearman within 0.02 of gensim's ${GENSIM.wordsim353Spearman}`,
        value: wordsim.spearman.toFixed(3),
        met: dSpearman <= 2,
      },
    ],
  };
}
