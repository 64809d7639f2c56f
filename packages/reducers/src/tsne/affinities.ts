// Input-space affinities of t-SNE: per-point Gaussian bandwidths found by binary search on the entropy
// (scikit-learn's _binary_search_perplexity) over each point's nearest neighbours, then P = (P + Pᵀ) / sum.

/** A sparse symmetric matrix in compressed rows: columns of row i are cols[rows[i]..rows[i+1]). */
export interface SparseP {
  n: number;
  rows: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

const PERPLEXITY_TOLERANCE = 1e-5;
const MAX_STEPS = 100;

/**
 * Conditional probabilities p(j|i) over each row's k neighbours (`dist` holds their distances, squared
 * for Euclidean as in scikit-learn), rows summing to one, each with entropy log(perplexity).
 * Distances are shifted by the row minimum first, which leaves P unchanged but keeps exp() from
 * underflowing to zero on large raw distances.
 */
export function conditionalP(dist: Float64Array, m: number, k: number, perplexity: number): Float64Array {
  const P = new Float64Array(m * k);
  const desired = Math.log(perplexity);
  const d = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    const o = i * k;
    let dmin = Infinity;
    for (let j = 0; j < k; j++) if (dist[o + j] < dmin) dmin = dist[o + j];
    for (let j = 0; j < k; j++) d[j] = dist[o + j] - dmin;
    let beta = 1;
    let betaMin = -Infinity;
    let betaMax = Infinity;
    for (let step = 0; step < MAX_STEPS; step++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const p = Math.exp(-d[j] * beta);
        P[o + j] = p;
        sum += p;
      }
      if (sum === 0) sum = 1e-8;
      let sumDP = 0;
      for (let j = 0; j < k; j++) {
        P[o + j] /= sum;
        sumDP += d[j] * P[o + j];
      }
      const diff = Math.log(sum) + beta * sumDP - desired;
      if (Math.abs(diff) <= PERPLEXITY_TOLERANCE) break;
      if (diff > 0) {
        betaMin = beta;
        beta = betaMax === Infinity ? beta * 2 : (beta + betaMax) / 2;
      } else {
        betaMax = beta;
        beta = betaMin === -Infinity ? beta / 2 : (beta + betaMin) / 2;
      }
    }
  }
  return P;
}

/** P = (P + Pᵀ) / sum(P + Pᵀ) from row-wise conditional probabilities over neighbour lists. */
export function symmetrize(cond: Float64Array, nbr: Int32Array, n: number, k: number): SparseP {
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    deg[i] += k;
    for (let j = 0; j < k; j++) deg[nbr[i * k + j]]++;
  }
  // Gather both directions (with duplicates), then merge duplicates row by row.
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + deg[i];
  const fill = start.slice(0, n);
  const c = new Int32Array(start[n]);
  const v = new Float64Array(start[n]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const t = nbr[i * k + j];
      const p = cond[i * k + j];
      c[fill[i]] = t;
      v[fill[i]++] = p;
      c[fill[t]] = i;
      v[fill[t]++] = p;
    }
  }
  const rows = new Int32Array(n + 1);
  const cols = new Int32Array(start[n]);
  const vals = new Float64Array(start[n]);
  const at = new Int32Array(n).fill(-1);
  let out = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const rowStart = out;
    for (let e = start[i]; e < start[i + 1]; e++) {
      const t = c[e];
      if (at[t] >= 0) vals[at[t]] += v[e];
      else {
        at[t] = out;
        cols[out] = t;
        vals[out++] = v[e];
      }
      total += v[e];
    }
    for (let e = rowStart; e < out; e++) at[cols[e]] = -1;
    rows[i + 1] = out;
  }
  const scale = 1 / Math.max(total, Number.EPSILON);
  for (let e = 0; e < out; e++) vals[e] *= scale;
  return { n, rows, cols: cols.slice(0, out), vals: vals.slice(0, out) };
}
