// nsfwjs MobileNetV2 features (layer flatten_1, 1280-d) on real images, and what they are worth.
//
// Speed: the Google emoji PNGs of emoji-datasource-google (64 × 64, alpha). Ours: MobileNetV2Features
// with its default backend (onnxruntime-node running the same weights as an ONNX graph), batches of 32.
// Peer in the same run, same pixels: the plain loop a user writes first — nsfwjs's own model on tfjs-wasm
// (Node's default there: 1 thread), `model.infer(tensor, "flatten_1")` one image at a time (its infer does
// its own ÷255 and resize). Rounds of ours and the peer are interleaved; medians are compared. Decoding
// (sharp) is the same for both and reported on its own, as is our preprocessing.
//
// Quality: Fashion-MNIST (Debian dataset-fashion-mnist), a subset of train → test, kNN accuracy
// (k = 1 and 10, majority vote, ties to the nearest) and a linear probe (softmax regression on standardised
// inputs, Adam, seeded) on raw pixels (L2), on MobileNetV2 features (cosine), and on those features after
// the metric head (64-d, triplet loss, trained on the train subset only).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { decodeImage, MetricHead, MobileNetV2Features } from "@latentflow/encoders-image";
import { exactKnn } from "@latentflow/core/kernels";
import { parseIdx } from "@latentflow/core/io";

const N_IMAGES = Number(process.env.IMAGE_BENCH_IMAGES ?? 192);
const ROUNDS = Number(process.env.IMAGE_BENCH_ROUNDS ?? 3);
const BATCH = 32;
const TARGET_SPEEDUP = 4;
const FM_DIR = "/usr/share/datasets/fashion-mnist";
const FM_TRAIN = Number(process.env.IMAGE_BENCH_FM_TRAIN ?? 10_000);
const FM_TEST = Number(process.env.IMAGE_BENCH_FM_TEST ?? 2_000);

// nsfwjs, tfjs and the emoji package are dependencies of @latentflow/encoders-image: resolve them from there.
const encReq = createRequire(createRequire(import.meta.url).resolve("@latentflow/encoders-image/package.json"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function emojiFiles(n) {
  const dir = join(dirname(encReq.resolve("emoji-datasource-google/package.json")), "img", "google", "64");
  return readdirSync(dir).filter((f) => f.endsWith(".png")).sort().slice(0, n).map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

async function nsfwjsPeer() {
  const { load } = await import(encReq.resolve("nsfwjs/core"));
  const { MobileNetV2Model } = await import(encReq.resolve("nsfwjs/models/mobilenet_v2"));
  const tf = await import(encReq.resolve("@tensorflow/tfjs"));
  await tf.setBackend("wasm");
  await tf.ready();
  const info = console.info;
  console.info = () => {};
  const model = await load("MobileNetV2", { modelDefinitions: [MobileNetV2Model] });
  console.info = info;
  return {
    async embedAll(rgbs) {
      const out = new Float32Array(rgbs.length * 1280);
      for (let i = 0; i < rgbs.length; i++) {
        const r = rgbs[i];
        const t = tf.tensor3d(r.data, [r.height, r.width, 3], "int32");
        const y = model.infer(t, "flatten_1");
        out.set(await y.data(), i * 1280);
        tf.dispose([t, y]);
      }
      return out;
    },
  };
}

function compare(a, b, dim) {
  let maxAbs = 0;
  let minCos = 1;
  for (let i = 0; i < a.length / dim; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let k = i * dim; k < (i + 1) * dim; k++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[k] - b[k]));
      ab += a[k] * b[k];
      aa += a[k] * a[k];
      bb += b[k] * b[k];
    }
    minCos = Math.min(minCos, ab / Math.sqrt(aa * bb));
  }
  return { maxAbs, minCos };
}

