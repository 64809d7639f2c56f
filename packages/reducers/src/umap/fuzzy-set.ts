// The fuzzy simplicial set of umap-learn 0.5: per-point smooth kNN distances (rho, sigma), membership
// strengths exp(-(d - rho)/sigma), and the fuzzy union W + Wᵀ − W∘Wᵀ, all on flat typed arrays.

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/**
 * umap-learn's `smooth_knn_dist`: rho is the distance to the `localConnectivity`-th nonzero neighbour,
 * sigma is found by binary search so that Σ_j exp(-(d_j - rho)/sigma) = log2(k) over neighbours 1..k-1.
 * `distances` is row-major n×k (true distances, not squared).
 */
export function smoothKnnDist(distances: Float64Array, k: number, localConnectivity = 1, nIter = 64): { sigma: Float64Array; rho: Float64Array } {
  const n = distances.length / k;
  const target = Math.log2(k);
  const rho = new Float64Array(n);
  const sigma = new Float64Array(n);
  let meanAll = 0;
  for (let i = 0; i < distances.length; i++) meanAll += distances[i]!;
  meanAll /= distances.length;
  const index = Math.floor(localConnectivity);
  const interpolation = localConnectivity - index;
  const nz = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let nNz = 0;
    let meanI = 0;
    for (let j = 0; j < k; j++) {
      const d = distances[o + j]!;
      meanI += d;
      if (d > 0) nz[nNz++] = d;
    }
    meanI /= k;
    let r = 0;
    if (nNz >= localConnectivity) {
      if (index > 0) {
        r = nz[index - 1]!;
        if (interpolation > SMOOTH_K_TOLERANCE) r += interpolation * (nz[index]! - nz[index - 1]!);
      } else {
        r = interpolation * nz[0]!;
      }
    } else if (nNz > 0) {
      r = 0;
      for (let j = 0; j < nNz; j++) if (nz[j]! > r) r = nz[j]!;
    }
    rho[i] = r;
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    for (let it = 0; it < nIter; it++) {
      let psum = 0;
      for (let j = 1; j < k; j++) {
        const d = distances[o + j]! - r;
        psum += d > 0 ? Math.exp(-(d / mid)) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    const floor = MIN_K_DIST_SCALE * (r > 0 ? meanI : meanAll);
    sigma[i] = Math.max(mid, floor);
  }
  return { sigma, rho };
}

/**
 * umap-learn's `compute_membership_strengths`: row-major n×k weights of the directed kNN graph.
 * Unless `bipartite`, a point's link to itself gets 0.
 */
export function membershipStrengths(indices: Int32Array, distances: Float64Array, k: number, sigma: Float64Array, rho: Float64Array, bipartite = false): Float32Array {
  const n = indices.length / k;
  const w = new Float32Array(indices.length);
  for (let i = 0; i < n; i++) {
    const r = rho[i]!, s = sigma[i]!;
    for (let j = 0; j < k; j++) {
      const e = i * k + j;
      const nb = indices[e]!;
      if (nb < 0) continue;
      if (!bipartite && nb === i) w[e] = 0;
      else if (distances[e]! - r <= 0 || s === 0) w[e] = 1;
      else w[e] = Math.exp(-((distances[e]! - r) / s));
    }
  }
  return w;
}

/** A symmetric sparse matrix in CSR form. */
export interface Csr {
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

/**
 * Fuzzy union of the directed kNN graph with its transpose: w_ij + w_ji − w_ij·w_ji, zeros dropped,
 * columns sorted within each row (the order of scipy's CSR after `eliminate_zeros`).
 */
export function fuzzyUnion(indices: Int32Array, weights: Float32Array, n: number, k: number): Csr {
  // Rows of W sorted by column, then Wᵀ by counting sort; both are merged row by row.
  const rowCol = new Int32Array(n * k);
  const rowVal = new Float32Array(n * k);
  const order = new Int32Array(k);
  const tmpCol = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    for (let j = 0; j < k; j++) {
      order[j] = j;
      tmpCol[j] = indices[o + j]!;
    }
    // Insertion sort: k is small.
    for (let a = 1; a < k; a++) {
      const v = order[a]!;
      let b = a - 1;
      while (b >= 0 && tmpCol[order[b]!]! > tmpCol[v]!) {
        order[b + 1] = order[b]!;
        b--;
      }
      order[b + 1] = v;
    }
    for (let j = 0; j < k; j++) {
      rowCol[o + j] = tmpCol[order[j]!]!;
      rowVal[o + j] = weights[o + order[j]!]!;
    }
  }
  const tCount = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) if (rowCol[e]! >= 0) tCount[rowCol[e]! + 1]!++;
  for (let i = 0; i < n; i++) tCount[i + 1] = tCount[i + 1]! + tCount[i]!;
  const tCol = new Int32Array(tCount[n]!);
  const tVal = new Float32Array(tCount[n]!);
  const fill = tCount.slice(0, n);
  // Rows visited in order, so each transposed row's columns come out sorted.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const c = rowCol[i * k + j]!;
      if (c < 0) continue;
      const p = fill[c]!++;
      tCol[p] = i;
      tVal[p] = rowVal[i * k + j]!;
    }
  }
  const indptr = new Int32Array(n + 1);
  const outCol = new Int32Array(n * k + tCol.length);
  const outVal = new Float32Array(n * k + tCol.length);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    let a = i * k;
    const aEnd = a + k;
    let b = tCount[i]!;
    const bEnd = tCount[i + 1]!;
    while (a < aEnd && rowCol[a]! < 0) a++;
    while (a < aEnd || b < bEnd) {
      let col: number, x = 0, y = 0;
      const ca = a < aEnd ? rowCol[a]! : 0x7fffffff;
      const cb = b < bEnd ? tCol[b]! : 0x7fffffff;
      if (ca === cb) {
        col = ca;
        x = rowVal[a++]!;
        // Duplicate neighbours in one row (possible with approximate kNN) are summed, as scipy does.
        while (a < aEnd && rowCol[a] === col) x += rowVal[a++]!;
        y = tVal[b++]!;
        while (b < bEnd && tCol[b] === col) y += tVal[b++]!;
      } else if (ca < cb) {
        col = ca;
        x = rowVal[a++]!;
        while (a < aEnd && rowCol[a] === col) x += rowVal[a++]!;
      } else {
        col = cb;
        y = tVal[b++]!;
        while (b < bEnd && tCol[b] === col) y += tVal[b++]!;
      }
      const v = x + y - x * y;
      if (v !== 0) {
        outCol[nnz] = col;
        outVal[nnz] = v;
        nnz++;
      }
    }
    indptr[i + 1] = nnz;
  }
  return { n, indptr, indices: outCol.slice(0, nnz), data: outVal.slice(0, nnz) };
}
