import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LatentflowError, definePlugin, defineStep, type RowMeta } from "@latentflow/core";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal.aborted) return rej(signal.reason ?? new Error("aborted"));
    const t = setTimeout(res, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      rej(signal.reason ?? new Error("aborted"));
    }, { once: true });
  });
}

/** Loads of the "model" of contract/uses-model in this process: what a resource cache must keep at 1. */
let modelLoads = 0;

/**
 * Small deterministic steps that exercise every engine behaviour an executor must honour. State that
 * must be seen across processes (attempt counts, rendezvous) lives in files, so the same plugin
 * serves in-process and fleet executors.
 */
export const contractPlugin = definePlugin({
  name: "contract",
  version: "1.0.0",
  steps: [
    defineStep({
      name: "numbers",
      description: "records { i, v } for i in [0, n)",
      inputs: {},
      outputs: { records: { type: "records" } },
      params: z.strictObject({ n: z.number().int().min(0), start: z.number().default(0) }),
      async run(_ctx, _in, p) {
        return { records: Array.from({ length: p.n }, (_, i) => ({ i, v: p.start + i })) };
      },
    }),
    defineStep({
      name: "square",
      description: "v → v²; shardable; optional random delays so shards finish out of order",
      inputs: { records: { type: "records" } },
      outputs: { records: { type: "records" } },
      params: z.strictObject({ jitterMs: z.number().min(0).default(0), factor: z.number().default(1) }),
      shardable: "records",
      async run(ctx, { records }, p) {
        if (p.jitterMs) await sleep(ctx.rng.next() * p.jitterMs, ctx.signal);
        const out = records.map((r) => ({ ...r, v: p.factor * (r.v as number) ** 2 }));
        ctx.progress(records.length, records.length);
        return { records: out };
      },
    }),
    defineStep({
      name: "sum",
      description: "sum and count of v",
      inputs: { records: { type: "records" } },
      outputs: { total: { type: "json" } },
      params: z.strictObject({}),
      async run(_ctx, { records }) {
        return { total: { sum: records.reduce((s, r) => s + (r.v as number), 0), count: records.length } };
      },
    }),
    defineStep({
      name: "flaky",
      description: "fails its first `failTimes` attempts (counted in a file), then passes its input through; with `code`, each failure is a LatentflowError of that code with a hint and data",
      inputs: { records: { type: "records" } },
      outputs: { records: { type: "records" } },
      params: z.strictObject({ failTimes: z.number().int().min(0), counter: z.string(), code: z.string().optional() }),
      async run(ctx, { records }, p) {
        const path = ctx.resolvePath(p.counter);
        const seen = existsSync(path) ? Number(await readFile(path, "utf8")) : 0;
        await writeFile(path, String(seen + 1));
        if (seen < p.failTimes && p.code) {
          throw new LatentflowError(p.code, `flaky failure ${seen + 1} of ${p.failTimes}`, {
            hint: "raise 'retries' on the step",
            data: { attempt: seen + 1, failTimes: p.failTimes, rows: records.length, nested: { ok: false, list: [1, "two"] } },
          });
        }
        if (seen < p.failTimes) throw new Error(`flaky failure ${seen + 1} of ${p.failTimes}`);
        return { records };
      },
    }),
    defineStep({
      name: "slow",
      description: "waits `ms` (honouring cancellation), then emits one record",
      inputs: {},
      outputs: { records: { type: "records" } },
      params: z.strictObject({ ms: z.number().min(0), tag: z.string().default("") }),
      async run(ctx, _in, p) {
        await sleep(p.ms, ctx.signal);
        return { records: [{ i: 0, v: 1, tag: p.tag }] };
      },
    }),
    defineStep({
      name: "rendezvous",
      description: "marks itself started in `dir`, then waits until every name in `peers` has started (proves concurrency)",
      inputs: {},
      outputs: { records: { type: "records" } },
      params: z.strictObject({ dir: z.string(), name: z.string(), peers: z.array(z.string()), waitMs: z.number().default(20_000) }),
      async run(ctx, _in, p) {
        const dir = ctx.resolvePath(p.dir);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, `${p.name}.started`), "");
        const deadline = Date.now() + p.waitMs;
        for (;;) {
          const started = new Set(await readdir(dir));
          if (p.peers.every((peer) => started.has(`${peer}.started`))) break;
          if (Date.now() > deadline) throw new LatentflowError("E_RENDEZVOUS", `${p.name}: peers ${p.peers.join(", ")} never started alongside it`);
          await sleep(10, ctx.signal);
        }
        return { records: [{ i: 0, v: 1, name: p.name }] };
      },
    }),
    defineStep({
      name: "picky",
      description: "rejects items whose v is a multiple of `multiple` through ctx.itemFailed",
      inputs: { records: { type: "records" } },
      outputs: { records: { type: "records" } },
      params: z.strictObject({ multiple: z.number().int().positive() }),
      shardable: "records",
      async run(ctx, { records }, p) {
        const kept: RowMeta[] = [];
        records.forEach((r, index) => {
          if ((r.v as number) % p.multiple === 0) {
            ctx.itemFailed({ index, id: String(r.i) }, new LatentflowError("E_ITEM_REJECTED", `v=${r.v} is a multiple of ${p.multiple}`));
          } else kept.push(r);
        });
        return { records: kept };
      },
    }),
    defineStep({
      name: "scratch",
      description: "writes a file in its scratch directory and reports the directory",
      inputs: {},
      outputs: { records: { type: "records" } },
      params: z.strictObject({ tag: z.string().default("") }),
      async run(ctx, _in, p) {
        await writeFile(join(ctx.scratchDir, "work.txt"), p.tag);
        const back = await readFile(join(ctx.scratchDir, "work.txt"), "utf8");
        return { records: [{ i: 0, v: back.length, dir: ctx.scratchDir }] };
      },
    }),
    defineStep({
      name: "fit-mean",
      description: "a 'trained model': the mean of v, as a model artifact",
      inputs: { records: { type: "records" } },
      outputs: { model: { type: "model" } },
      params: z.strictObject({}),
      async run(_ctx, { records }) {
        const mean = records.reduce((s, r) => s + (r.v as number), 0) / records.length;
        const bin = new Float64Array([mean]);
        return { model: { kind: "contract/mean", format: "1", meta: { n: records.length }, files: { "mean.f64": new Uint8Array(bin.buffer) } } };
      },
    }),
    defineStep({
      name: "center",
      description: "applies a fitted mean model: v → v − mean",
      inputs: { records: { type: "records" }, model: { type: "model" } },
      outputs: { records: { type: "records" } },
      params: z.strictObject({}),
      async run(_ctx, { records, model }) {
        if (model.kind !== "contract/mean") throw new LatentflowError("E_MODEL_KIND", `expected a contract/mean model, found ${model.kind}`);
        const f = model.files["mean.f64"]!;
        const mean = new Float64Array(f.buffer.slice(f.byteOffset, f.byteOffset + 8))[0]!;
        return { records: records.map((r) => ({ ...r, v: (r.v as number) - mean })) };
      },
    }),
    defineStep({
      name: "uses-model",
      description: "loads a (pretend) model through ctx.resources and reports how often this process has loaded it; shardable",
      inputs: { records: { type: "records", optional: true } },
      outputs: { records: { type: "records" } },
      params: z.strictObject({ tag: z.string().default(""), loadMs: z.number().min(0).default(20) }),
      shardable: "records",
      async run(ctx, { records }, p) {
        const model = await ctx.resources.use("contract/model", async () => {
          modelLoads++;
          await sleep(p.loadMs, ctx.signal);
          return { weights: [1, 2, 3], loadedBy: process.pid };
        });
        const rows = records ?? [{ i: 0 }];
        return { records: rows.map((r) => ({ ...r, tag: p.tag, loads: modelLoads, pid: model.loadedBy })) };
      },
    }),
  ],
});
