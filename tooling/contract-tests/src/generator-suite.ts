import { defineSpace, type Generator, type ModelArtifact, type VectorSet } from "@latentflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf } from "@latentflow/core/testing";

export interface GeneratorHarness {
  /** Names the describe block. */
  name: string;
  /** A ready generator (fitted or trained on `data()` when it learns from data). The suite disposes it. */
  create(): Promise<Generator>;
  /** The generator saved in `artifact`. */
  load(artifact: ModelArtifact): Promise<Generator>;
  /** Points of the generator's output space it was fitted on, to judge what it decodes. */
  data(): VectorSet;
  /** Maps data to latents, when the generator has an encoder side: decode(encode(x)) must come back near x. */
  encode?(g: Generator, vs: VectorSet): Promise<VectorSet>;
}

function meanOf(vs: VectorSet): Float64Array {
  const d = vs.space.dim;
  const m = new Float64Array(d);
  const n = vs.ids.length;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j]! += vs.data[i * d + j]! / n;
  return m;
}

/** Root mean squared distance of the rows of `vs` to `centre`. */
function rmsTo(vs: VectorSet, centre: Float64Array): number {
  const d = vs.space.dim;
  let s = 0;
  for (let i = 0; i < vs.ids.length; i++) for (let j = 0; j < d; j++) s += (vs.data[i * d + j]! - centre[j]!) ** 2;
  return Math.sqrt(s / vs.ids.length);
}

/**
 * The generator contract: declared latent and output spaces; `sample` gives n finite latents of the latent
 * space, the same for the same seed and different for another; `decode` gives one finite row of the output
 * space per latent (ids and meta kept), deterministically, and its samples land where the data lie; with an
 * encoder, decode(encode(x)) comes back nearer x than the data's spread; refusals with stable codes (another
 * space, NaN, a bad count); save → load decodes alike; cancellation; dispose idempotent.
 */
export function describeGeneratorContract(h: GeneratorHarness): void {
  describe(`generator contract: ${h.name}`, () => {
    let g: Generator;
    beforeAll(async () => {
      g = await h.create();
    });
    afterAll(async () => {
      await g?.dispose();
    });

    it("declares its latent and output spaces", () => {
      expect(g.latentSpace.dim).toBeGreaterThan(0);
      expect(g.outputSpace.dim).toBeGreaterThan(0);
      expect(g.outputSpace.id).not.toBe(g.latentSpace.id);
      expect(g.outputSpace).toEqual(h.data().space);
    });

    it("samples n finite latents of its latent space, reproducibly by seed", async () => {
      const a = await g.sample(50, { seed: 1 });
      expect(a.space).toEqual(g.latentSpace);
      expect(a.ids).toEqual(Array.from({ length: 50 }, (_, i) => `sample-${i}`));
      expect(a.data.length).toBe(50 * g.latentSpace.dim);
      for (const v of a.data) expect(Number.isFinite(v)).toBe(true);
      const b = await g.sample(50, { seed: 1 });
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
      const c = await g.sample(50, { seed: 2 });
      expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
      expect((await g.sample(0, { seed: 1 })).ids).toEqual([]);
    });

    it("shrinks samples toward the prior's centre with a smaller scale", async () => {
      const wide = await g.sample(400, { seed: 3 });
      const narrow = await g.sample(400, { seed: 3, scale: 0.1 });
      const centre = meanOf(wide);
      expect(rmsTo(narrow, centre)).toBeLessThan(0.5 * rmsTo(wide, centre));
    });

    it("decodes each latent to one finite row of the output space, ids and meta kept, deterministically", async () => {
      const z = await g.sample(20, { seed: 4 });
      z.meta = z.ids.map((id) => ({ from: id }));
      const x = await g.decode(z);
      expect(x.space).toEqual(g.outputSpace);
      expect(x.ids).toEqual(z.ids);
      expect(x.meta).toEqual(z.meta);
      expect(x.data.length).toBe(20 * g.outputSpace.dim);
      for (const v of x.data) expect(Number.isFinite(v)).toBe(true);
      expect(Array.from((await g.decode(z)).data)).toEqual(Array.from(x.data));
    });

    it("decodes its samples to where the data lie", async () => {
      const data = h.data();
      const centre = meanOf(data);
      const decoded = await g.decode(await g.sample(500, { seed: 5 }));
      const m = meanOf(decoded);
      let off = 0;
      for (let j = 0; j < m.length; j++) off += (m[j]! - centre[j]!) ** 2;
      // The mean of many samples sits near the data's mean, well inside the data's spread.
      expect(Math.sqrt(off)).toBeLessThan(0.25 * rmsTo(data, centre));
    });

    it.runIf(h.encode !== undefined)("decode(encode(x)) comes back nearer x than the data's spread", async () => {
      const data = h.data();
      const back = await g.decode(await h.encode!(g, data));
      const d = data.space.dim;
      let err = 0;
      for (let i = 0; i < data.data.length; i++) err += (back.data[i]! - data.data[i]!) ** 2;
      const rmse = Math.sqrt(err / data.ids.length);
      expect(rmse).toBeLessThan(0.5 * rmsTo(data, meanOf(data)));
      expect(back.data.length).toBe(data.ids.length * d);
    });

    it("refuses another space's vectors, NaN and bad counts with stable codes", async () => {
      const other = defineSpace({ ...g.latentSpace, id: `${g.latentSpace.id}/other`, producer: { name: "someone-else", version: "1" } });
      const k = g.latentSpace.dim;
      expect(await codeOf(g.decode({ space: other, ids: ["a"], data: new Float32Array(k) }))).toBe("E_SPACE_MISMATCH");
      const nan = new Float32Array(k);
      nan[0] = Number.NaN;
      expect(await codeOf(g.decode({ space: g.latentSpace, ids: ["a"], data: nan }))).toBe("E_NOT_FINITE");
      expect(await codeOf(g.sample(-1, { seed: 1 }))).toBe("E_PARAM");
      expect(await codeOf(g.sample(2.5, { seed: 1 }))).toBe("E_PARAM");
    });

    it("save → load decodes and samples alike", async () => {
      const loaded = await h.load(g.save());
      try {
        expect(loaded.latentSpace).toEqual(g.latentSpace);
        expect(loaded.outputSpace).toEqual(g.outputSpace);
        const z = await g.sample(10, { seed: 6 });
        expect(Array.from((await loaded.sample(10, { seed: 6 })).data)).toEqual(Array.from(z.data));
        expect(Array.from((await loaded.decode(z)).data)).toEqual(Array.from((await g.decode(z)).data));
      } finally {
        await loaded.dispose();
      }
    });

    it("stops on an aborted signal with E_CANCELLED", async () => {
      const ac = new AbortController();
      ac.abort();
      expect(await codeOf(g.sample(10, { seed: 1, signal: ac.signal }))).toBe("E_CANCELLED");
      const z = await g.sample(3, { seed: 1 });
      expect(await codeOf(g.decode(z, { signal: ac.signal }))).toBe("E_CANCELLED");
    });

    it("dispose is idempotent", async () => {
      const other = await h.create();
      await other.dispose();
      await other.dispose();
    });
  });
}
