import { fail, LatentflowError, assertFinite, createRng, type VectorSet } from "@latentflow/core";
import { exactKnn } from "@latentflow/core/kernels";
import { withCentered } from "../linalg/dense.js";

/** Options of the embedding quality measures. */
export interface QualityOptions {
  /** Neighbourhood size for trustworthiness, continuity and preserved neighbours. Default 15. */
  k?: number;
  /**
   * Query points to average over: all points when n ≤ sample, else a fixed-seed sample of this many
   * (neighbours and ranks are still computed against all n points). Default 5000.
   */
  sample?: number;
  /** Seed of the sample. Default 0. */
  seed?: string | number;
  /** k of the kNN classifier in the map. Default 10. */
  knnK?: number;
  /** Meta field holding each row's class, for kNN accuracy. Default "label". */
  labelField?: string;
  /** Distance in the high-dimensional space: default the space's metric (cosine → cosine, else l2). */
  metric?: "l2" | "cosine";
  /** Worker threads for the distance computations; default all cores. */
  threads?: number;
}

/** The numbers {@link evaluateEmbedding} reports. */
export interface QualityReport {
  n: number;
  /** Query points averaged over (n when not sampled). */
  queries: number;
  sampled: boolean;
  seed: string | number;
  k: number;
  trustworthiness: number;
  continuity: number;
  /** Mean share of each point's k nearest neighbours in the input that are among its k nearest in the map. */
  preservedNeighbors: number;
  /** Leave-one-out kNN classification accuracy in the map (when rows carry labels). */
  knnAccuracy?: { k: number; accuracy: number; labelField: string };
  metric: "l2" | "cosine";
}


function checkPair(high: VectorSet, low: VectorSet, k: number): void {
  const n = high.ids.length;
  if (low.ids.length !== n) fail("E_SHAPE", `embedding quality: expected the map to have one row per input row (${n}), found ${low.ids.length}`);
  for (let i = 0; i < n; i++) {
    if (high.ids[i] !== low.ids[i]) {
      fail("E_ID_MISMATCH", `embedding quality: row ${i} is '${high.ids[i]}' in the input but '${low.ids[i]}' in the map`, "pass the map made from these very vectors, in the same order");
    }
  }
  if (!Number.isInteger(k) || k < 1) fail("E_PARAM", `embedding quality: expected k a positive integer, found ${k}`);
  if (k >= n / 2) fail("E_TOO_FEW_POINTS", `embedding quality: trustworthiness@${k} needs more than ${2 * k} points, found ${n}`, "lower k");
  assertFinite(high.data, high.space.dim, high.ids, "embedding quality (input)");
  assertFinite(low.data, low.space.dim, low.ids, "embedding quality (map)");
}

/** Sorted indices of the query points: all, or `m` drawn without replacement with a seeded generator. */
export function sampleIndices(n: number, m: number, seed: string | number): Int32Array {
  if (m >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const rng = createRng(`quality-sample:${seed}`);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, m).sort();
}

/** Unit-length copy of each row (cosine distances rank like L2 distances between unit vectors). */
function normalizedRows(data: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[i + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[i + j] = data[i + j]! * inv;
  }
  return out;
}

/**
 * For each query q and each of its candidates j (m×k), the rank of j among all other points by squared
 * L2 distance from q: 1 + #{l ≠ q : d(q, l) < d(q, j), or equal and l < j}. Distance rows come from float64 loops for small
 * work, from the dense wasm kernel (centred float32 dot products) for large.
 */
