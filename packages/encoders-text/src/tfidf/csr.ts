import { LatentflowError } from "@latentflow/core";

/**
 * A sparse matrix in compressed sparse row form, laid out as scipy.sparse.csr_matrix: the non-zeros of
 * row i are `data[indptr[i] .. indptr[i+1])` at columns `indices[...]` (ascending within a row).
 */
export interface CsrMatrix {
  rows: number;
  cols: number;
  /** rows + 1 offsets into indices/data. */
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
}

/** Largest dense n×cols float32 matrix `csrToDense` will allocate (2^28 values = 1 GiB). */
export const DENSE_MAX_VALUES = 2 ** 28;

/** The non-zeros of row `i` as [indices, data] views. */
export function csrRow(m: CsrMatrix, i: number): [Int32Array, Float64Array] {
  const a = m.indptr[i]!;
  const b = m.indptr[i + 1]!;
  return [m.indices.subarray(a, b), m.data.subarray(a, b)];
}

/** Dense row-major float32 copy of a CSR matrix; refuses sizes over {@link DENSE_MAX_VALUES}. */
export function csrToDense(m: CsrMatrix): Float32Array {
  const size = m.rows * m.cols;
  if (size > DENSE_MAX_VALUES) {
    throw new LatentflowError("E_TOO_LARGE", `dense copy of a sparse ${m.rows}×${m.cols} matrix: expected at most ${DENSE_MAX_VALUES} values, found ${size}`, {
      hint: "keep the matrix sparse, lower maxFeatures, or reduce it with LSA (encoders-text/lsa)",
      data: { expected: `≤ ${DENSE_MAX_VALUES} values`, found: size, where: "csrToDense" },
    });
  }
  const out = new Float32Array(size);
  for (let i = 0; i < m.rows; i++) {
    const off = i * m.cols;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) out[off + m.indices[p]!] = m.data[p]!;
  }
  return out;
}

/** X·M for X sparse n×d and M dense d×l row-major: n×l row-major float64. */
export function csrTimesDense(x: CsrMatrix, m: Float64Array, l: number): Float64Array {
  const out = new Float64Array(x.rows * l);
  for (let i = 0; i < x.rows; i++) {
    const o = i * l;
    for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) {
      const v = x.data[p]!;
      const r = x.indices[p]! * l;
      for (let c = 0; c < l; c++) out[o + c]! += v * m[r + c]!;
    }
  }
  return out;
}

/** Xᵀ·N for X sparse n×d and N dense n×l row-major: d×l row-major float64 (X is never transposed). */
export function csrTransposeTimesDense(x: CsrMatrix, nm: Float64Array, l: number): Float64Array {
  const out = new Float64Array(x.cols * l);
  for (let i = 0; i < x.rows; i++) {
    const r = i * l;
    for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) {
      const v = x.data[p]!;
      const o = x.indices[p]! * l;
      for (let c = 0; c < l; c++) out[o + c]! += v * nm[r + c]!;
    }
  }
  return out;
}

/** Throws E_SHAPE unless `m` is a well-formed CSR matrix (offsets, column range, finite values). */
export function assertCsr(m: CsrMatrix, where: string): void {
  const bad = (what: string, found: unknown): never => {
    throw new LatentflowError("E_SHAPE", `${where}: malformed CSR matrix: expected ${what}, found ${String(found)}`, { data: { expected: what, found, where } });
  };
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) bad("non-negative integer rows and cols", `${m.rows}×${m.cols}`);
  if (m.indptr.length !== m.rows + 1) bad(`indptr of length rows + 1 = ${m.rows + 1}`, m.indptr.length);
  if (m.indptr[0] !== 0) bad("indptr[0] = 0", m.indptr[0]);
  const nnz = m.indptr[m.rows]!;
  if (m.indices.length !== nnz || m.data.length !== nnz) bad(`indices and data of length indptr[rows] = ${nnz}`, `${m.indices.length} and ${m.data.length}`);
  for (let i = 0; i < m.rows; i++) if (m.indptr[i + 1]! < m.indptr[i]!) bad("non-decreasing indptr", `indptr[${i + 1}] < indptr[${i}]`);
  for (let p = 0; p < nnz; p++) {
    const j = m.indices[p]!;
    if (j < 0 || j >= m.cols) bad(`column indices in [0, ${m.cols})`, j);
    if (!Number.isFinite(m.data[p]!)) bad("finite values", m.data[p]);
  }
}

/** The transpose of a CSR matrix, as CSR (equivalently: X in compressed sparse column form). */
export function csrTranspose(x: CsrMatrix): CsrMatrix {
  const nnz = x.indptr[x.rows]!;
  const indptr = new Int32Array(x.cols + 1);
  for (let p = 0; p < nnz; p++) indptr[x.indices[p]! + 1]!++;
  for (let j = 0; j < x.cols; j++) indptr[j + 1]! += indptr[j]!;
  const next = indptr.slice(0, x.cols);
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  // Rows are visited in order, so the row indices of each column come out ascending.
  for (let i = 0; i < x.rows; i++) {
    for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) {
      const q = next[x.indices[p]!]!++;
      indices[q] = i;
      data[q] = x.data[p]!;
    }
  }
  return { rows: x.cols, cols: x.rows, indptr, indices, data };
}

/**
 * CᵀC·Y for C sparse r×m and Y dense m×l row-major, one row of C at a time: w = c_iᵀY, then
 * out += c_i·w. Only Y and the m×l result are touched (no r×l intermediate), which keeps the work
 * in cache when m is the small side.
 */
export function gramTimesDense(c: CsrMatrix, y: Float64Array, l: number): Float64Array {
  const out = new Float64Array(c.cols * l);
  const w = new Float64Array(l);
  const { indptr, indices, data } = c;
  // Unrolled by four: V8 does not vectorise, and this is ~1.4× faster than the plain loops.
  const l4 = l & ~3;
  for (let i = 0; i < c.rows; i++) {
    const a = indptr[i]!;
    const b = indptr[i + 1]!;
    if (a === b) continue;
    w.fill(0);
    for (let p = a; p < b; p++) {
      const v = data[p]!;
      const r = indices[p]! * l;
      let t = 0;
      for (; t < l4; t += 4) {
        w[t]! += v * y[r + t]!;
        w[t + 1]! += v * y[r + t + 1]!;
        w[t + 2]! += v * y[r + t + 2]!;
        w[t + 3]! += v * y[r + t + 3]!;
      }
      for (; t < l; t++) w[t]! += v * y[r + t]!;
    }
    for (let p = a; p < b; p++) {
      const v = data[p]!;
      const r = indices[p]! * l;
      let t = 0;
      for (; t < l4; t += 4) {
        out[r + t]! += v * w[t]!;
        out[r + t + 1]! += v * w[t + 1]!;
        out[r + t + 2]! += v * w[t + 2]!;
        out[r + t + 3]! += v * w[t + 3]!;
      }
      for (; t < l; t++) out[r + t]! += v * w[t]!;
    }
  }
  return out;
}
