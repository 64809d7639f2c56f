import { afterEach, describe, expect, it } from "vitest";
import { createRng, defineSpace, type Metric, type ModelArtifact, type IndexFilter, type Neighbor, type RowMeta, type Space, type VectorIndex, type VectorSet } from "@latentflow/core";
import { distance, knnReference } from "@latentflow/core/kernels";

export interface IndexerHarness {
  /** A new, empty index of `space`. */
  create(space: Space): VectorIndex;
  /** The index saved in `artifact`. */
  load(artifact: ModelArtifact): VectorIndex;
  /** True for exact indexes: answers must equal brute force, not merely come close. */
  exact: boolean;
  /** ef to search with (approximate indexes); the suite's sets are small, so a large ef makes answers near exact. */
  ef?: number;
}

const DIM = 16;
const N = 400;
const K = 10;
// Ids a user might really have: not only digits, and with characters that break naive encodings.
const ODD_IDS = ["42", "0042", "doc with spaces", "ünïcødé/ñ", 'quote"d', "line\nbreak", "🙂", "a.b.c"];

function makeSpace(metric: Metric, id = `contract/${metric}`): Space {
  return defineSpace({ id, dim: DIM, metric, normalized: false, modality: "other", producer: { name: "contract-tests", version: "1" } });
}

/** N seeded Gaussian vectors with ids doc-i (a few odd ones) and meta { label: i mod 5, year }. */
function makeSet(space: Space, n = N, seed = "indexer-contract", prefix = "doc-"): VectorSet {
  const rng = createRng(seed);
  const data = new Float32Array(n * space.dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  const ids = Array.from({ length: n }, (_, i) => (prefix === "doc-" && i < ODD_IDS.length ? ODD_IDS[i]! : `${prefix}${i}`));
  const meta = ids.map((_, i) => ({ label: i % 5, year: 1980 + (i % 40), tag: i % 2 === 0 ? "even" : "odd" }));
  return { space, ids, data, meta };
}

function queriesFor(space: Space, m: number, seed = "queries"): Float32Array {
  const rng = createRng(seed);
  const q = new Float32Array(m * space.dim);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  return q;
}

function row(vs: VectorSet, i: number): Float32Array {
  return vs.data.subarray(i * vs.space.dim, (i + 1) * vs.space.dim);
}

/** Brute-force answers over the rows of `vs` that pass `keep`, in float64: the suite's own ground truth. */
function reference(vs: VectorSet, queries: Float32Array, k: number, keep?: (i: number) => boolean): Neighbor[][] {
  const dim = vs.space.dim;
  const rows = vs.ids.map((_, i) => i).filter((i) => !keep || keep(i));
  const base = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    base.set(row(vs, r), i * dim);
  });
  if (rows.length === 0) return Array.from({ length: queries.length / dim }, () => []);
  const r = knnReference(base, queries, dim, k, vs.space.metric);
  return Array.from({ length: queries.length / dim }, (_, q) =>
    Array.from({ length: r.k }, (_, j) => ({ id: vs.ids[rows[r.indices[q * r.k + j]!]!]!, distance: r.distances[q * r.k + j]! })),
  );
}

function concat(a: VectorSet, b: VectorSet): VectorSet {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { space: a.space, ids: [...a.ids, ...b.ids], data, meta: [...(a.meta ?? a.ids.map(() => ({}))), ...(b.meta ?? b.ids.map(() => ({})))] };
}

function recall(got: Neighbor[][], want: Neighbor[][]): number {
  let s = 0;
  for (let q = 0; q < want.length; q++) {
    const g = new Set(got[q]!.map((h) => h.id));
    s += want[q]!.length === 0 ? 1 : want[q]!.filter((h) => g.has(h.id)).length / want[q]!.length;
  }
  return s / want.length;
}

/** Distances as float32 hnswlib computes them may differ from float64 in the last digits. */
function closeTo(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
}

/**
 * The indexer contract: add/search, upsert, delete (a deleted id never comes back, also after a save/load
 * round trip), metadata filters (only matching ids, and the right ones), persistence, the refusal of bad
 * input with stable codes, failed batches that change nothing, and arbitrary string ids.
 */
