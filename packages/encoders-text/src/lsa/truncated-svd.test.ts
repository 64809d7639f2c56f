import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { mobyDickParagraphs } from "../test/corpora.js";
import { csrToDense, csrTranspose, type CsrMatrix } from "../tfidf/csr.js";
import { TfidfVectorizer } from "../tfidf/tfidf.js";
import { TruncatedSvd, totalColumnVariance } from "./truncated-svd.js";

// Moby-Dick chapters 1–3, one document per paragraph: a small real corpus an exact dense SVD can handle.
const paragraphs = [1, 2, 3].flatMap((c) => mobyDickParagraphs(c));

/** Exact SVD of X as a dense float64 matrix (ml-matrix): σ and Vᵀ rows, signs fixed as ours. */
function exactSvd(x: CsrMatrix): { s: number[]; vt: number[][] } {
  const m = new Matrix(x.rows, x.cols);
  for (let i = 0; i < x.rows; i++) for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) m.set(i, x.indices[p]!, x.data[p]!);
  const svd = new SingularValueDecomposition(m, { autoTranspose: true });
  const v = svd.rightSingularVectors;
  const vt = svd.diagonal.map((_, c) => {
    const row = v.getColumn(c);
    const big = row.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
    return big < 0 ? row.map((t) => -t) : row;
  });
  return { s: svd.diagonal, vt };
}

describe("TruncatedSvd", () => {
  const wide = new TfidfVectorizer().fitTransform(paragraphs); // documents < terms
  const narrow = new TfidfVectorizer({ maxFeatures: 40 }).fitTransform(paragraphs); // documents > terms

  for (const [name, x] of [
    ["documents < terms", wide],
    ["documents > terms", narrow],
  ] as const) {
    it(`matches an exact dense SVD on Moby-Dick paragraphs (${name})`, async () => {
      const k = 10;
      const exact = exactSvd(x);
      // Defaults (5 power iterations) are approximate, as scikit-learn's; more iterations and samples converge to the exact values.
      const quick = new TruncatedSvd({ components: k, seed: 3 });
      await quick.fit(x);
      const relErr = (s: Float64Array) => Math.max(...Array.from(s, (v, c) => Math.abs(v - exact.s[c]!) / exact.s[c]!));
      // Tf-idf spectra are flat (σ10/σ21 ≈ 1.1 in the wide case), so the tail converges slowly.
      for (let c = 0; c < 3; c++) expect(Math.abs(quick.state.singularValues[c]! / exact.s[c]! - 1)).toBeLessThan(1e-3);
      expect(relErr(quick.state.singularValues)).toBeLessThan(0.05);
      const svd = new TruncatedSvd({ components: k, seed: 3, powerIterations: 40, oversampling: 30 });
      const us = await svd.fitTransform(x);
      const { singularValues, components } = svd.state;
      expect(relErr(singularValues)).toBeLessThan(1e-10);
      // Components agree with the exact right singular vectors (same sign convention) where σ is well separated.
      for (let c = 0; c < 3; c++) {
        let dot = 0;
        for (let j = 0; j < x.cols; j++) dot += components[c * x.cols + j]! * exact.vt[c]![j]!;
        expect(dot).toBeGreaterThan(1 - 1e-6);
      }
      // U·Σ: its columns have norms σ and are orthogonal.
      for (let c = 0; c < k; c++) {
        let nn = 0;
        let cross = 0;
        for (let i = 0; i < x.rows; i++) {
          nn += us[i * k + c]! ** 2;
          if (c > 0) cross += us[i * k + c]! * us[i * k + c - 1]!;
        }
        expect(Math.sqrt(nn)).toBeCloseTo(singularValues[c]!, 8);
        expect(Math.abs(cross)).toBeLessThan(1e-8);
      }
      // transform(X) = X·Vᵀ reproduces U·Σ on the fit matrix.
      const t = svd.transform(x);
      for (let i = 0; i < us.length; i++) expect(t[i]).toBeCloseTo(us[i]!, 6);
      // Explained variance ratio, from its definition on the dense matrix.
      const dense = csrToDense(x);
      let total = 0;
      for (let j = 0; j < x.cols; j++) {
        let s = 0;
        let s2 = 0;
        for (let i = 0; i < x.rows; i++) {
          s += dense[i * x.cols + j]!;
          s2 += dense[i * x.cols + j]! ** 2;
        }
        total += s2 / x.rows - (s / x.rows) ** 2;
      }
      expect(totalColumnVariance(x)).toBeCloseTo(total, 5);
      for (let c = 0; c < k; c++) {
        let mean = 0;
        for (let i = 0; i < x.rows; i++) mean += us[i * k + c]! / x.rows;
        let v = 0;
        for (let i = 0; i < x.rows; i++) v += (us[i * k + c]! - mean) ** 2 / x.rows;
        expect(svd.state.explainedVarianceRatio[c]).toBeCloseTo(v / total, 6);
      }
    });
  }

  it("keeps every direction when components = min(documents, terms): Σσ² = ‖X‖²", async () => {
    const k = narrow.cols;
    const svd = new TruncatedSvd({ components: k });
    await svd.fit(narrow);
    let fro = 0;
    for (const v of narrow.data) fro += v * v;
    const sum = svd.state.singularValues.reduce((a, s) => a + s * s, 0);
    expect(sum / fro).toBeCloseTo(1, 9);
  });

  it("is deterministic for a seed, and seeds agree on the leading values", async () => {
    const a = await new TruncatedSvd({ components: 20, seed: 1 }).fitTransform(wide);
    const b = await new TruncatedSvd({ components: 20, seed: 1 }).fitTransform(wide);
    expect(Array.from(b)).toEqual(Array.from(a));
    const s1 = new TruncatedSvd({ components: 20, seed: 1 });
    const s2 = new TruncatedSvd({ components: 20, seed: 2 });
    await s1.fit(wide);
    await s2.fit(wide);
    for (let c = 0; c < 5; c++) expect(Math.abs(s2.state.singularValues[c]! / s1.state.singularValues[c]! - 1)).toBeLessThan(1e-4);
  });

  it("csrTranspose is the transpose", () => {
    const t = csrTranspose(narrow);
    const a = csrToDense(narrow);
    const b = csrToDense(t);
    for (let i = 0; i < narrow.rows; i++) for (let j = 0; j < narrow.cols; j++) expect(b[j * narrow.rows + i]).toBe(a[i * narrow.cols + j]);
  });

  it("refuses bad options and too many components; stops on an aborted signal", async () => {
    expect(() => new TruncatedSvd({ components: 0 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    expect(() => new TruncatedSvd({ powerIterations: -1 })).toThrow(expect.objectContaining({ code: "E_PARAM" }));
    await expect(new TruncatedSvd({ components: 41 }).fit(narrow)).rejects.toMatchObject({ code: "E_TOO_FEW_POINTS" });
    expect(() => new TruncatedSvd().transform(narrow)).toThrow(expect.objectContaining({ code: "E_NOT_FITTED" }));
    const svd = new TruncatedSvd({ components: 5 });
    await svd.fit(narrow);
    expect(() => svd.transform(wide)).toThrow(expect.objectContaining({ code: "E_DIM_MISMATCH" }));
    const ac = new AbortController();
    ac.abort();
    await expect(new TruncatedSvd({ components: 5 }).fit(narrow, { signal: ac.signal })).rejects.toMatchObject({ code: "E_CANCELLED" });
  });
});
