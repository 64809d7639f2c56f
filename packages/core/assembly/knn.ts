// Exact k-nearest-neighbour kernels (AssemblyScript → wasm SIMD128).
//
// Memory is imported and shared: every worker thread instantiates this module
// on the same SharedArrayBuffer-backed WebAssembly.Memory and works on a
// disjoint range of queries. The module therefore has NO data segments and NO
// mutable globals that matter (stub runtime, no allocations): all state lives
// at byte offsets chosen by the JS driver (src/engine.ts).
//
// Pipeline per query:
//   1. searchTile: f32 dot products via a 4×2 register-blocked microkernel,
//      turned into a monotone surrogate score (bias[j] + scale[j]·q·x) and
//      pushed into a bounded max-heap of k' = k + 16 candidates.
//   2. rerank: exact float64 distances for the k' candidates, sorted by
//      (distance, index); the best k are written out.
// The f32 GEMM form loses precision when ||x||² ≫ 2^24 (raw MNIST reaches
// ~5e7), so step 1 only has to get the true top-k somewhere inside the top-k'.
//
// Data layout ("panels"): rows are padded to dp = ceil(d/4)*4 floats and
// grouped into panels of P rows (P = 4 for queries, 2 for base), interleaved
// per f32x4 chunk:  panel[(i/4)*P + lane] = row[lane][i .. i+3].
// One pointer plus immediate offsets then reaches every row of a panel, which
// saves the per-row address arithmetic in the hot loop (~+20% measured).

export const QUERY_PANEL: i32 = 4; // microkernel rows taken from the queries
export const BASE_PANEL: i32 = 2;  // microkernel rows taken from the base

export const METRIC_L2: i32 = 0;
export const METRIC_IP: i32 = 1;
export const METRIC_COSINE: i32 = 2;

/** First free byte after the module's own (empty) static area. */
export function heapBase(): usize { return __heap_base; }

// Byte address of element 0 of row j in a panel-packed matrix. Element i of
// that row lives at rowAddr + (i >> 2) * P * 16 + (i & 3) * 4.
@inline function rowAddr(M: usize, j: i32, P: i32, stride: usize): usize {
  return M + <usize>(j / P) * <usize>P * stride + (<usize>(j % P) << 4);
}

// ---------------------------------------------------------------------------
// Packing

/**
 * Copies `rows` row-major rows (d floats each, at `src`) into panel layout as
 * rows j0 .. j0+rows-1 of `dst`, zero-filling columns d .. dp-1. Padding rows
 * (beyond the real data) must be zeroed by the caller.
 */
export function packRows(src: usize, rows: i32, d: i32, dst: usize, dp: i32, P: i32, j0: i32): void {
  const stride = <usize>dp << 2;
  const chunk = <usize>P << 4;
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * (<usize>d << 2);
    const t = rowAddr(dst, j0 + r, P, stride);
    for (let i = 0; i < dp; i++) {
      const v: f32 = i < d ? load<f32>(s + (<usize>i << 2)) : 0;
      store<f32>(t + <usize>(i >> 2) * chunk + (<usize>(i & 3) << 2), v);
    }
  }
}

// ---------------------------------------------------------------------------
// Per-base-row score terms

/**
 * Per base row j, the f32 surrogate score is bias[j] + scale[j]·(q·x_j). It
 * orders the candidates of one query like the true distance (query-only terms
 * such as ||q||² or 1/|q| are dropped):
 *   l2:     ||x||² − 2 q·x     ip: −q·x     cosine: −q·x / |x|
 * Processes rows [j0, j1). Padding rows (j ≥ n) get bias = +Inf, scale = 0, so they can never
 * enter a heap and the tile loop needs no tail handling for n.
 */
export function prepBase(X: usize, j0: i32, j1: i32, n: i32, dp: i32, metric: i32, bias: usize, scale: usize): void {
  const stride = <usize>dp << 2;
  const chunk = <usize>BASE_PANEL << 4;
  for (let j = j0; j < j1; j++) {
    let b: f32 = Infinity, s: f32 = 0;
    if (j < n) {
      const xp = rowAddr(X, j, BASE_PANEL, stride);
      let nn: f64 = 0;
      for (let c = 0; c < dp >> 2; c++) {
        const p = xp + <usize>c * chunk;
        for (let t = 0; t < 4; t++) { const v = <f64>load<f32>(p + (<usize>t << 2)); nn += v * v; }
      }
      if (metric == METRIC_L2) { b = <f32>nn; s = -2; }
      else if (metric == METRIC_IP) { b = 0; s = -1; }
      else { b = 0; s = nn > 0 ? <f32>(-1 / Math.sqrt(nn)) : 0; }
    }
    store<f32>(bias + (<usize>j << 2), b);
    store<f32>(scale + (<usize>j << 2), s);
  }
}

// ---------------------------------------------------------------------------
// Bounded max-heap keyed on (score, index). The root is the worst candidate
// kept so far, so the hot loop only compares against one scalar per query.

