import { createRng, defineSpace, type ModelArtifact, type Reducer, type Space, type VectorSet } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { codeOf } from "@latentflow/core/testing";

export interface ReducerHarness {
  /** A new, unfitted reducer with this seed. */
  create(seed: number): Reducer;
  /** The reducer saved in `artifact`. */
  load(artifact: ModelArtifact): Reducer;
  /** Output dimensions the reducer was created with. */
  dimensions: number;
  /** Fewest points it can fit; the suite expects E_TOO_FEW_POINTS below. Default 2. */
  minPoints?: number;
  /** Points the suite fits on (the suite's data are clusters in 20-D). Default 300. */
  points?: number;
  /** Whether transform of the fit data equals fitTransform's output (true for PCA; false for UMAP/t-SNE). */
  transformMatchesFit?: boolean;
}

const DIM = 20;

export function makeClusterSpace(id = "contract/reducer-input"): Space {
  return defineSpace({ id, dim: DIM, metric: "l2", normalized: false, modality: "other", producer: { name: "contract-tests", version: "1" } });
}

/** Five seeded Gaussian clusters in 20-D with meta.label the cluster. */
export function makeClusterSet(n: number, seed = "reducer-contract", space = makeClusterSpace(), prefix = "p-"): VectorSet {
  const rng = createRng(seed);
  const centres = Array.from({ length: 5 }, () => Array.from({ length: DIM }, () => rng.normal() * 6));
  const data = new Float32Array(n * DIM);
  const meta = [];
  for (let i = 0; i < n; i++) {
    const c = i % 5;
    for (let j = 0; j < DIM; j++) data[i * DIM + j] = centres[c]![j]! + rng.normal();
    meta.push({ label: c });
  }
  return { space, ids: Array.from({ length: n }, (_, i) => `${prefix}${i}`), data, meta };
}

/**
 * The reducer contract: fit/transform shapes and output space, seed reproducibility, save/load gives
 * identical transforms, and refusals with stable codes (another space's vectors, NaN, too few points,
 * transform before fit).
 */
export function describeReducerContract(name: string, h: ReducerHarness): void {
  const n = h.points ?? 300;
  describe(`reducer contract: ${name}`, () => {
    it("fitTransform gives n × dimensions finite values in the output space, ids and meta kept", async () => {
      const vs = makeClusterSet(n);
      const r = h.create(1);
      expect(r.inputSpace).toBeUndefined();
      expect(r.outputSpace).toBeUndefined();
      const out = await r.fitTransform(vs);
      expect(out.ids).toEqual(vs.ids);
      expect(out.meta).toEqual(vs.meta);
      expect(out.data).toBeInstanceOf(Float32Array);
      expect(out.data.length).toBe(n * h.dimensions);
      expect(out.space.dim).toBe(h.dimensions);
      expect(out.space).toEqual(r.outputSpace);
      expect(r.inputSpace).toEqual(vs.space);
      expect(out.space.id).not.toBe(vs.space.id);
      for (const v of out.data) expect(Number.isFinite(v)).toBe(true);
      const more = makeClusterSet(40, "more", vs.space, "q-");
      const t = await r.transform(more);
      expect(t.ids).toEqual(more.ids);
      expect(t.data.length).toBe(40 * h.dimensions);
      expect(t.space).toEqual(r.outputSpace);
      if (h.transformMatchesFit) expect(Array.from((await r.transform(vs)).data)).toEqual(Array.from(out.data));
    });

    it("the same seed gives the same output, bit for bit", async () => {
      const vs = makeClusterSet(n);
      const a = await h.create(7).fitTransform(vs);
      const b = await h.create(7).fitTransform(vs);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      expect(a.space).toEqual(b.space);
    });

    it("save → load gives identical transforms and spaces", async () => {
      const vs = makeClusterSet(n);
      const r = h.create(3);
      await r.fit(vs);
      const art = r.save();
      expect(typeof art.kind).toBe("string");
      expect(typeof art.format).toBe("string");
      for (const f of Object.values(art.files)) expect(f).toBeInstanceOf(Uint8Array);
      const loaded = h.load(art);
      expect(loaded.inputSpace).toEqual(r.inputSpace);
      expect(loaded.outputSpace).toEqual(r.outputSpace);
      const q = makeClusterSet(30, "held-out", vs.space, "h-");
      expect(Array.from((await loaded.transform(q)).data)).toEqual(Array.from((await r.transform(q)).data));
      // Saving the loaded model again gives the same bytes (artifacts are content-addressed).
      const again = loaded.save();
      expect(Object.keys(again.files).sort()).toEqual(Object.keys(art.files).sort());
      for (const k of Object.keys(art.files)) expect(Buffer.from(again.files[k]!).equals(Buffer.from(art.files[k]!))).toBe(true);
    });

    it("refuses another space's vectors (E_SPACE_MISMATCH)", async () => {
      const vs = makeClusterSet(n);
      const r = h.create(1);
      await r.fit(vs);
      const other = makeClusterSet(10, "other", makeClusterSpace("contract/another-model"), "o-");
      expect(await codeOf(r.transform(other))).toBe("E_SPACE_MISMATCH");
    });

    it("refuses NaN and infinite values (E_NOT_FINITE) in fit and transform", async () => {
      const bad = makeClusterSet(n);
      bad.data[5 * DIM + 3] = Number.NaN;
      expect(await codeOf(h.create(1).fit(bad))).toBe("E_NOT_FINITE");
      const r = h.create(1);
      await r.fit(makeClusterSet(n));
      const q = makeClusterSet(5, "q", makeClusterSpace(), "q-");
      q.data[7] = Number.POSITIVE_INFINITY;
      expect(await codeOf(r.transform(q))).toBe("E_NOT_FINITE");
    });

    it("refuses too few points (E_TOO_FEW_POINTS)", async () => {
      const few = makeClusterSet(Math.max(1, (h.minPoints ?? 2) - 1));
      expect(await codeOf(h.create(1).fit(few))).toBe("E_TOO_FEW_POINTS");
    });

    it("refuses transform and save before fit (E_NOT_FITTED)", async () => {
      const r = h.create(1);
      expect(await codeOf(r.transform(makeClusterSet(10)))).toBe("E_NOT_FITTED");
      expect(() => r.save()).toThrow(expect.objectContaining({ code: "E_NOT_FITTED" }));
    });

    it("reports progress and stops on an aborted signal with E_CANCELLED, in fit and in transform", async () => {
      const vs = makeClusterSet(n);
      const seen: number[] = [];
      const r = h.create(1);
      await r.fit(vs, { onProgress: (done) => seen.push(done) });
      expect(seen.length).toBeGreaterThan(0);
      const ac = new AbortController();
      ac.abort();
      expect(await codeOf(h.create(1).fit(vs, { signal: ac.signal }))).toBe("E_CANCELLED");
      expect(await codeOf(h.create(1).fitTransform(vs, { signal: ac.signal }))).toBe("E_CANCELLED");
      expect(await codeOf(r.transform(makeClusterSet(10, "q", vs.space, "q-"), { signal: ac.signal }))).toBe("E_CANCELLED");
      // A cancelled call leaves a fitted reducer usable.
      expect((await r.transform(makeClusterSet(10, "q", vs.space, "q-"))).ids).toHaveLength(10);
    });

    it("dispose is idempotent", async () => {
      const r = h.create(1);
      await r.fit(makeClusterSet(n));
      await r.dispose();
      await r.dispose();
    });
  });
}
