// The UMAP layout: the a/b curve umap-learn fits from minDist/spread, the epochs-per-edge schedule and
// the SGD with negative sampling (umap-learn 0.5 `optimize_layout_euclidean`), on flat typed arrays.

/**
 * Fits a, b of 1 / (1 + a·d^(2b)) to the curve that is 1 below minDist and exp(-(d - minDist)/spread)
 * above it, by least squares on 300 points in [0, 3·spread] (as umap-learn's `find_ab_params`).
 */
export function findAbParams(spread: number, minDist: number): { a: number; b: number } {
  const m = 300;
  const xs = new Float64Array(m);
  const ys = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const x = (spread * 3 * i) / (m - 1);
    xs[i] = x;
    ys[i] = x < minDist ? 1 : Math.exp(-(x - minDist) / spread);
  }
  // Levenberg–Marquardt from (1, 1), scipy's curve_fit default start.
  let a = 1;
  let b = 1;
  const sse = (pa: number, pb: number): number => {
    let s = 0;
    for (let i = 0; i < m; i++) {
      const x = xs[i]!;
      const f = x > 0 ? 1 / (1 + pa * x ** (2 * pb)) : 1;
      s += (f - ys[i]!) ** 2;
    }
    return s;
  };
  let err = sse(a, b);
  let lambda = 1e-3;
  for (let iter = 0; iter < 500; iter++) {
    let jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
    for (let i = 0; i < m; i++) {
      const x = xs[i]!;
      if (x <= 0) continue;
      const p = x ** (2 * b);
      const den = 1 + a * p;
      const f = 1 / den;
      const r = f - ys[i]!;
      const da = -p / (den * den);
      const db = (-a * p * 2 * Math.log(x)) / (den * den);
      jaa += da * da;
      jab += da * db;
      jbb += db * db;
      ga += da * r;
      gb += db * r;
    }
    let improved = false;
    for (let tries = 0; tries < 30; tries++) {
      const A = jaa * (1 + lambda), B = jab, C = jbb * (1 + lambda);
      const det = A * C - B * B;
      const sa = -(C * ga - B * gb) / det;
      const sb = -(A * gb - B * ga) / det;
      const e = sse(a + sa, b + sb);
      if (e < err) {
        const rel = (err - e) / Math.max(err, 1e-300);
        a += sa;
        b += sb;
        err = e;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
        if (rel < 1e-12) return { a, b };
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  return { a, b };
}

/** Edges as parallel typed arrays (COO), both directions of every undirected pair. */
export interface EdgeList {
  head: Int32Array;
  tail: Int32Array;
  weight: Float32Array;
}

/** umap-learn's `make_epochs_per_sample`: an edge of weight w is sampled every max/w epochs; -1 never. */
export function epochsPerSample(weight: Float32Array, nEpochs: number): Float64Array {
  let max = 0;
  for (let i = 0; i < weight.length; i++) if (weight[i]! > max) max = weight[i]!;
  const out = new Float64Array(weight.length);
  for (let i = 0; i < weight.length; i++) {
    const ns = (nEpochs * weight[i]!) / max;
    out[i] = ns > 0 ? nEpochs / ns : -1;
  }
  return out;
}

/** Everything one SGD run needs; plain data so it can be posted to a worker. */
export interface SgdTask {
  /** Embedding being moved (n_head × dim). */
  head: Float32Array;
  /** Embedding pulled towards and sampled for negatives; the same array as `head` in fit. */
  tail: Float32Array;
  edgeHead: Int32Array;
  edgeTail: Int32Array;
  epochsPerSample: Float64Array;
  /** State carried between epochs (may be shared between threads). */
  nextSample: Float64Array;
  nextNegative: Float64Array;
  nTail: number;
  dim: number;
  a: number;
  b: number;
  gamma: number;
  negativeSampleRate: number;
  moveOther: boolean;
}

/**
 * Runs SGD epochs [epochFrom, epochTo) over edges [e0, e1) of the task, with learning rate
 * initialAlpha·(1 − epoch/nEpochs) per epoch, exactly as umap-learn's single-epoch loop (clipped
 * gradients at ±4; one attraction per due edge and its due negative samples). `seed` feeds a xorshift
 * generator. Self-contained on purpose: its source is also run inside worker threads.
 */
export function sgdEpochs(t: SgdTask, e0: number, e1: number, epochFrom: number, epochTo: number, nEpochs: number, initialAlpha: number, seed: number): number {
  const head = t.head, tail = t.tail, eh = t.edgeHead, et = t.edgeTail, eps = t.epochsPerSample;
  const nextS = t.nextSample, nextN = t.nextNegative;
  const dim = t.dim, a = t.a, b = t.b, nTail = t.nTail, moveOther = t.moveOther;
  const twoAB = -2 * a * b, twoGB = 2 * t.gamma * b, rate = t.negativeSampleRate;
  // Uniform index in [0, nTail) by multiply (a float modulo of a uint32 costs tens of ns).
  const tailScale = nTail / 4294967296;
  let s = seed | 0 || 0x2545f491;
  // exp(b·ln x) rather than Math.pow, which costs about twice as much in V8 and dominates this loop.
  for (let n = epochFrom; n < epochTo; n++) {
    const alpha = initialAlpha * (1 - n / nEpochs);
    for (let i = e0; i < e1; i++) {
      const ep = eps[i]!;
      if (ep < 0 || nextS[i]! > n) continue;
      const j = eh[i]!;
      const k = et[i]!;
      const jo = j * dim, ko = k * dim;
      if (dim === 2) {
        const dx = head[jo]! - tail[ko]!, dy = head[jo + 1]! - tail[ko + 1]!;
        const d2 = dx * dx + dy * dy;
        let g = 0;
        if (d2 > 0) {
          const pb = Math.exp(b * Math.log(d2));
          g = (twoAB * pb) / d2 / (a * pb + 1);
        }
        let gx = g * dx, gy = g * dy;
        gx = gx > 4 ? 4 : gx < -4 ? -4 : gx;
        gy = gy > 4 ? 4 : gy < -4 ? -4 : gy;
        head[jo] = head[jo]! + gx * alpha;
        head[jo + 1] = head[jo + 1]! + gy * alpha;
        if (moveOther) {
          tail[ko] = tail[ko]! - gx * alpha;
          tail[ko + 1] = tail[ko + 1]! - gy * alpha;
        }
      } else {
        let d2 = 0;
        for (let d = 0; d < dim; d++) {
          const v = head[jo + d]! - tail[ko + d]!;
          d2 += v * v;
        }
        let g = 0;
        if (d2 > 0) {
          const pb = Math.exp(b * Math.log(d2));
          g = (twoAB * pb) / d2 / (a * pb + 1);
        }
        for (let d = 0; d < dim; d++) {
          let gd = g * (head[jo + d]! - tail[ko + d]!);
          gd = gd > 4 ? 4 : gd < -4 ? -4 : gd;
          head[jo + d] = head[jo + d]! + gd * alpha;
          if (moveOther) tail[ko + d] = tail[ko + d]! - gd * alpha;
        }
      }
      nextS[i] = nextS[i]! + ep;
      const epn = ep / rate;
      const nNeg = Math.floor((n - nextN[i]!) / epn);
      for (let p = 0; p < nNeg; p++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const q = ((s >>> 0) * tailScale) | 0;
        const qo = q * dim;
        if (dim === 2) {
          const dx = head[jo]! - tail[qo]!, dy = head[jo + 1]! - tail[qo + 1]!;
          const d2 = dx * dx + dy * dy;
          if (d2 > 0) {
            const g = twoGB / ((0.001 + d2) * (a * Math.exp(b * Math.log(d2)) + 1));
            let gx = g * dx, gy = g * dy;
            gx = gx > 4 ? 4 : gx < -4 ? -4 : gx;
            gy = gy > 4 ? 4 : gy < -4 ? -4 : gy;
            head[jo] = head[jo]! + gx * alpha;
            head[jo + 1] = head[jo + 1]! + gy * alpha;
          }
        } else {
          let d2 = 0;
          for (let d = 0; d < dim; d++) {
            const v = head[jo + d]! - tail[qo + d]!;
            d2 += v * v;
          }
          if (d2 > 0) {
            const g = twoGB / ((0.001 + d2) * (a * Math.exp(b * Math.log(d2)) + 1));
            for (let d = 0; d < dim; d++) {
              let gd = g * (head[jo + d]! - tail[qo + d]!);
              gd = gd > 4 ? 4 : gd < -4 ? -4 : gd;
              head[jo + d] = head[jo + d]! + gd * alpha;
            }
          }
        }
      }
      nextN[i] = nextN[i]! + nNeg * epn;
    }
  }
  return s;
}
