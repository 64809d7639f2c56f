import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "./rng.js";

function draw(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.next());
}

describe("createRng", () => {
  it("gives the same sequence for the same seed, as string or number", () => {
    expect(draw(createRng(42), 1000)).toEqual(draw(createRng(42), 1000));
    expect(draw(createRng(42), 10)).toEqual(draw(createRng("42"), 10));
    expect(createRng(42).seed).toBe("42");
  });

  it("gives different sequences for different seeds, even neighbouring ones", () => {
    const a = draw(createRng("run-1"), 100);
    const b = draw(createRng("run-2"), 100);
    expect(a.filter((x, i) => x === b[i]).length).toBe(0);
    expect(draw(createRng(0), 5)).not.toEqual(draw(createRng(1), 5));
  });

  it("next() stays in [0, 1) and is spread evenly over ten bins", () => {
    const rng = createRng("uniform");
    const bins = new Array<number>(10).fill(0);
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      if (!(x >= 0 && x < 1)) outside++;
      else bins[Math.floor(x * 10)]!++;
    }
    expect(outside).toBe(0);
    // Each bin holds 10 000 ± 95 (1 sd); 600 is over 6 sd.
    for (const c of bins) expect(Math.abs(c - n / 10)).toBeLessThan(600);
  });

  it("fork(label) is reproducible, differs by label, and does not move or follow its parent", () => {
    const parent = createRng("p");
    const before = draw(createRng("p"), 20);
    const a1 = parent.fork("a");
    const a2 = createRng("p").fork("a");
    const b = parent.fork("b");
    expect(draw(a1, 50)).toEqual(draw(a2, 50));
    expect(draw(parent.fork("a"), 50)).not.toEqual(draw(b, 50));
    // Forking (and drawing from the fork) leaves the parent's sequence as it was.
    expect(draw(parent, 20)).toEqual(before);
    // A fork made after the parent drew is the same fork: it depends on the seed, not on the parent's position.
    expect(draw(parent.fork("a"), 50)).toEqual(draw(createRng("p").fork("a"), 50));
    expect(draw(parent.fork("a"), 20)).not.toEqual(before);
  });

  it.each([1, 2, 7, 10, 1000])("int(%i) returns integers in [0, n) and reaches both ends", (n) => {
    const rng = createRng(`int-${n}`);
    const seen = new Set<number>();
    const bad: number[] = [];
    for (let i = 0; i < Math.max(200, n * 20); i++) {
      const v = rng.int(n);
      if (!Number.isInteger(v) || v < 0 || v >= n) bad.push(v);
      seen.add(v);
    }
    expect(bad).toEqual([]);
    expect(seen.has(0)).toBe(true);
    expect(seen.has(n - 1)).toBe(true);
    if (n <= 10) expect(seen.size).toBe(n);
  });

  it("normal() has mean ≈ 0 and variance ≈ 1 over 100k draws, all finite", () => {
    const rng = createRng("normal");
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    let beyond2 = 0;
    let notFinite = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.normal();
      if (!Number.isFinite(x)) notFinite++;
      sum += x;
      sumSq += x * x;
      if (Math.abs(x) > 2) beyond2++;
    }
    expect(notFinite).toBe(0);
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // sd of the mean is 1/√n ≈ 0.0032 and of the variance √(2/n) ≈ 0.0045; allow about 5 sd.
    expect(Math.abs(mean)).toBeLessThan(0.016);
    expect(Math.abs(variance - 1)).toBeLessThan(0.023);
    // P(|x| > 2) = 4.55 %: checks the shape, not just the first two moments.
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.004);
  });

  it("normal() is reproducible for a seed (both values of each Box–Muller pair)", () => {
    const a = createRng(7);
    const b = createRng(7);
    for (let i = 0; i < 11; i++) expect(a.normal()).toBe(b.normal());
  });
});
