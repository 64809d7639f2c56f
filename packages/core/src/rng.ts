import { hashParts } from "./hash.js";

/** A seeded pseudo-random generator (sfc32): same seed, same sequence, on every platform. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** An independent generator derived from this one's seed and a label. */
  fork(label: string): Rng;
  readonly seed: string;
}

/** Creates a generator from any string or number seed. */
export function createRng(seed: string | number): Rng {
  const s = String(seed);
  const h = hashParts("rng", s);
  let a = parseInt(h.slice(0, 8), 16) | 0;
  let b = parseInt(h.slice(8, 16), 16) | 0;
  let c = parseInt(h.slice(16, 24), 16) | 0;
  let d = parseInt(h.slice(24, 32), 16) | 0;
  const next = (): number => {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  let spare: number | undefined;
  return {
    seed: s,
    next,
    int: (n) => Math.floor(next() * n),
    normal() {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    fork: (label) => createRng(`${s}/${label}`),
  };
}

/**
 * The seed of step `stepId` in a run seeded `runSeed` (the pipeline's `seed:`, default "0"): what a
 * random step uses unless its `with: seed` says otherwise, and what `ctx.rng` starts from.
 */
export function stepSeed(runSeed: string, stepId: string): string {
  return `${runSeed}/${stepId}`;
}

/** A seed as a non-negative 31-bit integer, for libraries that take integer seeds only. */
export function seedInt(seed: string | number): number {
  return parseInt(hashParts("seed-int", String(seed)).slice(0, 8), 16) & 0x7fffffff;
}
