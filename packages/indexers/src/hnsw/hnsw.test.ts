import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VectorSet } from "@latentflow/core";
import { recallAtK } from "../evaluate/recall.js";
import { ExactIndex } from "../exact/exact.js";
import { compileFilter } from "../filter.js";
import { mnist } from "../test/mnist.js";
import type { Neighbor } from "@latentflow/core";
import { HnswIndex } from "./hnsw.js";

// HnswIndex on real MNIST pixels, measured against ExactIndex on the same rows.

const TRAIN = 10_000;
const QUERIES = 200;
const K = 10;

let train: VectorSet;
let queries: VectorSet;
let hnsw: HnswIndex;
let exact: ExactIndex;
let truth: Neighbor[][];

function rowsOf(vs: VectorSet, i: number): Float32Array {
  return vs.data.subarray(i * 784, (i + 1) * 784);
}

function searchAll(index: HnswIndex | ExactIndex, q: VectorSet, opts: Parameters<HnswIndex["search"]>[1]): Neighbor[][] {
  return q.ids.map((_, i) => index.search(rowsOf(q, i), opts));
}

beforeAll(() => {
  train = mnist("train", 0, TRAIN);
  queries = mnist("t10k", 0, QUERIES);
  const t0 = performance.now();
  hnsw = HnswIndex.fromVectorSet(train, { m: 16, efConstruction: 200 });
  console.log(`HnswIndex: built on ${TRAIN} MNIST train digits in ${((performance.now() - t0) / 1000).toFixed(1)} s (M=16, efConstruction=200, one thread)`);
  exact = ExactIndex.fromVectorSet(train);
});

afterAll(() => {
  hnsw.dispose();
  exact.dispose();
});