export function initHeaps(heapD: usize, heapI: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    store<f32>(heapD + (<usize>i << 2), Infinity);
    store<i32>(heapI + (<usize>i << 2), -1);
  }
}

// Replaces the root with (d, idx), sifts down, and returns the new root score
// (the new admission threshold). Out of line on purpose: it runs only about
// k'·ln(n/k') times per query, and inlining it 8× bloats the hot function.
@inline(never) function heapReplaceTop(hd: usize, hi: usize, kp: i32, d: f32, idx: i32): f32 {
  let pos = 0;
  while (true) {
    let c = 2 * pos + 1;
    if (c >= kp) break;
    let cd = load<f32>(hd + (<usize>c << 2)), ci = load<i32>(hi + (<usize>c << 2));
    if (c + 1 < kp) {
      const rd = load<f32>(hd + (<usize>(c + 1) << 2)), ri = load<i32>(hi + (<usize>(c + 1) << 2));
      if (rd > cd || (rd == cd && ri > ci)) { c++; cd = rd; ci = ri; }
    }
    if (cd > d || (cd == d && ci > idx)) {
      store<f32>(hd + (<usize>pos << 2), cd);
      store<i32>(hi + (<usize>pos << 2), ci);
      pos = c;
    } else break;
  }
  store<f32>(hd + (<usize>pos << 2), d);
  store<i32>(hi + (<usize>pos << 2), idx);
  return load<f32>(hd);
}

@inline function hsum(v: v128): f32 {
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
  return f32x4.extract_lane(v, 0);
}

// ---------------------------------------------------------------------------
// Hot loop

/**
 * Scores query rows [q0, q1) against base rows [j0, j1) and updates the
 * per-query heaps. q0, q1 must be multiples of QUERY_PANEL and j0, j1 of
 * BASE_PANEL (the driver pads both matrices). The caller picks [j0, j1) so
 * the base tile stays in L2 while the 4-row query panel (4·dp floats) stays
 * in L1 across the whole tile.
 *
 * Microkernel shape 4×2, no k-unrolling: 8 accumulators + 2 base vectors +
 * 1 query vector + 1 product temp = 12 live xmm registers (V8 keeps xmm15 as
 * scratch). Larger shapes (4×3, 3×3, 5×2, 6×2, 4×4) and any k-unroll were
 * measured slower: TurboFan hoists the extra loads and spills (see README).
 * Within a query, base rows arrive in increasing index order, so a strict `<`
 * against the root already breaks f32 ties toward the lower index.
 */
export function searchTile(Q: usize, q0: i32, q1: i32, X: usize, j0: i32, j1: i32, dp: i32,
                           bias: usize, scale: usize, heapD: usize, heapI: usize, kp: i32): void {
  const stride = <usize>dp << 2;
  const hstride = <usize>kp << 2;
  const baseBytes = <usize>BASE_PANEL * stride; // one base panel
  for (let qi = q0; qi < q1; qi += 4) {
    const qpan = Q + <usize>qi * stride;
    const hd0 = heapD + <usize>qi * hstride, hi0 = heapI + <usize>qi * hstride;
    const hd1 = hd0 + hstride, hi1 = hi0 + hstride;
    const hd2 = hd1 + hstride, hi2 = hi1 + hstride;
    const hd3 = hd2 + hstride, hi3 = hi2 + hstride;
    let t0 = load<f32>(hd0), t1 = load<f32>(hd1), t2 = load<f32>(hd2), t3 = load<f32>(hd3);

    for (let j = j0; j < j1; j += 2) {
      let xp = X + <usize>j * stride;
      const xend = xp + baseBytes;
      let qp = qpan;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
      let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      // No FMA in plain wasm SIMD: mul + add, 4 lanes, 8 independent chains
      // (enough to hide the 3-cycle add latency on two add pipes).
      while (xp < xend) {
        const x0 = v128.load(xp, 0), x1 = v128.load(xp, 16);
        const y0 = v128.load(qp, 0);
        a00 = f32x4.add(a00, f32x4.mul(y0, x0)); a01 = f32x4.add(a01, f32x4.mul(y0, x1));
        const y1 = v128.load(qp, 16);
        a10 = f32x4.add(a10, f32x4.mul(y1, x0)); a11 = f32x4.add(a11, f32x4.mul(y1, x1));
        const y2 = v128.load(qp, 32);
        a20 = f32x4.add(a20, f32x4.mul(y2, x0)); a21 = f32x4.add(a21, f32x4.mul(y2, x1));
        const y3 = v128.load(qp, 48);
        a30 = f32x4.add(a30, f32x4.mul(y3, x0)); a31 = f32x4.add(a31, f32x4.mul(y3, x1));
        xp += 32; qp += 64;
      }

      const bj = bias + (<usize>j << 2), sj = scale + (<usize>j << 2);
      const b0 = load<f32>(bj), s0 = load<f32>(sj), b1 = load<f32>(bj, 4), s1 = load<f32>(sj, 4);
      let d: f32;
      d = b0 + s0 * hsum(a00); if (d < t0) t0 = heapReplaceTop(hd0, hi0, kp, d, j);
      d = b0 + s0 * hsum(a10); if (d < t1) t1 = heapReplaceTop(hd1, hi1, kp, d, j);
      d = b0 + s0 * hsum(a20); if (d < t2) t2 = heapReplaceTop(hd2, hi2, kp, d, j);
      d = b0 + s0 * hsum(a30); if (d < t3) t3 = heapReplaceTop(hd3, hi3, kp, d, j);
      d = b1 + s1 * hsum(a01); if (d < t0) t0 = heapReplaceTop(hd0, hi0, kp, d, j + 1);
      d = b1 + s1 * hsum(a11); if (d < t1) t1 = heapReplaceTop(hd1, hi1, kp, d, j + 1);
      d = b1 + s1 * hsum(a21); if (d < t2) t2 = heapReplaceTop(hd2, hi2, kp, d, j + 1);
      d = b1 + s1 * hsum(a31); if (d < t3) t3 = heapReplaceTop(hd3, hi3, kp, d, j + 1);
    }
  }
}

