import { describe, expect, it } from "vitest";
import { orthonormalizeColumns, orthonormalizeRows, subspaceIteration, symmetricEigen } from "./index.js";

/** A seeded stream of numbers in [-1, 1) (xorshift), so the tests need nothing else. */
function numbers(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

describe("orthonormalize", () => {
  it("gives orthonormal columns spanning the input's columns", () => {
    const next = numbers(7);
    const rows = 50;
    const cols = 8;
    const a = Float64Array.from({ length: rows * cols }, next);
    const q = a.slice();
    orthonormalizeColumns(q, rows, cols);
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += q[r * cols + i]! * q[r * cols + j]!;
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
    // Column 0 keeps its direction: Gram–Schmidt only normalises the first column.
    let n0 = 0;
    for (let r = 0; r < rows; r++) n0 += a[r * cols]! ** 2;
    for (let r = 0; r < rows; r++) expect(q[r * cols]!).toBeCloseTo(a[r * cols]! / Math.sqrt(n0), 12);
  });

  it("zeroes a row that lies in the span of the rows before it", () => {
    const a = Float64Array.from([1, 0, 0, 0, 1, 0, 2, 3, 0]);
    orthonormalizeRows(a, 3, 3);
    expect(Array.from(a.subarray(6))).toEqual([0, 0, 0]);
    expect(Array.from(a.subarray(0, 6))).toEqual([1, 0, 0, 0, 1, 0]);
  });
});

describe("symmetricEigen", () => {
  it("returns eigenpairs largest first with A v = λ v, and orthonormal vectors", () => {
    const next = numbers(11);
    const n = 12;
    const b = Float64Array.from({ length: n * n }, next);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j]! += b[k * n + i]! * b[k * n + j]!;
    const { values, vectors } = symmetricEigen(a, n);
    for (let j = 1; j < n; j++) expect(values[j]!).toBeLessThanOrEqual(values[j - 1]!);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += a[i * n + k]! * vectors[k * n + j]!;
        expect(av).toBeCloseTo(values[j]! * vectors[i * n + j]!, 9);
      }
    }
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i]!;
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 9);
  });
});

describe("subspaceIteration", () => {
  it("finds the leading eigenpairs of an operator given only as products", async () => {
    const next = numbers(5);
    const n = 40;
    // C = Q diag(λ) Qᵀ with a known, well-separated spectrum.
    const q = Float64Array.from({ length: n * n }, next);
    orthonormalizeColumns(q, n, n);
    const lambda = Array.from({ length: n }, (_, i) => 100 / (i + 1) ** 2);
    const c = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) c[i * n + j]! += q[i * n + k]! * lambda[k]! * q[j * n + k]!;
    let products = 0;
    const apply = (z: Float64Array, cols: number) => {
      products++;
      const out = new Float64Array(n * cols);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let b = 0; b < cols; b++) out[i * cols + b]! += c[i * n + k]! * z[k * cols + b]!;
      return out;
    };
    const gauss = numbers(9);
    const r = await subspaceIteration(apply, n, 8, { normal: () => gauss() + gauss() + gauss(), iterations: 6 });
    expect(products).toBe(8);
    for (let j = 0; j < 4; j++) expect(r.values[j]!).toBeCloseTo(lambda[j]!, 6);
    // Y·vectors[:, 0] is ± the first eigenvector.
    let dot = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let a = 0; a < 8; a++) v += r.y[i * 8 + a]! * r.vectors[a * 8]!;
      dot += v * q[i * n]!;
    }
    expect(Math.abs(dot)).toBeCloseTo(1, 8);
  });
});