describe("HnswIndex on 10k MNIST digits", () => {
  beforeAll(async () => {
    truth = await exact.searchBatch(queries, { k: K });
  });

  it("reaches recall@10 ≥ 0.95 at ef=100 on 200 test digits, with ExactIndex's distances", () => {
    const recalls: string[] = [];
    for (const ef of [10, 40, 100]) {
      const t0 = performance.now();
      const got = searchAll(hnsw, queries, { k: K, ef });
      const qps = QUERIES / ((performance.now() - t0) / 1000);
      const r = recallAtK(got, truth, K);
      recalls.push(`ef=${ef}: recall@10 ${r.toFixed(4)}, ${qps.toFixed(0)} QPS`);
      if (ef === 100) {
        expect(r).toBeGreaterThanOrEqual(0.95);
        // Same neighbour, same distance (float32 in hnswlib, float64 in the exact kernel).
        got.forEach((hits, q) => {
          const d = new Map(truth[q]!.map((h) => [h.id, h.distance]));
          for (const h of hits) if (d.has(h.id)) expect(h.distance).toBeCloseTo(d.get(h.id)!, 3);
          expect(hits[0]!.meta).toHaveProperty("label");
        });
      }
    }
    console.log(`HnswIndex on MNIST (single thread): ${recalls.join("; ")}`);
  });

  it("filters by label inside the search: only that label, and the same digits exact filtered search finds", async () => {
    // Filtered HNSW search walks past the 90 % of nodes a label filter rejects: slower, so 100 queries here.
    const few = { ...queries, ids: queries.ids.slice(0, 100), data: queries.data.subarray(0, 100 * 784), meta: queries.meta!.slice(0, 100) };
    for (const digit of [3, 8]) {
      const filter = compileFilter({ label: digit });
      const got = searchAll(hnsw, few, { k: K, ef: 100, filter });
      const want = await exact.searchBatch(few, { k: K, filter });
      for (const hits of got) {
        expect(hits).toHaveLength(K);
        for (const h of hits) expect(h.meta!.label).toBe(digit);
      }
      expect(recallAtK(got, want, K)).toBeGreaterThanOrEqual(0.95);
      const batch = await hnsw.searchBatch(few, { k: K, ef: 100, filter });
      expect(batch.map((hs) => hs.map((h) => h.id))).toEqual(got.map((hs) => hs.map((h) => h.id)));
    }
    const two = compileFilter({ label: { in: [1, 7] } });
    const got = searchAll(hnsw, few, { k: K, ef: 100, filter: two });
    for (const hits of got) for (const h of hits) expect([1, 7]).toContain(h.meta!.label);
    expect(recallAtK(got, await exact.searchBatch(few, { k: K, filter: two }), K)).toBeGreaterThanOrEqual(0.95);
  });

  it("searches a batch on both cores with the single-thread answers (speed-up in the output)", async () => {
    const M = 2000;
    const big = mnist("t10k", 1000, M);
    const t1 = performance.now();
    const one = await hnsw.searchBatch(big, { k: K, ef: 100, threads: 1 });
    const s1 = (performance.now() - t1) / 1000;
    // The first parallel batch loads an index copy into each worker and warms them up; time the next one.
    const t0 = performance.now();
    expect(await hnsw.searchBatch(big, { k: K, ef: 100, threads: 2 })).toEqual(one);
    const s0 = (performance.now() - t0) / 1000;
    const t2 = performance.now();
    const two = await hnsw.searchBatch(big, { k: K, ef: 100, threads: 2 });
    const s2 = (performance.now() - t2) / 1000;
    expect(two).toEqual(one);
    console.log(
      `HnswIndex.searchBatch, ${M} MNIST queries at ef=100: 1 thread ${s1.toFixed(2)} s (${(M / s1).toFixed(0)} QPS); ` +
        `2 threads ${s0.toFixed(2)} s cold (index copies loaded), ${s2.toFixed(2)} s warm (${(M / s2).toFixed(0)} QPS): speed-up ${(s1 / s2).toFixed(2)}×`,
    );
  });

  it("deletes real rows for good (also after save/load) and keeps recall on what is left", async () => {
    const copy = HnswIndex.load(hnsw.save());
    const zeros = train.ids.filter((_, i) => train.meta![i]!.label === 0);
    expect(copy.delete(zeros)).toBe(zeros.length);
    const gone = new Set(zeros);
    const zeroQueries = queries.ids.map((_, i) => i).filter((i) => queries.meta![i]!.label === 0);
    for (const q of zeroQueries) for (const h of copy.search(rowsOf(queries, q), { k: 50, ef: 100 })) expect(gone.has(h.id)).toBe(false);
    const reloaded = HnswIndex.load(copy.save());
    expect(reloaded.size).toBe(TRAIN - zeros.length);
    for (const q of zeroQueries) for (const h of reloaded.search(rowsOf(queries, q), { k: 50, ef: 100 })) expect(gone.has(h.id)).toBe(false);
    const exactLeft = ExactIndex.fromVectorSet(train);
    exactLeft.delete(zeros);
    const want = await exactLeft.searchBatch(queries, { k: K });
    expect(recallAtK(searchAll(reloaded, queries, { k: K, ef: 100 }), want, K)).toBeGreaterThanOrEqual(0.95);
    // New digits reuse the deleted slots: the graph does not grow.
    const more = mnist("train", TRAIN, 500);
    const slots = (reloaded.save().files["index.hnsw"] as Uint8Array).length;
    reloaded.add(more);
    expect((reloaded.save().files["index.hnsw"] as Uint8Array).length).toBe(slots);
    for (const q of zeroQueries) for (const h of reloaded.search(rowsOf(queries, q), { k: 50, ef: 100 })) expect(gone.has(h.id)).toBe(false);
    for (const ix of [copy, reloaded, exactLeft]) ix.dispose();
  });

  it("upserts real rows: a train id given a test digit's pixels is found at distance 0 with its new label", () => {
    const copy = HnswIndex.load(hnsw.save());
    const ids = train.ids.slice(0, 100);
    copy.upsert({ space: train.space, ids, data: queries.data.slice(0, 100 * 784), meta: queries.meta!.slice(0, 100).map((m) => ({ ...m, upserted: true })) });
    expect(copy.size).toBe(TRAIN);
    for (let i = 0; i < 100; i++) {
      const hit = copy.search(rowsOf(queries, i), { k: 1, ef: 100 })[0]!;
      expect(hit.id).toBe(ids[i]);
      expect(hit.distance).toBe(0);
      expect(hit.meta).toEqual({ label: queries.meta![i]!.label, upserted: true });
    }
    // Their old pixels no longer lead to them.
    let stale = 0;
    for (let i = 0; i < 100; i++) if (copy.search(rowsOf(train, i), { k: 1, ef: 100 })[0]!.id === ids[i]) stale++;
    expect(stale).toBe(0);
    copy.dispose();
  });

  it("round-trips through save/load with identical answers", () => {
    const loaded = HnswIndex.load(hnsw.save());
    expect(searchAll(loaded, queries, { k: K, ef: 40 })).toEqual(searchAll(hnsw, queries, { k: K, ef: 40 }));
    expect(loaded.params).toEqual(hnsw.params);
    loaded.dispose();
  });

  it("refuses a cropped digit, another space and NaN pixels on real data", () => {
    expect(() => hnsw.search(rowsOf(queries, 0).subarray(0, 783), { k: 1 })).toThrow(expect.objectContaining({ code: "E_DIM_MISMATCH" }));
    const raw = { ...queries, space: { ...queries.space, producer: { ...queries.space.producer, params: { scale: 1 } } } };
    expect(() => hnsw.add({ ...raw, ids: raw.ids.map((id) => `${id}-raw`) })).toThrow(expect.objectContaining({ code: "E_SPACE_MISMATCH" }));
    const nan = mnist("t10k", 500, 10, "nan-");
    nan.data[9 * 784 + 400] = Number.NaN;
    expect(() => hnsw.add(nan)).toThrow(expect.objectContaining({ code: "E_NOT_FINITE", data: expect.objectContaining({ id: "nan-509", column: 400 }) }));
    expect(hnsw.size).toBe(TRAIN);
    expect(hnsw.has("nan-500")).toBe(false);
  });
});