async function speed(log) {
  const files = emojiFiles(N_IMAGES);
  let t0 = performance.now();
  const rgbs = [];
  for (const f of files) rgbs.push(await decodeImage(f));
  const decodeMs = (performance.now() - t0) / files.length;
  const ours = await MobileNetV2Features.load();
  const peer = await nsfwjsPeer();
  t0 = performance.now();
  const prepared = rgbs.map((r) => ours.preprocess(r));
  const preprocessMs = (performance.now() - t0) / files.length;
  log(`${files.length} emoji PNGs: decode (sharp, RGBA → RGB on white) ${decodeMs.toFixed(2)} ms/image, our preprocessing (÷255, bilinear resize to 224) ${preprocessMs.toFixed(2)} ms/image`);
  // Warm both once on a few images.
  await ours.embed(prepared.slice(0, BATCH));
  await peer.embedAll(rgbs.slice(0, 2));
  const oursS = [];
  const oursEndToEndS = [];
  const peerS = [];
  let oursOut;
  let peerOut;
  for (let r = 0; r < ROUNDS; r++) {
    t0 = performance.now();
    const parts = [];
    for (let i = 0; i < rgbs.length; i += BATCH) parts.push(await ours.embed(rgbs.slice(i, i + BATCH).map((x) => ours.preprocess(x))));
    oursS.push((performance.now() - t0) / 1000);
    oursOut = new Float32Array(rgbs.length * 1280);
    parts.forEach((p, i) => oursOut.set(p, i * BATCH * 1280));
    t0 = performance.now();
    peerOut = await peer.embedAll(rgbs);
    peerS.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    await ours.encode(files.map((bytes) => ({ kind: "media", mediaType: "image/png", bytes })), { batchSize: BATCH });
    oursEndToEndS.push((performance.now() - t0) / 1000);
    log(`round ${r + 1}: ours ${(rgbs.length / oursS.at(-1)).toFixed(1)} images/s (files → vectors ${(rgbs.length / oursEndToEndS.at(-1)).toFixed(1)}), plain nsfwjs loop ${(rgbs.length / peerS.at(-1)).toFixed(1)} images/s`);
  }
  const same = compare(oursOut, peerOut, 1280);
  await ours.dispose();
  const oursIps = rgbs.length / median(oursS);
  const peerIps = rgbs.length / median(peerS);
  return {
    images: `${rgbs.length} Google emoji PNGs (64 × 64, emoji-datasource-google 16.0.0)`,
    decodeMsPerImage: decodeMs,
    preprocessMsPerImage: preprocessMs,
    ours: { backend: ours.backendName, threads: availableParallelism(), batchSize: BATCH, secondsPerRound: oursS, imagesPerSecond: oursIps, filesToVectorsImagesPerSecond: rgbs.length / median(oursEndToEndS), note: "preprocess + model on decoded pixels; filesToVectors adds sharp decoding" },
    peer: { name: "plain loop: nsfwjs 4.4.0 model.infer(tensor3d, 'flatten_1') one image at a time, tfjs-wasm 4.22 (1 thread)", secondsPerRound: peerS, imagesPerSecond: peerIps },
    speedup: oursIps / peerIps,
    sameOutputs: same,
  };
}

function readFm(kind, n) {
  const images = parseIdx(readFileSync(join(FM_DIR, `${kind}-images-idx3-ubyte.gz`)));
  const labels = parseIdx(readFileSync(join(FM_DIR, `${kind}-labels-idx1-ubyte.gz`)));
  const count = Math.min(n, images.shape[0]);
  return { data: images.data.subarray(0, count * 784), labels: Array.from(labels.data.subarray(0, count), Number), count };
}

async function knnAccuracy(base, baseLabels, queries, queryLabels, dim, metric) {
  const res = await exactKnn(base, queries, dim, 10, { metric });
  const acc = {};
  for (const k of [1, 10]) {
    let right = 0;
    for (let q = 0; q < queryLabels.length; q++) {
      const votes = new Map();
      let best = -1;
      let bestVotes = 0;
      for (let j = 0; j < k; j++) {
        const l = baseLabels[res.indices[q * res.k + j]];
        const v = (votes.get(l) ?? 0) + 1;
        votes.set(l, v);
        // Ties go to the label that reached the count first: the nearer neighbours'.
        if (v > bestVotes) {
          bestVotes = v;
          best = l;
        }
      }
      if (best === queryLabels[q]) right++;
    }
    acc[`k${k}`] = right / queryLabels.length;
  }
  return acc;
}

