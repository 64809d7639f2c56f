import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  PluginRegistry,
  corePlugin,
  loadArtifactValue,
  loadPipelineText,
  type ArtifactStore,
  type Executor,
  type RunEvent,
  type RunRecord,
  type RunStore,
} from "@latentflow/core";
import { contractPlugin } from "./test-plugin.js";

export interface ExecutorHarness {
  executor: Executor;
  store: ArtifactStore;
  runStore?: RunStore;
  /** Called once per test after it; stop workers, close connections. */
  cleanup?(): Promise<void>;
}

const registry = new PluginRegistry([corePlugin, contractPlugin]);

/**
 * The executor contract: every executor runs the same plan to the same artifacts, honours the cache,
 * shards and gathers in order, retries, times out, cancels cleanly, applies the item failure policy and
 * keeps a run record. `makeHarness` gets a fresh temporary directory for each test.
 */
export function describeExecutorContract(name: string, makeHarness: (dir: string) => Promise<ExecutorHarness>): void {
  describe(`executor contract: ${name}`, () => {
    let dir: string;
    let h: ExecutorHarness;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "lf-exec-contract-"));
      h = await makeHarness(dir);
    });
    afterEach(async () => {
      await h.cleanup?.();
      await rm(dir, { recursive: true, force: true });
    });

    const plan = (yaml: string) => loadPipelineText(yaml, join(dir, "pipeline.yaml"), registry, dir);
    const run = (yaml: string, opts: { force?: boolean; only?: string[]; concurrency?: number; signal?: AbortSignal; events?: RunEvent[] } = {}) =>
      h.executor.run(plan(yaml), {
        store: h.store,
        ...(h.runStore ? { runStore: h.runStore } : {}),
        ...(opts.force ? { force: true } : {}),
        ...(opts.only ? { only: opts.only } : {}),
        concurrency: opts.concurrency ?? 4,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.events ? { onEvent: (e: RunEvent) => opts.events!.push(e) } : {}),
      });
    const value = async (rec: RunRecord, step: string, port: string) => {
      const m = await h.store.stat(rec.steps[step]!.outputs[port]!.key);
      return loadArtifactValue(h.store, m!);
    };
    const computed = (rec: RunRecord) => Object.entries(rec.steps).filter(([, s]) => s.cache === "miss").map(([id]) => id).sort();

    const chain = (n: number, factor = 1, shard = "") => `
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: ${n} } }
  sq: { uses: contract/square, in: { records: nums }, with: { factor: ${factor} } ${shard} }
  total: { uses: contract/sum, in: { records: sq } }
  other: { uses: contract/numbers, with: { n: 3, start: 100 } }
`;

    it("runs a DAG to the right answer and records every step", async () => {
      const rec = await run(chain(10));
      expect(rec.status).toBe("succeeded");
      expect(await value(rec, "total", "total")).toEqual({ sum: 285, count: 10 });
      for (const s of Object.values(rec.steps)) {
        expect(s.status).toBe("succeeded");
        expect(s.finishedAt).toBeTruthy();
      }
      if (h.runStore) expect((await h.runStore.load(rec.id))?.status).toBe("succeeded");
    });

    it("recomputes nothing on a second run, and only dependents after a param change", async () => {
      const first = await run(chain(10));
      expect(computed(first)).toEqual(["nums", "other", "sq", "total"]);
      const second = await run(chain(10));
      expect(computed(second)).toEqual([]);
      expect(Object.values(second.steps).every((s) => s.cache === "hit")).toBe(true);
      expect(second.steps.total!.outputs.total!.hash).toBe(first.steps.total!.outputs.total!.hash);
      const changed = await run(chain(10, 2));
      expect(computed(changed)).toEqual(["sq", "total"]);
      expect(await value(changed, "total", "total")).toEqual({ sum: 570, count: 10 });
    });

    it("does not recompute downstream when an upstream change gives identical content", async () => {
      await run(chain(5));
      // `start: 0` is the default: written out it changes the step's params text but not its output.
      const rec = await run(chain(5).replace("with: { n: 5 }", "with: { n: 5, start: 0 }"));
      expect(computed(rec)).toEqual([]);
    });

    it("shards a step and gathers in input order, even when shards finish out of order", async () => {
      const whole = await run(chain(101));
      const sharded = await run(chain(101).replace("with: { factor: 1 }", "with: { factor: 1, jitterMs: 40 }, shard: { size: 7 }"), { concurrency: 4 });
      expect(sharded.steps.sq!.shards).toEqual({ count: 15, fromCache: 0 });
      const records = (await value(sharded, "sq", "records")) as { i: number; v: number }[];
      expect(records.map((r) => r.i)).toEqual(Array.from({ length: 101 }, (_, i) => i));
      expect(records.map((r) => r.v)).toEqual(Array.from({ length: 101 }, (_, i) => i * i));
      // Same content as the unsharded step: the gather is byte-identical.
      expect(sharded.steps.sq!.outputs.records!.hash).toBe(whole.steps.sq!.outputs.records!.hash);
    });

    it("runs independent branches concurrently", async () => {
      const rec = await run(`
version: 1
steps:
  a: { uses: contract/rendezvous, with: { dir: meet, name: a, peers: [b] } }
  b: { uses: contract/rendezvous, with: { dir: meet, name: b, peers: [a] } }
`, { concurrency: 2 });
      expect(rec.status).toBe("succeeded");
    });

    it("retries a failing step with backoff, and gives up after its retries", async () => {
      const events: RunEvent[] = [];
      const ok = await run(`
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 3 } }
  f: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 2, counter: c1 }, retries: 2 }
`, { events });
      expect(ok.status).toBe("succeeded");
      expect(ok.steps.f!.attempts).toBe(3);
      expect(events.filter((e) => e.type === "step-retry" && e.stepId === "f")).toHaveLength(2);

      const bad = await run(`
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 3 } }
  f: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 5, counter: c2 }, retries: 1 }
  after: { uses: contract/sum, in: { records: f } }
  independent: { uses: contract/numbers, with: { n: 4 } }
`);
      expect(bad.status).toBe("failed");
      expect(bad.steps.f!.status).toBe("failed");
      expect(bad.steps.f!.error?.message).toMatch(/flaky failure 2 of 5/);
      expect(bad.steps.after!.status).toBe("not-run");
      expect(bad.steps.independent!.status).toBe("succeeded");
    });

    it("applies the engine's retry policy: the same record and retry delays under every executor", async () => {
      const events: RunEvent[] = [];
      const rec = await run(`
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 3 } }
  plain: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 2, counter: p1 }, retries: 3 }
  timeouts: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 1, counter: p2, code: E_TIMEOUT }, retries: 1 }
  exhausted: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 9, counter: p3 }, retries: 2 }
  final: { uses: contract/flaky, in: { records: nums }, with: { failTimes: 9, counter: p4, code: E_CONTRACT_BROKEN }, retries: 4 }
`, { events });
      // What an executor may not change: status, attempts, cache, error (code, message, hint, data), outputs.
      const view = Object.fromEntries(Object.entries(rec.steps).map(([id, s]) => [id, {
        status: s.status,
        attempts: s.attempts,
        cache: s.cache ?? null,
        error: s.error ?? null,
        outputs: Object.fromEntries(Object.entries(s.outputs).map(([port, o]) => [port, o.hash])),
      }]));
      const recordsHash = rec.steps.nums!.outputs.records!.hash;
      expect(view).toEqual({
        nums: { status: "succeeded", attempts: 1, cache: "miss", error: null, outputs: { records: recordsHash } },
        plain: { status: "succeeded", attempts: 3, cache: "miss", error: null, outputs: { records: recordsHash } },
        timeouts: { status: "succeeded", attempts: 2, cache: "miss", error: null, outputs: { records: recordsHash } },
        exhausted: { status: "failed", attempts: 3, cache: null, error: { code: "E_STEP_FAILED", message: "flaky failure 3 of 9" }, outputs: {} },
        // Latentflow's own errors are not retried (they would fail the same way), except timeouts.
        final: {
          status: "failed",
          attempts: 1,
          cache: null,
          error: { code: "E_CONTRACT_BROKEN", message: "flaky failure 1 of 9", hint: "raise 'retries' on the step", data: { attempt: 1, failTimes: 9, rows: 3, nested: { ok: false, list: [1, "two"] } } },
          outputs: {},
        },
      });
      expect(rec.status).toBe("failed");
      expect(rec.error?.code).toBe("E_STEP_FAILED");
      // Retries wait 200 ms, then twice as long each time (capped at 30 s), and are announced.
      const retries = (step: string) => events.filter((e) => e.type === "step-retry" && e.stepId === step).map((e) => e.type === "step-retry" && [e.attempt, e.delayMs]);
      expect(retries("plain")).toEqual([[1, 200], [2, 400]]);
      expect(retries("timeouts")).toEqual([[1, 200]]);
      expect(retries("exhausted")).toEqual([[1, 200], [2, 400]]);
      expect(retries("final")).toEqual([]);
      const starts = (step: string) => events.filter((e) => e.type === "step-start" && e.stepId === step).map((e) => e.type === "step-start" && e.attempt);
      expect(starts("plain")).toEqual([1, 2, 3]);
      expect(starts("final")).toEqual([1]);
      // The saved record is the one returned.
      if (h.runStore) expect((await h.runStore.load(rec.id))?.steps.final?.error).toEqual(view.final!.error);
    });

    it("keeps a step error's code, message, hint and data in the record, sharded or not", async () => {
      const rec = await run(`
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 10 } }
  p: { uses: contract/picky, in: { records: nums }, with: { multiple: 3 }, onError: fail, shard: { size: 4 } }
  whole: { uses: contract/picky, in: { records: nums }, with: { multiple: 3 }, onError: fail }
`);
      for (const id of ["p", "whole"]) {
        const e = rec.steps[id]!.error!;
        expect(e.code).toBe("E_ITEM_REJECTED");
        // Which rejected item stops a sharded step first is up to timing; each is a multiple of 3.
        expect(e.message).toMatch(/item (\d+) \(id '\1'\) failed: v=\1 is a multiple of 3/);
        expect(e.hint).toMatch(/onError: skip/);
        expect(e.data).toMatchObject({ code: "E_ITEM_REJECTED", message: expect.stringMatching(/multiple of 3/) });
        expect([0, 3, 6, 9]).toContain(e.data!.index);
        expect(e.data!.id).toBe(String(e.data!.index));
      }
    });

    it("fails a step that exceeds its timeout with E_TIMEOUT", async () => {
      const rec = await run(`
version: 1
steps:
  s: { uses: contract/slow, with: { ms: 5000 }, timeout: 200ms }
`);
      expect(rec.steps.s!.status).toBe("failed");
      expect(rec.steps.s!.error?.code).toBe("E_TIMEOUT");
    });

    it("cancels cleanly: no partial artifacts, finished steps stay cached", async () => {
      const yaml = `
version: 1
steps:
  fast: { uses: contract/numbers, with: { n: 5 } }
  s: { uses: contract/slow, with: { ms: 3000 } }
`;
      const controller = new AbortController();
      const events: RunEvent[] = [];
      const pending = run(yaml, { signal: controller.signal, events });
      await new Promise<void>((res) => {
        const t = setInterval(() => {
          if (events.some((e) => e.type === "step-end" && e.stepId === "fast")) {
            clearInterval(t);
            res();
          }
        }, 5);
      });
      controller.abort();
      const rec = await pending;
      expect(rec.status).toBe("cancelled");
      expect(rec.steps.s!.status).toBe("cancelled");
      expect(rec.steps.fast!.status).toBe("succeeded");
      const again = await run(yaml.replace("ms: 3000", "ms: 3000"), { only: ["fast"] });
      expect(again.steps.fast!.cache).toBe("hit");
      for await (const m of h.store.list()) {
        for (const f of m.files) await h.store.read(m.key, f.name); // every stored file verifies
      }
    });

    it("applies the item failure policy: skip reports items, fail stops the step", async () => {
      const yaml = (policy: string) => `
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 10 } }
  p: { uses: contract/picky, in: { records: nums }, with: { multiple: 3 }, onError: ${policy}, shard: { size: 4 } }
`;
      const skipped = await run(yaml("skip"));
      expect(skipped.status).toBe("succeeded");
      expect((await value(skipped, "p", "records") as { v: number }[]).map((r) => r.v)).toEqual([1, 2, 4, 5, 7, 8]);
      expect(skipped.steps.p!.skipped.map((s) => [s.index, s.id, s.code])).toEqual([
        [0, "0", "E_ITEM_REJECTED"],
        [3, "3", "E_ITEM_REJECTED"],
        [6, "6", "E_ITEM_REJECTED"],
        [9, "9", "E_ITEM_REJECTED"],
      ]);
      const cached = await run(yaml("skip"));
      expect(cached.steps.p!.cache).toBe("hit");
      expect(cached.steps.p!.skipped).toHaveLength(4);

      const failed = await run(yaml("fail"));
      expect(failed.steps.p!.status).toBe("failed");
      expect(failed.steps.p!.error?.code).toBe("E_ITEM_REJECTED");
      expect(failed.steps.p!.error?.hint).toMatch(/onError: skip/);
    });

    it("carries a trained model from one step to another, and into a later run by key", async () => {
      const rec = await run(`
version: 1
steps:
  nums: { uses: contract/numbers, with: { n: 5 } }
  fit: { uses: contract/fit-mean, in: { records: nums } }
  centered: { uses: contract/center, in: { records: nums, model: fit } }
`);
      expect(rec.status).toBe("succeeded");
      expect((await value(rec, "centered", "records") as { v: number }[]).map((r) => r.v)).toEqual([-2, -1, 0, 1, 2]);
      const key = rec.steps.fit!.outputs.model!.key;
      const later = await run(`
version: 1
steps:
  model: { uses: core/load-model, with: { key: "${key}" } }
  nums: { uses: contract/numbers, with: { n: 3, start: 10 } }
  centered: { uses: contract/center, in: { records: nums, model: model } }
`);
      expect(later.status).toBe("succeeded");
      expect((await value(later, "centered", "records") as { v: number }[]).map((r) => r.v)).toEqual([8, 9, 10]);
    });

    it("gives a step a private scratch directory and removes it afterwards", async () => {
      const rec = await run(`
version: 1
steps:
  s: { uses: contract/scratch, with: { tag: hello } }
`);
      expect(rec.status).toBe("succeeded");
      const [row] = (await value(rec, "s", "records")) as { v: number; dir: string }[];
      expect(row!.v).toBe(5);
      expect(existsSync(row!.dir)).toBe(false);
    });

    it("runs only the selected steps and what they need", async () => {
      const rec = await run(chain(4), { only: ["total"] });
      expect(rec.steps.total!.status).toBe("succeeded");
      expect(rec.steps.other!.status).toBe("not-run");
    });

    it("gives byte-identical artifacts for the same plan in a fresh store", async () => {
      const a = await run(chain(20, 3, ", shard: { size: 6 }"));
      expect(a.steps.total!.outputs.total!.hash).toBeTruthy();
      const forced = await run(chain(20, 3, ", shard: { size: 6 }"), { force: true });
      expect(computed(forced)).toEqual(["nums", "other", "sq", "total"]);
      for (const id of Object.keys(a.steps)) {
        for (const port of Object.keys(a.steps[id]!.outputs)) expect(forced.steps[id]!.outputs[port]!.hash).toBe(a.steps[id]!.outputs[port]!.hash);
      }
    });
  });
}
