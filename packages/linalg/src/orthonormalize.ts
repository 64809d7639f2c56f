/**
 * Orthonormalises the `rows` rows (each `cols` long) of a row-major matrix in place by modified Gram–Schmidt,
 * `passes` times (two passes — "twice is enough", Giraud et al. 2005 — keep orthogonality to machine
 * precision). A row (numerically) in the span of the rows before it carries no new direction and becomes
 * zero.
 */
export function orthonormalizeRows(a: Float64Array, rows: number, cols: number, passes = 2): void {
  for (let pass = 0; pass < passes; pass++) {
    for (let j = 0; j < rows; j++) {
      const cj = j * cols;
      const before = pass === 0 ? rowNorm(a, cj, cols) : 1;
      for (let i = 0; i < j; i++) {
        const ci = i * cols;
        let dot = 0;
        for (let r = 0; r < cols; r++) dot += a[ci + r]! * a[cj + r]!;
        if (dot !== 0) for (let r = 0; r < cols; r++) a[cj + r]! -= dot * a[ci + r]!;
      }
      const nn = rowNorm(a, cj, cols);
      const inv = nn > 0 && nn > 1e-12 * Math.max(before, 1e-300) ? 1 / nn : 0;
      for (let r = 0; r < cols; r++) a[cj + r]! *= inv;
    }
  }
}

/** Orthonormalises the `cols` columns of a row-major `rows`×`cols` matrix in place (see orthonormalizeRows). */
export function orthonormalizeColumns(a: Float64Array, rows: number, cols: number, passes = 2): void {
  // Columns contiguous while we work on them.
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  orthonormalizeRows(t, cols, rows, passes);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * cols + c] = t[c * rows + r]!;
}

function rowNorm(a: Float64Array, off: number, n: number): number {
  let s = 0;
  for (let r = 0; r < n; r++) s += a[off + r]! ** 2;
  return Math.sqrt(s);
}