export function describeIndexerContract(name: string, h: IndexerHarness): void {
  describe(`indexer contract: ${name}`, () => {
    const open: VectorIndex[] = [];
    const track = (ix: VectorIndex) => {
      open.push(ix);
      return ix;
    };
    const create = (space: Space) => track(h.create(space));
    const load = (a: ModelArtifact) => track(h.load(a));
    const ef = h.ef === undefined ? {} : { ef: h.ef };
    afterEach(() => {
      for (const ix of open.splice(0)) ix.dispose();
    });

    function expectAnswers(got: Neighbor[][], want: Neighbor[][], minRecall = 0.95): void {
      if (h.exact) expect(got.map((hs) => hs.map((x) => x.id))).toEqual(want.map((hs) => hs.map((x) => x.id)));
      else expect(recall(got, want)).toBeGreaterThanOrEqual(minRecall);
      for (const hits of got) {
        for (let j = 1; j < hits.length; j++) expect(hits[j]!.distance).toBeGreaterThanOrEqual(hits[j - 1]!.distance);
      }
    }

    function build(metric: Metric = "l2"): { index: VectorIndex; vs: VectorSet } {
      const vs = makeSet(makeSpace(metric));
      const index = create(vs.space);
      index.add(vs);
      return { index, vs };
    }

    it("adds items and finds their nearest neighbours (sorted, k clamped to the size)", async () => {
      const { index, vs } = build();
      expect(index.size).toBe(N);
      expect(index.has("doc-100")).toBe(true);
      expect(index.has("nope")).toBe(false);
      const item = index.get("doc-100")!;
      expect(item.meta).toEqual(vs.meta![100]);
      expect(Array.from(item.vector)).toEqual(Array.from(row(vs, 100)));
      expect(index.get("nope")).toBeUndefined();
      // An item is its own nearest neighbour.
      const self = index.search(row(vs, 100), { k: 1, ...ef });
      expect(self[0]).toMatchObject({ id: "doc-100", meta: vs.meta![100] });
      expect(self[0]!.distance).toBeCloseTo(0, 4);
      const q = queriesFor(vs.space, 40);
      const want = reference(vs, q, K);
      const got = Array.from({ length: 40 }, (_, i) => index.search(q.subarray(i * DIM, (i + 1) * DIM), { k: K, ...ef }));
      expectAnswers(got, want);
      expect(index.search(row(vs, 0), { k: N + 50, ...ef }).length).toBeLessThanOrEqual(N);
      expect(create(makeSpace("l2", "contract/empty")).search(row(vs, 0), { k: 3 })).toEqual([]);
    });

    for (const metric of ["l2", "cosine", "ip"] as const) {
      it(`reports core's distance for metric ${metric} (squared L2, 1 − cos, −q·x)`, () => {
        const { index, vs } = build(metric);
        const q = queriesFor(vs.space, 5, `q-${metric}`);
        const want = reference(vs, q, K);
        for (let i = 0; i < 5; i++) {
          const qi = q.subarray(i * DIM, (i + 1) * DIM);
          const hits = index.search(qi, { k: K, ...ef });
          for (const hit of hits) {
            const r = vs.ids.indexOf(hit.id);
            expect(closeTo(hit.distance, distance(metric, qi, row(vs, r)))).toBe(true);
          }
          expectAnswers([hits], [want[i]!], 0.9);
        }
      });
    }

    it("searchBatch gives the answers of search, from a Float32Array or a VectorSet", async () => {
      const { index, vs } = build();
      const m = 200;
      const q = queriesFor(vs.space, m, "batch");
      const one = Array.from({ length: m }, (_, i) => index.search(q.subarray(i * DIM, (i + 1) * DIM), { k: K, ...ef }));
      const batch = await index.searchBatch(q, { k: K, ...ef });
      expect(batch.map((hs) => hs.map((x) => x.id))).toEqual(one.map((hs) => hs.map((x) => x.id)));
      batch.forEach((hs, i) => {
        hs.forEach((x, j) => {
          expect(closeTo(x.distance, one[i]![j]!.distance)).toBe(true);
        });
      });
      const asSet: VectorSet = { space: vs.space, ids: Array.from({ length: m }, (_, i) => `q${i}`), data: q };
      const batch1 = await index.searchBatch(asSet, { k: K, threads: 1, ...ef });
      expect(batch1.map((hs) => hs.map((x) => x.id))).toEqual(one.map((hs) => hs.map((x) => x.id)));
      expectAnswers(batch, reference(vs, q, K));
    });

    it("upsert replaces an item's vector and meta, and adds new ids", () => {
      const { index, vs } = build();
      const far = new Float32Array(DIM).fill(50);
      expect(index.search(far, { k: 1, ...ef })[0]!.id).not.toBe("doc-70");
      index.upsert({ space: vs.space, ids: ["doc-70", "new-1"], data: Float32Array.from([...far, ...new Float32Array(DIM).fill(-50)]), meta: [{ label: 99 }, { label: 98 }] });
      expect(index.size).toBe(N + 1);
      const hit = index.search(far, { k: 1, ...ef })[0]!;
      expect(hit).toMatchObject({ id: "doc-70", meta: { label: 99 } });
      expect(hit.distance).toBeCloseTo(0, 4);
      expect(index.get("doc-70")!.meta).toEqual({ label: 99 });
      expect(Array.from(index.get("doc-70")!.vector)).toEqual(Array.from(far));
      // The old position of doc-7 no longer finds it.
      expect(index.search(row(vs, 70), { k: 1, ...ef })[0]!.id).not.toBe("doc-70");
      expect(index.search(new Float32Array(DIM).fill(-50), { k: 1, ...ef })[0]!.id).toBe("new-1");
    });

    it("a deleted id never comes back: not in search, batch, filters, nor after save/load and reuse of its space", async () => {
      const { index, vs } = build();
      const gone = vs.ids.filter((_, i) => i % 3 === 0);
      expect(index.delete([...gone, "never-there"])).toBe(gone.length);
      expect(index.delete(gone)).toBe(0);
      expect(index.size).toBe(N - gone.length);
      const dead = new Set(gone);
      const check = async (ix: VectorIndex, extra?: VectorSet) => {
        for (const id of gone.slice(0, 20)) {
          expect(ix.has(id)).toBe(false);
          expect(ix.get(id)).toBeUndefined();
        }
        // Search with the deleted vectors themselves and k = everything.
        for (let i = 0; i < 30; i += 3) for (const hit of ix.search(row(vs, i), { k: ix.size, ...ef })) expect(dead.has(hit.id)).toBe(false);
        const batch = await ix.searchBatch(vs.data.subarray(0, 150 * DIM), { k: K, ...ef });
        for (const hits of batch) for (const hit of hits) expect(dead.has(hit.id)).toBe(false);
        for (const hit of ix.search(row(vs, 3), { k: 50, filter: (_id, m) => m?.label === 3, ...ef })) expect(dead.has(hit.id)).toBe(false);
        const all = extra ? concat(vs, extra) : vs;
        const keep = (i: number) => !dead.has(all.ids[i]!);
        const q = queriesFor(vs.space, 20, "after-delete");
        expectAnswers(
          Array.from({ length: 20 }, (_, i) => ix.search(q.subarray(i * DIM, (i + 1) * DIM), { k: K, ...ef })),
          reference(all, q, K, keep),
        );
      };
      await check(index);
      const loaded = load(index.save());
      expect(loaded.size).toBe(N - gone.length);
      await check(loaded);
      // New items take the freed space; the deleted ids still stay away.
      const more = makeSet(vs.space, 150, "more", "more-");
      loaded.add(more);
      expect(loaded.size).toBe(N - gone.length + 150);
      await check(loaded, more);
      const again = load(loaded.save());
      await check(again, more);
      expect(again.has("more-149")).toBe(true);
      // Adding a deleted id again is a new item, found at its new place.
      again.add({ space: vs.space, ids: [gone[0]!], data: new Float32Array(DIM).fill(30) });
      expect(again.search(new Float32Array(DIM).fill(30), { k: 1, ...ef })[0]!.id).toBe(gone[0]);
    });

    it("filters return only matching items, and the right ones", async () => {
      const { index, vs } = build();
      const m = 30;
      const q = queriesFor(vs.space, m, "filters");
      const cases: [string, IndexFilter | undefined, (i: number) => boolean][] = [
        ["label = 2", (_id, meta) => meta?.label === 2, (i) => vs.meta![i]!.label === 2],
        ["year ≥ 2010 and odd", (_id, meta) => (meta?.year as number) >= 2010 && meta?.tag === "odd", (i) => (vs.meta![i]!.year as number) >= 2010 && vs.meta![i]!.tag === "odd"],
        ["by id", (id) => id.endsWith("7"), (i) => vs.ids[i]!.endsWith("7")],
        ["nothing", () => false, () => false],
      ];
      for (const [, filter, keep] of cases) {
        const want = reference(vs, q, K, keep);
        const got = Array.from({ length: m }, (_, i) => index.search(q.subarray(i * DIM, (i + 1) * DIM), { k: K, filter, ...ef }));
        for (const hits of got) for (const hit of hits) expect(keep(vs.ids.indexOf(hit.id))).toBe(true);
        expectAnswers(got, want);
        // Restrictive filters still fill k when k items match.
        got.forEach((hits, i) => {
          expect(hits.length).toBe(want[i]!.length);
        });
        const batch = await index.searchBatch(q, { k: K, filter, ...ef });
        for (const hits of batch) for (const hit of hits) expect(keep(vs.ids.indexOf(hit.id))).toBe(true);
        expectAnswers(batch, want);
      }
    });

    it("saves to one artifact and loads back with the same answers, ids, meta and space", async () => {
      const { index, vs } = build("cosine");
      const a = index.save();
      expect(typeof a.kind).toBe("string");
      expect(typeof a.format).toBe("string");
      for (const bytes of Object.values(a.files)) expect(bytes).toBeInstanceOf(Uint8Array);
      const loaded = load(a);
      expect(loaded.space).toEqual(vs.space);
      expect(loaded.size).toBe(N);
      for (const id of ODD_IDS) {
        expect(loaded.get(id)!.meta).toEqual(index.get(id)!.meta);
        const v1 = loaded.get(id)!.vector;
        const v0 = index.get(id)!.vector;
        for (let j = 0; j < DIM; j++) expect(closeTo(v1[j]!, v0[j]!)).toBe(true);
      }
      const q = queriesFor(vs.space, 50, "persist");
      expect(await loaded.searchBatch(q, { k: K, ...ef })).toEqual(await index.searchBatch(q, { k: K, ...ef }));
      // Saving an unchanged loaded index gives the same bytes: artifacts are content-addressed.
      const b = loaded.save();
      expect(Object.keys(b.files).sort()).toEqual(Object.keys(a.files).sort());
      for (const name of Object.keys(a.files)) expect(Buffer.from(b.files[name]!).equals(Buffer.from(a.files[name]!))).toBe(true);
      loaded.add(makeSet(vs.space, 10, "later", "later-"));
      expect(loaded.size).toBe(N + 10);
      expect(index.size).toBe(N);
    });

    it("keeps arbitrary string ids intact through search, get, delete and persistence", () => {
      const { index, vs } = build();
      const loaded = load(index.save());
      ODD_IDS.forEach((id, i) => {
        expect(loaded.search(row(vs, i), { k: 1, ...ef })[0]!.id).toBe(id);
        expect(loaded.get(id)!.id).toBe(id);
      });
      expect(loaded.delete(["line\nbreak", "🙂"])).toBe(2);
      const again = load(loaded.save());
      expect(again.has("line\nbreak")).toBe(false);
      expect(again.has("ünïcødé/ñ")).toBe(true);
    });

    describe("refuses bad input with a stable code, expected/found and where", () => {
      it("a vector of the wrong dimension (E_DIM_MISMATCH)", async () => {
        const { index, vs } = build();
        const short = new Float32Array(DIM - 1);
        const e = (() => {
          try {
            index.search(short, { k: 1 });
          } catch (err) {
            return err as { code: string; data?: Record<string, unknown>; message: string };
          }
        })();
        expect(e).toMatchObject({ code: "E_DIM_MISMATCH", data: { expected: DIM, found: DIM - 1 } });
        expect(typeof e!.data!.where).toBe("string");
        expect(e!.message).toMatch(String(DIM));
        await expect(index.searchBatch(new Float32Array(DIM * 3 + 1), { k: 1 })).rejects.toMatchObject({ code: "E_DIM_MISMATCH" });
        // A set claiming this space whose rows are too short.
        expect(() => index.add({ space: vs.space, ids: ["x", "y"], data: new Float32Array(2 * (DIM - 1)) })).toThrow(expect.objectContaining({ code: "E_DIM_MISMATCH" }));
      });

      it("vectors of another space (E_SPACE_MISMATCH)", async () => {
        const { index } = build();
        const other = makeSet(makeSpace("l2", "contract/other-model"), 5);
        expect(() => index.add(other)).toThrow(expect.objectContaining({ code: "E_SPACE_MISMATCH" }));
        expect(() => index.upsert(other)).toThrow(expect.objectContaining({ code: "E_SPACE_MISMATCH" }));
        await expect(index.searchBatch(other, { k: 1 })).rejects.toMatchObject({ code: "E_SPACE_MISMATCH", data: { expected: index.space, found: other.space } });
        const wider = defineSpace({ ...index.space, dim: DIM + 1 });
        expect(() => index.add({ space: wider, ids: ["w"], data: new Float32Array(DIM + 1) })).toThrow(expect.objectContaining({ code: "E_SPACE_MISMATCH" }));
      });

      it("NaN or infinite values (E_NOT_FINITE)", async () => {
        const { index, vs } = build();
        const q = new Float32Array(DIM);
        q[3] = Number.NaN;
        expect(() => index.search(q, { k: 1 })).toThrow(expect.objectContaining({ code: "E_NOT_FINITE" }));
        q[3] = Number.POSITIVE_INFINITY;
        expect(() => index.search(q, { k: 1 })).toThrow(expect.objectContaining({ code: "E_NOT_FINITE" }));
        await expect(index.searchBatch(q, { k: 1 })).rejects.toMatchObject({ code: "E_NOT_FINITE" });
        const bad = makeSet(vs.space, 3, "bad", "bad-");
        bad.data[DIM + 5] = Number.NEGATIVE_INFINITY;
        expect(() => index.add(bad)).toThrow(expect.objectContaining({ code: "E_NOT_FINITE", data: expect.objectContaining({ id: "bad-1", column: 5 }) }));
        expect(() => index.upsert(bad)).toThrow(expect.objectContaining({ code: "E_NOT_FINITE" }));
      });

      it("an id already present (E_DUPLICATE_ID on add; upsert replaces) and a repeated id in one batch", () => {
        const { index, vs } = build();
        expect(() => index.add({ space: vs.space, ids: ["doc-50"], data: new Float32Array(DIM) })).toThrow(expect.objectContaining({ code: "E_DUPLICATE_ID" }));
        expect(() => index.upsert({ space: vs.space, ids: ["z", "z"], data: new Float32Array(2 * DIM) })).toThrow(expect.objectContaining({ code: "E_DUPLICATE_ID" }));
      });
    });

    it("a failed batch leaves the index exactly as it was", () => {
      const { index, vs } = build();
      const q = queriesFor(vs.space, 10, "unchanged");
      const snapshot = () => ({
        size: index.size,
        answers: Array.from({ length: 10 }, (_, i) => index.search(q.subarray(i * DIM, (i + 1) * DIM), { k: K, ...ef })),
        item: index.get("doc-30"),
      });
      const before = snapshot();
      const batch = (mutate: (b: VectorSet) => void): VectorSet => {
        const b = makeSet(vs.space, 50, "batch", "batch-");
        // Good rows that would be nearest to the queries if they got in.
        b.data.set(q.subarray(0, 10 * DIM));
        mutate(b);
        return b;
      };
      const failures: [string, VectorSet, "add" | "upsert"][] = [
        ["NaN in the last row", batch((b) => { b.data[b.data.length - 1] = Number.NaN; }), "add"],
        ["an existing id in the last row", batch((b) => { b.ids[49] = "doc-10"; }), "add"],
        ["a repeated id", batch((b) => { b.ids[49] = b.ids[0]!; }), "add"],
        ["meta of the wrong length", batch((b) => { b.meta = b.meta!.slice(1); }), "add"],
        ["Infinity in an upsert touching existing ids", batch((b) => { b.ids[0] = "doc-30"; b.data[b.data.length - 2] = Number.POSITIVE_INFINITY; }), "upsert"],
      ];
      for (const [why, b, op] of failures) {
        expect(() => index[op](b), why).toThrow();
        const after = snapshot();
        expect(after, why).toEqual(before);
        for (const id of b.ids) if (id.startsWith("batch-")) expect(index.has(id), why).toBe(false);
      }
    });
  });
}