/** Softmax regression on standardised inputs (train statistics), mini-batch Adam, seeded; accuracy on the test set. */
function linearProbe(train, trainLabels, test, testLabels, dim, { epochs = 30, batch = 256, lr = 0.003, l2 = 1e-4 } = {}) {
  const n = trainLabels.length;
  const classes = 1 + Math.max(...trainLabels);
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += train[i * dim + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sq[j] += (train[i * dim + j] - mean[j]) ** 2 / n;
  const inv = Float64Array.from(sq, (v) => 1 / Math.sqrt(v + 1e-6));
  const std = (a, m) => Float64Array.from(a, (v, k) => (v - mean[k % dim]) * inv[k % dim]);
  const x = std(train, n);
  const w = new Float64Array(classes * (dim + 1));
  const m1 = new Float64Array(w.length);
  const m2 = new Float64Array(w.length);
  const g = new Float64Array(w.length);
  const p = new Float64Array(classes);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const order = Array.from({ length: n }, (_, i) => i);
  let t = 0;
  const logits = (row, xs, at) => {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let v = w[c * (dim + 1) + dim];
      for (let j = 0; j < dim; j++) v += w[c * (dim + 1) + j] * xs[at + j];
      p[c] = v;
      if (v > max) max = v;
    }
    let s = 0;
    for (let c = 0; c < classes; c++) s += (p[c] = Math.exp(p[c] - max));
    for (let c = 0; c < classes; c++) p[c] /= s;
  };
  for (let e = 0; e < epochs; e++) {
    for (let i = n - 1; i > 0; i--) {
      const k = Math.floor(rand() * (i + 1));
      [order[i], order[k]] = [order[k], order[i]];
    }
    for (let b = 0; b < n; b += batch) {
      g.fill(0);
      const end = Math.min(n, b + batch);
      for (let q = b; q < end; q++) {
        const i = order[q];
        logits(i, x, i * dim);
        for (let c = 0; c < classes; c++) {
          const d = p[c] - (trainLabels[i] === c ? 1 : 0);
          const base = c * (dim + 1);
          for (let j = 0; j < dim; j++) g[base + j] += d * x[i * dim + j];
          g[base + dim] += d;
        }
      }
      t++;
      for (let k = 0; k < w.length; k++) {
        const gk = g[k] / (end - b) + l2 * w[k];
        m1[k] = 0.9 * m1[k] + 0.1 * gk;
        m2[k] = 0.999 * m2[k] + 0.001 * gk * gk;
        w[k] -= (lr * (m1[k] / (1 - 0.9 ** t))) / (Math.sqrt(m2[k] / (1 - 0.999 ** t)) + 1e-8);
      }
    }
  }
  const xt = std(test);
  let right = 0;
  for (let i = 0; i < testLabels.length; i++) {
    logits(i, xt, i * dim);
    let best = 0;
    for (let c = 1; c < classes; c++) if (p[c] > p[best]) best = c;
    if (best === testLabels[i]) right++;
  }
  return right / testLabels.length;
}