// ---------------------------------------------------------------------------
// Exact re-ranking

// Exact float64 distance between packed query row qj and packed base row xj.
// Summed sequentially in index order, so the result is bit-identical to a
// plain JS double loop over the original Float32Array data.
function exactDist(Q: usize, qj: i32, X: usize, xj: i32, stride: usize, d: i32, metric: i32, qn: f64): f64 {
  const qp = rowAddr(Q, qj, QUERY_PANEL, stride), xp = rowAddr(X, xj, BASE_PANEL, stride);
  const qc = <usize>QUERY_PANEL << 4, xc = <usize>BASE_PANEL << 4;
  if (metric == METRIC_L2) {
    let s: f64 = 0;
    for (let i = 0; i < d; i++) {
      const lane = <usize>(i & 3) << 2, c = <usize>(i >> 2);
      const t = <f64>load<f32>(qp + c * qc + lane) - <f64>load<f32>(xp + c * xc + lane);
      s += t * t;
    }
    return s;
  }
  let dot: f64 = 0, xn: f64 = 0;
  for (let i = 0; i < d; i++) {
    const lane = <usize>(i & 3) << 2, c = <usize>(i >> 2);
    const a = <f64>load<f32>(qp + c * qc + lane), b = <f64>load<f32>(xp + c * xc + lane);
    dot += a * b; xn += b * b;
  }
  if (metric == METRIC_IP) return -dot;
  const den = Math.sqrt(qn) * Math.sqrt(xn);
  return den > 0 ? 1 - dot / den : 1; // zero vector: treat as orthogonal
}

/**
 * Re-ranks the k' heap candidates of queries [qa, qb) with exact float64
 * distances and writes the best k per query to outI/outD (row-major m×k),
 * ordered by (distance, index). Missing candidates (k > n) come out as
 * index −1 / distance +Inf. scratch: k' * 12 bytes, private to the caller.
 */
export function rerank(Q: usize, X: usize, qa: i32, qb: i32, dp: i32, d: i32, metric: i32,
                       heapI: usize, kp: i32, k: i32, outI: usize, outD: usize, scratch: usize): void {
  const stride = <usize>dp << 2;
  const sd = scratch, si = scratch + (<usize>kp << 3);
  for (let q = qa; q < qb; q++) {
    let qn: f64 = 0;
    if (metric == METRIC_COSINE) {
      const qp = rowAddr(Q, q, QUERY_PANEL, stride);
      for (let i = 0; i < d; i++) {
        const v = <f64>load<f32>(qp + <usize>(i >> 2) * (<usize>QUERY_PANEL << 4) + (<usize>(i & 3) << 2));
        qn += v * v;
      }
    }
    // insertion sort: k' is small
    let cnt = 0;
    for (let c = 0; c < kp; c++) {
      const idx = load<i32>(heapI + (<usize>(q * kp + c) << 2));
      if (idx < 0) continue;
      const dist = exactDist(Q, q, X, idx, stride, d, metric, qn);
      let p = cnt++;
      while (p > 0) {
        const pd = load<f64>(sd + (<usize>(p - 1) << 3)), pi = load<i32>(si + (<usize>(p - 1) << 2));
        if (pd < dist || (pd == dist && pi < idx)) break;
        store<f64>(sd + (<usize>p << 3), pd);
        store<i32>(si + (<usize>p << 2), pi);
        p--;
      }
      store<f64>(sd + (<usize>p << 3), dist);
      store<i32>(si + (<usize>p << 2), idx);
    }
    for (let c = 0; c < k; c++) {
      const o = <usize>q * <usize>k + <usize>c;
      store<i32>(outI + (o << 2), c < cnt ? load<i32>(si + (<usize>c << 2)) : -1);
      store<f64>(outD + (o << 3), c < cnt ? load<f64>(sd + (<usize>c << 3)) : Infinity);
    }
  }
}
