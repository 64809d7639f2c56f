import { createRng, defineSpace, type Aligner, type ModelArtifact, type RowMeta, type Space, type VectorSet } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { codeOf } from "@latentflow/core/testing";
import { orthonormalizeRows } from "@latentflow/linalg";

export interface AlignerHarness {
  /** Names the describe block. */
  name: string;
  /** A new, unfitted aligner with this seed. */
  create(seed: number): Aligner;
  /** The aligner saved in `artifact`. */
  load(artifact: ModelArtifact): Promise<Aligner>;
  /** Dimension of side b; aligners that need equal dimensions (Procrustes) take a's. Default 16. */
  dimB?: number;
  /** Fewest pairs it fits on; the suite expects E_TOO_FEW_PAIRS below. Default 2. */
  minPairs?: number;
  /** Pairs the suite fits on. Default 300. */
  pairs?: number;
  /** Share of held-out a-rows whose nearest projected b-row is their own pair. Default 0.9. */
  minRecallAt1?: number;
}

const DIM_A = 20;
const LATENT = 6;

function space(id: string, dim: number): Space {
  return defineSpace({ id, dim, metric: "l2", normalized: false, modality: id.includes("image") ? "image" : "text", producer: { name: `contract-tests/${id}`, version: "1" } });
}

/** `rows` random orthonormal rows of length `cols`: an isometric embedding. */
function orthonormalRows(rows: number, cols: number, rng: ReturnType<typeof createRng>): Float64Array {
  const m = Float64Array.from({ length: rows * cols }, () => rng.normal());
  orthonormalizeRows(m, rows, cols);
  return m;
}

/**
 * Two views of the same things: a shared latent z (5 clusters in 6-D) embedded isometrically in each space
 * by a random map, with independent noise — the two spaces agree up to a rotation on z's subspace, which
 * every kind of aligner (relative, linear, orthogonal, CCA, contrastive) can recover. Pair i is (a row
 * "p-i", b row "p-i").
 */
function twoViews(n: number, dimB: number, seed = "aligner-contract"): { a: VectorSet; b: VectorSet; spaceA: Space; spaceB: Space } {
  const rng = createRng(seed);
  const centres = Array.from({ length: 5 }, () => Array.from({ length: LATENT }, () => rng.normal() * 3));
  const mapA = orthonormalRows(LATENT, DIM_A, rng);
  const mapB = orthonormalRows(LATENT, dimB, rng);
  const spaceA = space("contract/image-view", DIM_A);
  const spaceB = space("contract/text-view", dimB);
  const a = new Float32Array(n * DIM_A);
  const b = new Float32Array(n * dimB);
  const meta: RowMeta[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 5;
    const z = centres[c]!.map((v) => v + rng.normal());
    for (let j = 0; j < DIM_A; j++) {
      let s = 0;
      for (let l = 0; l < LATENT; l++) s += z[l]! * mapA[l * DIM_A + j]!;
      a[i * DIM_A + j] = s + 0.05 * rng.normal();
    }
    for (let j = 0; j < dimB; j++) {
      let s = 0;
      for (let l = 0; l < LATENT; l++) s += z[l]! * mapB[l * dimB + j]!;
      b[i * dimB + j] = s + 0.05 * rng.normal();
    }
    meta.push({ label: c });
  }
  const ids = Array.from({ length: n }, (_, i) => `p-${i}`);
  return { a: { space: spaceA, ids, data: a, meta }, b: { space: spaceB, ids: ids.slice(), data: b, meta: meta.slice() }, spaceA, spaceB };
}

function rows(vs: VectorSet, from: number, to: number): VectorSet {
  const d = vs.space.dim;
  return { space: vs.space, ids: vs.ids.slice(from, to), data: vs.data.slice(from * d, to * d), ...(vs.meta ? { meta: vs.meta.slice(from, to) } : {}) };
}

/** b's rows in reverse order, with two rows no a-row pairs with: pairing must go by id, not position. */
function shuffledB(b: VectorSet): VectorSet {
  const d = b.space.dim;
  const n = b.ids.length;
  const data = new Float32Array((n + 2) * d);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    data.set(b.data.subarray((n - 1 - i) * d, (n - i) * d), i * d);
    ids.push(b.ids[n - 1 - i]!);
  }
  data.fill(7, n * d);
  ids.push("unpaired-1", "unpaired-2");
  return { space: b.space, ids, data };
}

function recallAt1(pa: VectorSet, pb: VectorSet): number {
  const d = pa.space.dim;
  let hits = 0;
  for (let i = 0; i < pa.ids.length; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < pb.ids.length; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (pa.data[i * d + k]! - pb.data[j * d + k]!) ** 2;
      if (s < bestD) {
        bestD = s;
        best = j;
      }
    }
    if (pb.ids[best] === pa.ids[i]) hits++;
  }
  return hits / pa.ids.length;
}

