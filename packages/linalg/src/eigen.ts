import { EigenvalueDecomposition, Matrix } from "ml-matrix";

/**
 * Eigenpairs of a symmetric n×n matrix (row-major; symmetrised as (A + Aᵀ)/2 against rounding), largest
 * eigenvalue first: `values` (n) and `vectors` with eigenvector j in column j of an n×n row-major matrix.
 * ml-matrix's tridiagonal QL (JAMA); ties keep their index order, so results are deterministic.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, (a[i * n + j]! + a[j * n + i]!) / 2);
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = vals.map((_, i) => i).sort((x, y) => vals[y]! - vals[x]! || x - y);
  const values = Float64Array.from(order, (i) => vals[i]!);
  const vectors = new Float64Array(n * n);
  for (let dst = 0; dst < n; dst++) {
    const src = order[dst]!;
    for (let r = 0; r < n; r++) vectors[r * n + dst] = vecs.get(r, src);
  }
  return { values, vectors };
}