async function ranksOf(data: Float32Array, dim: number, queries: Int32Array, cand: Int32Array, k: number, threads: number | undefined): Promise<Int32Array> {
  const n = data.length / dim;
  const m = queries.length;
  const ranks = new Int32Array(m * k);
  const thr = new Float64Array(k);
  const order = new Int32Array(k);
  const hist = new Int32Array(k + 1);
  const extra = new Int32Array(k);
  const countRow = (qi: number, row: Float64Array | Float32Array, self: number) => {
    for (let j = 0; j < k; j++) thr[j] = row[cand[qi * k + j]!]!;
    for (let j = 0; j < k; j++) order[j] = j;
    order.sort((a, b) => thr[a]! - thr[b]!);
    const sorted = Float64Array.from(order, (o) => thr[o]!);
    const top = sorted[k - 1]!;
    hist.fill(0);
    extra.fill(0);
    for (let l = 0; l < n; l++) {
      const v = row[l]!;
      if (v > top || l === self) continue;
      // Number of thresholds ≤ v: the candidates farther than v start there.
      let lo = 0;
      let hi = k;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      hist[lo]!++;
      // Ties go to the lower index (a stable sort by distance): l ranks before an equally far candidate j > l.
      for (let s = lo - 1; s >= 0 && sorted[s] === v; s--) if (l < cand[qi * k + order[s]!]!) extra[s]!++;
    }
    let acc = 0;
    for (let s = 0; s < k; s++) {
      acc += hist[s]!;
      ranks[qi * k + order[s]!] = acc + extra[s]! + 1;
    }
  };
  if (m * n * dim <= 5e7 || dim <= 8) {
    const row = new Float64Array(n);
    for (let qi = 0; qi < m; qi++) {
      const q = queries[qi]!;
      const qo = q * dim;
      for (let l = 0; l < n; l++) {
        let s = 0;
        const lo = l * dim;
        for (let t = 0; t < dim; t++) {
          const v = data[lo + t]! - data[qo + t]!;
          s += v * v;
        }
        row[l] = s;
      }
      countRow(qi, row, q);
    }
    return ranks;
  }
  // ‖x̃_l − q̃‖² = ‖x̃_l‖² + ‖q̃‖² − 2 x̃_l·q̃ on centred rows x̃ (centring keeps float32 dot products accurate).
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) mean[t]! += data[i * dim + t]!;
  for (let t = 0; t < dim; t++) mean[t]! /= n;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += (data[i * dim + t]! - mean[t]!) ** 2;
    norms[i] = s;
  }
  const B = 64;
  await withCentered(data, n, dim, mean, B, threads !== undefined ? { threads } : {}, async (c) => {
    const qrows = new Float64Array(B * dim);
    const row = new Float64Array(n);
    for (let q0 = 0; q0 < m; q0 += B) {
      const p = Math.min(B, m - q0);
      for (let a = 0; a < p; a++) for (let t = 0; t < dim; t++) qrows[a * dim + t] = data[queries[q0 + a]! * dim + t]! - mean[t]!;
      const dots = await c.project(qrows, p);
      for (let a = 0; a < p; a++) {
        const q = queries[q0 + a]!;
        for (let l = 0; l < n; l++) row[l] = norms[l]! + norms[q]! - 2 * dots[l * p + a]!;
        countRow(q0 + a, row, q);
      }
    }
  });
  return ranks;
}

/** The k nearest other points of each query (m×k), by core's exact kNN (the query itself left out). */
async function neighboursOf(data: Float32Array, dim: number, queries: Int32Array, k: number, threads: number | undefined): Promise<Int32Array> {
  const q = new Float32Array(queries.length * dim);
  queries.forEach((r, i) => {
    q.set(data.subarray(r * dim, (r + 1) * dim), i * dim);
  });
  const r = await exactKnn(data, q, dim, k + 1, threads !== undefined ? { threads } : {});
  const out = new Int32Array(queries.length * k);
  for (let i = 0; i < queries.length; i++) {
    let w = 0;
    for (let j = 0; j < r.k && w < k; j++) {
      const idx = r.indices[i * r.k + j]!;
      // A duplicate of the query may come first; leave out the query's own index, keep duplicates.
      if (idx !== queries[i]) out[i * k + w++] = idx;
    }
  }
  return out;
}

/** 1 − 2/(m·k·(2n − 3k − 1)) · Σ max(0, rank − k): Venna & Kaski's normalisation, as scikit-learn. */
function penaltyScore(ranks: Int32Array, m: number, n: number, k: number): number {
  let s = 0;
  for (let i = 0; i < ranks.length; i++) s += Math.max(0, ranks[i]! - k);
  return 1 - (2 / (m * k * (2 * n - 3 * k - 1))) * s;
}

interface Prepared {
  n: number;
  k: number;
  queries: Int32Array;
  high: Float32Array;
  dimHigh: number;
  metric: "l2" | "cosine";
}

function prepare(high: VectorSet, low: VectorSet, opts: QualityOptions): Prepared {
  const k = opts.k ?? 15;
  checkPair(high, low, k);
  const n = high.ids.length;
  const metric = opts.metric ?? (high.space.metric === "cosine" ? "cosine" : "l2");
  const hd = metric === "cosine" ? normalizedRows(high.data, high.space.dim) : high.data;
  return { n, k, queries: sampleIndices(n, opts.sample ?? 5000, opts.seed ?? 0), high: hd, dimHigh: high.space.dim, metric };
}

/**
 * Trustworthiness@k (Venna & Kaski 2001, as sklearn.manifold.trustworthiness): 1 when every point's k
 * nearest neighbours in the map are also near it in the input; penalises intruders by their input rank.
 */
export async function trustworthiness(high: VectorSet, low: VectorSet, opts: QualityOptions = {}): Promise<number> {
  const p = prepare(high, low, opts);
  const lowNn = await neighboursOf(low.data, low.space.dim, p.queries, p.k, opts.threads);
  return penaltyScore(await ranksOf(p.high, p.dimHigh, p.queries, lowNn, p.k, opts.threads), p.queries.length, p.n, p.k);
}

/** Continuity@k: trustworthiness with the roles swapped — input neighbours that the map pushes away. */
export async function continuity(high: VectorSet, low: VectorSet, opts: QualityOptions = {}): Promise<number> {
  const p = prepare(high, low, opts);
  const highNn = await neighboursOf(p.high, p.dimHigh, p.queries, p.k, opts.threads);
  return penaltyScore(await ranksOf(low.data, low.space.dim, p.queries, highNn, p.k, opts.threads), p.queries.length, p.n, p.k);
}