/**
 * The aligner contract: before fit nothing is known and project refuses (E_NOT_FITTED); fit pairs rows by
 * id (order and unpaired rows do not matter) and names a joint space (modality `joint`, producer naming both
 * source spaces); projections of either side land in it with ids and meta kept, and held-out pairs find each
 * other (recall@1); a third space is refused (E_SPACE_MISMATCH), as are NaN (E_NOT_FINITE) and too few pairs
 * (E_TOO_FEW_PAIRS); the same seed fits the same bits; save → load projects alike; cancellation; dispose.
 */
export function describeAlignerContract(h: AlignerHarness): void {
  const n = h.pairs ?? 300;
  const dimB = h.dimB ?? 16;
  const held = 60;
  describe(`aligner contract: ${h.name}`, () => {
    const { a, b, spaceA, spaceB } = twoViews(n + held, dimB);
    const fitA = rows(a, 0, n);
    const fitB = shuffledB(rows(b, 0, n));
    const testA = rows(a, n, n + held);
    const testB = rows(b, n, n + held);

    it("refuses to project before fit", async () => {
      const al = h.create(1);
      expect(al.sourceSpaces).toBeUndefined();
      expect(al.jointSpace).toBeUndefined();
      expect(await codeOf(al.project(testA))).toBe("E_NOT_FITTED");
      expect(() => al.save()).toThrow(expect.objectContaining({ code: "E_NOT_FITTED" }));
    });

    it("fits on id-paired rows into a joint space where held-out pairs find each other", async () => {
      const al = await h.create(1).fit(fitA, fitB);
      expect(al.sourceSpaces).toEqual([spaceA, spaceB]);
      const joint = al.jointSpace!;
      expect(joint.modality).toBe("joint");
      const producer = JSON.stringify(joint.producer);
      expect(producer).toContain(spaceA.id);
      expect(producer).toContain(spaceB.id);
      const pa = await al.project(testA);
      const pb = await al.project(testB);
      for (const p of [pa, pb]) {
        expect(p.space).toEqual(joint);
        expect(p.data.length).toBe(held * joint.dim);
        for (const v of p.data) expect(Number.isFinite(v)).toBe(true);
      }
      expect(pa.ids).toEqual(testA.ids);
      expect(pb.meta).toEqual(testB.meta);
      expect(recallAt1(pa, pb)).toBeGreaterThanOrEqual(h.minRecallAt1 ?? 0.9);
      expect(recallAt1(pb, pa)).toBeGreaterThanOrEqual(h.minRecallAt1 ?? 0.9);
      await al.dispose();
    });

    it("refuses a third space, NaN and too few pairs with stable codes", async () => {
      const al = await h.create(1).fit(fitA, fitB);
      const third = { ...rows(a, 0, 5), space: space("contract/third-model", DIM_A) };
      expect(await codeOf(al.project(third))).toBe("E_SPACE_MISMATCH");
      const nan = rows(a, 0, n);
      nan.data[17] = Number.NaN;
      expect(await codeOf(h.create(1).fit(nan, fitB))).toBe("E_NOT_FINITE");
      const few = Math.max(1, (h.minPairs ?? 2) - 1);
      expect(await codeOf(h.create(1).fit(rows(a, 0, few), rows(b, 0, few)))).toBe("E_TOO_FEW_PAIRS");
      const renamed = { ...fitB, ids: fitB.ids.map((id) => `other-${id}`) };
      expect(await codeOf(h.create(1).fit(fitA, renamed))).toBe("E_TOO_FEW_PAIRS");
    });

    it("fits the same bits with the same seed, and save → load projects alike", async () => {
      const x = await h.create(5).fit(fitA, fitB);
      const y = await h.create(5).fit(fitA, fitB);
      expect(Array.from((await y.project(testA)).data)).toEqual(Array.from((await x.project(testA)).data));
      const loaded = await h.load(x.save());
      expect(loaded.jointSpace).toEqual(x.jointSpace);
      expect(loaded.sourceSpaces).toEqual(x.sourceSpaces);
      expect(Array.from((await loaded.project(testB)).data)).toEqual(Array.from((await x.project(testB)).data));
      const again = loaded.save();
      for (const k of Object.keys(again.files)) expect(Buffer.from(again.files[k]!).equals(Buffer.from(x.save().files[k]!))).toBe(true);
    });

    it("stops on an aborted signal with E_CANCELLED, and dispose is idempotent", async () => {
      const ac = new AbortController();
      ac.abort();
      expect(await codeOf(h.create(1).fit(fitA, fitB, { signal: ac.signal }))).toBe("E_CANCELLED");
      const al = await h.create(1).fit(fitA, fitB);
      expect(await codeOf(al.project(testA, { signal: ac.signal }))).toBe("E_CANCELLED");
      await al.dispose();
      await al.dispose();
    });
  });
}