async function fashion(log) {
  if (!existsSync(FM_DIR)) {
    throw new Error(`Fashion-MNIST not found in ${FM_DIR}: install the Debian package dataset-fashion-mnist`);
  }
  const train = readFm("train", FM_TRAIN);
  const test = readFm("t10k", FM_TEST);
  const toFloat = (u8) => Float32Array.from(u8, (v) => v / 255);
  const rawTrain = toFloat(train.data);
  const rawTest = toFloat(test.data);
  const raw = await knnAccuracy(rawTrain, train.labels, rawTest, test.labels, 784, "l2");
  raw.linearProbe = linearProbe(rawTrain, train.labels, rawTest, test.labels, 784);
  log(`Fashion-MNIST ${train.count} train → ${test.count} test, raw pixels (L2): 1-NN ${raw.k1.toFixed(4)}, 10-NN ${raw.k10.toFixed(4)}, linear probe ${raw.linearProbe.toFixed(4)}`);
  const enc = await MobileNetV2Features.load();
  const feats = async (set) => {
    const items = [];
    for (let i = 0; i < set.count; i++) items.push({ kind: "image", width: 28, height: 28, channels: 1, data: set.data.subarray(i * 784, (i + 1) * 784) });
    const t0 = performance.now();
    const v = await enc.encode(items, { batchSize: BATCH });
    return { v, seconds: (performance.now() - t0) / 1000 };
  };
  const ft = await feats(train);
  const fq = await feats(test);
  await enc.dispose();
  const mob = await knnAccuracy(ft.v, train.labels, fq.v, test.labels, 1280, "cosine");
  mob.linearProbe = linearProbe(ft.v, train.labels, fq.v, test.labels, 1280);
  log(`  MobileNetV2 features (cosine): 1-NN ${mob.k1.toFixed(4)}, 10-NN ${mob.k10.toFixed(4)}, linear probe ${mob.linearProbe.toFixed(4)}; encoding ${((train.count + test.count) / (ft.seconds + fq.seconds)).toFixed(1)} images/s`);
  const space = enc.space;
  const asSet = (v, set, prefix) => ({ space, ids: Array.from({ length: set.count }, (_, i) => `${prefix}${i}`), data: v, meta: set.labels.map((label) => ({ label })) });
  const headOptions = { dimensions: 64, steps: 1000, seed: 1 };
  const head = new MetricHead(headOptions);
  let t0 = performance.now();
  const ht = await head.fitTransform(asSet(ft.v, train, "train-"));
  const headSeconds = (performance.now() - t0) / 1000;
  const hq = await head.transform(asSet(fq.v, test, "test-"));
  const headed = await knnAccuracy(ht.data, train.labels, hq.data, test.labels, 64, "cosine");
  headed.linearProbe = linearProbe(ht.data, train.labels, hq.data, test.labels, 64);
  log(`  + metric head (64-d, trained on train only, ${headSeconds.toFixed(0)} s): 1-NN ${headed.k1.toFixed(4)}, 10-NN ${headed.k10.toFixed(4)}, linear probe ${headed.linearProbe.toFixed(4)}`);
  return {
    data: `Fashion-MNIST (Debian dataset-fashion-mnist): the first ${train.count} train images → the first ${test.count} test images; grey 28 × 28 copied to RGB and resized to 224 as nsfwjs does`,
    rawPixels: { metric: "l2", ...raw },
    mobilenetV2: { metric: "cosine", ...mob, encodeImagesPerSecond: (train.count + test.count) / (ft.seconds + fq.seconds) },
    mobilenetV2MetricHead: { metric: "cosine", options: { ...headOptions, margin: 0.2, batchSize: 64, negatives: 8, learningRate: 0.003 }, trainSeconds: headSeconds, ...headed },
    linearProbe: "softmax regression on inputs standardised with train statistics; Adam lr 0.003, 30 epochs of batches of 256, L2 1e-4, seeded shuffle",
  };
}

export async function run({ log }) {
  const s = await speed(log);
  log(`speed-up ×${s.speedup.toFixed(2)}; ours vs plain loop: max |Δ| ${s.sameOutputs.maxAbs.toExponential(2)}, min cosine ${s.sameOutputs.minCos.toFixed(7)}`);
  const fm = await fashion(log);
  return {
    model: "nsfwjs 4.4.0 MobileNetV2 (fine-tuned on nsfwjs's 5 classes), layer flatten_1, 1280-d",
    speed: s,
    fashionMnist: fm,
    targets: [
      { description: `≥ ${TARGET_SPEEDUP}× the images/s of the plain one-image-per-call nsfwjs loop (batch ${BATCH}, ${availableParallelism()} cores)`, value: `×${s.speedup.toFixed(2)}`, met: s.speedup >= TARGET_SPEEDUP },
      { description: "same features as the plain loop (min cosine ≥ 0.9999)", value: s.sameOutputs.minCos.toFixed(7), met: s.sameOutputs.minCos >= 0.9999 },
    ],
  };
}