/** Leave-one-out kNN accuracy: each query's label against the majority of its k nearest others (ties: nearest). */
function vote(nn: Int32Array, k: number, labels: unknown[], queries: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < queries.length; i++) {
    const votes = new Map<unknown, number>();
    let best: unknown;
    let bestVotes = 0;
    for (let j = 0; j < k; j++) {
      const l = labels[nn[i * k + j]!];
      const v = (votes.get(l) ?? 0) + 1;
      votes.set(l, v);
      if (v > bestVotes) {
        bestVotes = v;
        best = l;
      }
    }
    if (best === labels[queries[i]!]) correct++;
  }
  return correct / queries.length;
}

function labelsOf(vs: VectorSet, field: string, where: string): unknown[] {
  return vs.ids.map((id, i) => {
    const v = vs.meta?.[i]?.[field];
    if (v === undefined || v === null) fail("E_LABEL", `${where}: row ${i} (id '${id}') has no '${field}' in its meta`, "read the vectors with their labels, or set 'labelField'");
    return v;
  });
}

/** kNN classification accuracy inside a map, leave-one-out over the (sampled) query points. */
export async function knnAccuracy(map: VectorSet, opts: Pick<QualityOptions, "knnK" | "labelField" | "sample" | "seed" | "threads"> = {}): Promise<number> {
  const k = opts.knnK ?? 10;
  const labels = labelsOf(map, opts.labelField ?? "label", "kNN accuracy");
  const queries = sampleIndices(map.ids.length, opts.sample ?? 5000, opts.seed ?? 0);
  return vote(await neighboursOf(map.data, map.space.dim, queries, k, opts.threads), k, labels, queries);
}

/** kNN classification accuracy of `test` rows against labelled `train` rows of the same map (e.g. 60k → 10k MNIST). */
export async function knnAccuracySplit(train: VectorSet, test: VectorSet, opts: Pick<QualityOptions, "knnK" | "labelField" | "threads"> = {}): Promise<number> {
  const k = opts.knnK ?? 10;
  const field = opts.labelField ?? "label";
  if (train.space.dim !== test.space.dim) fail("E_DIM_MISMATCH", `kNN accuracy: expected test rows of dimension ${train.space.dim}, found ${test.space.dim}`);
  const labels = labelsOf(train, field, "kNN accuracy (train)");
  const truth = labelsOf(test, field, "kNN accuracy (test)");
  const r = await exactKnn(train.data, test.data, train.space.dim, k, opts.threads !== undefined ? { threads: opts.threads } : {});
  const all = [...labels, ...truth];
  const queries = Int32Array.from({ length: test.ids.length }, (_, i) => labels.length + i);
  return vote(r.indices, r.k, all, queries);
}

/** Fraction of each point's k nearest input neighbours that are also among its k nearest in the map. */
export async function preservedNeighbors(high: VectorSet, low: VectorSet, opts: QualityOptions = {}): Promise<number> {
  const p = prepare(high, low, opts);
  const a = await neighboursOf(p.high, p.dimHigh, p.queries, p.k, opts.threads);
  const b = await neighboursOf(low.data, low.space.dim, p.queries, p.k, opts.threads);
  return overlap(a, b, p.k);
}

function overlap(a: Int32Array, b: Int32Array, k: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i += k) {
    const set = new Set(a.subarray(i, i + k));
    for (let j = 0; j < k; j++) if (set.has(b[i + j]!)) s++;
  }
  return s / a.length;
}

/** All measures at once, sharing the neighbour and rank computations. */
export async function evaluateEmbedding(high: VectorSet, low: VectorSet, opts: QualityOptions = {}): Promise<QualityReport> {
  const p = prepare(high, low, opts);
  const t = opts.threads;
  const highNn = await neighboursOf(p.high, p.dimHigh, p.queries, p.k, t);
  const lowNn = await neighboursOf(low.data, low.space.dim, p.queries, p.k, t);
  const m = p.queries.length;
  const field = opts.labelField ?? "label";
  const hasLabels = low.meta?.every((r) => r?.[field] !== undefined && r?.[field] !== null) ?? false;
  const knnK = opts.knnK ?? 10;
  return {
    n: p.n,
    queries: m,
    sampled: m < p.n,
    seed: opts.seed ?? 0,
    k: p.k,
    metric: p.metric,
    trustworthiness: penaltyScore(await ranksOf(p.high, p.dimHigh, p.queries, lowNn, p.k, t), m, p.n, p.k),
    continuity: penaltyScore(await ranksOf(low.data, low.space.dim, p.queries, highNn, p.k, t), m, p.n, p.k),
    preservedNeighbors: overlap(highNn, lowNn, p.k),
    ...(hasLabels
      ? {
          knnAccuracy: {
            k: knnK,
            labelField: field,
            accuracy: vote(knnK === p.k ? lowNn : await neighboursOf(low.data, low.space.dim, p.queries, knnK, t), knnK, labelsOf(low, field, "kNN accuracy"), p.queries),
          },
        }
      : {}),
  };
}
