// word2vec training kernel (AssemblyScript → wasm SIMD128), negative sampling only.
//
// Memory is imported and shared: every worker thread instantiates this module on the same
// SharedArrayBuffer-backed WebAssembly.Memory and trains on its own chunks of sentences, updating the
// shared weights without locks (Hogwild, as word2vec.c and gensim do). The module has no data
// segments and no globals that matter (stub runtime, no allocations): every array lives at a byte
// offset chosen by the JS driver (src/word2vec/kernel.ts).
//
// Rows of syn0 / syn1neg are padded to dp = ceil(dim/4)*4 floats; the padding starts at zero and stays
// zero (every update is a multiple of a padded row), so the SIMD loops need no tail.
//
// The algorithm follows word2vec.c (Mikolov et al.) and gensim's word2vec_inner.pyx:
//  - one 64-bit LCG per thread: next = next * 25214903917 + 11;
//  - frequent-word subsampling before windowing: keep word w when keep[w] >= (next >> 16) as u32
//    (keep[w] = P(keep) · 2^32, gensim's sample_int);
//  - reduced window per centre word: b = next % window, effective window = window − b;
//  - negatives drawn exactly from unigram^0.75 with a Walker alias table (V entries of {u32 threshold,
//    i32 alias}: small enough to stay in cache, unlike word2vec.c's 1e8-entry table whose every
//    draw is a cache miss), the positive word skipped;
//  - sigmoid from a 1000-entry table on [−6, 6], clipped outside as word2vec.c does.

const MAX_EXP: f32 = 6;
const EXP_TABLE_SIZE: i32 = 1000;
const EXP_SCALE: f32 = <f32>EXP_TABLE_SIZE / MAX_EXP / 2;

/** First free byte after the module's own (empty) static area. */
export function heapBase(): usize {
  return __heap_base;
}

/** Fills `EXP_TABLE_SIZE` floats at `t` with σ(x) for x spread evenly on [−MAX_EXP, MAX_EXP). */
export function fillExpTable(t: usize): void {
  for (let i = 0; i < EXP_TABLE_SIZE; i++) {
    const e = Math.exp(((<f64>i / <f64>EXP_TABLE_SIZE) * 2 - 1) * <f64>MAX_EXP);
    store<f32>(t + (<usize>i << 2), <f32>(e / (e + 1)));
  }
}

@inline function nextRandom(r: u64): u64 {
  return r * 25214903917 + 11;
}

/** Uniform integer in [0, n) from the high bits of the state (multiply-shift: no division). */
@inline function below(r: u64, n: i32): i32 {
  return <i32>(((r >> 16) & 0xffffffff) * <u64>n >> 32);
}

@inline function dot(a: usize, b: usize, dp: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const bytes = <usize>dp << 2;
  let i: usize = 0;
  for (; i + 64 <= bytes; i += 64) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + i), v128.load(b + i)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + i, 16), v128.load(b + i, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(a + i, 32), v128.load(b + i, 32)));
    s3 = f32x4.add(s3, f32x4.mul(v128.load(a + i, 48), v128.load(b + i, 48)));
  }
  for (; i < bytes; i += 16) s0 = f32x4.add(s0, f32x4.mul(v128.load(a + i), v128.load(b + i)));
  let v = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
  return f32x4.extract_lane(v, 0);
}

/** e += g·out; out += g·h (the output-layer update, fused so each row of syn1neg is read once). */
@inline function updatePair(e: usize, out: usize, h: usize, g: f32, dp: i32): void {
  const gv = f32x4.splat(g);
  const bytes = <usize>dp << 2;
  for (let i: usize = 0; i < bytes; i += 16) {
    const o = v128.load(out + i);
    v128.store(e + i, f32x4.add(v128.load(e + i), f32x4.mul(gv, o)));
    v128.store(out + i, f32x4.add(o, f32x4.mul(gv, v128.load(h + i))));
  }
}

/** updatePair for two rows in one pass over e and h. */
@inline function updatePair2(e: usize, a: usize, b: usize, h: usize, ga: f32, gb: f32, dp: i32): void {
  const gav = f32x4.splat(ga);
  const gbv = f32x4.splat(gb);
  const bytes = <usize>dp << 2;
  for (let i: usize = 0; i < bytes; i += 16) {
    const oa = v128.load(a + i);
    const ob = v128.load(b + i);
    const hv = v128.load(h + i);
    v128.store(e + i, f32x4.add(v128.load(e + i), f32x4.add(f32x4.mul(gav, oa), f32x4.mul(gbv, ob))));
    v128.store(a + i, f32x4.add(oa, f32x4.mul(gav, hv)));
    v128.store(b + i, f32x4.add(ob, f32x4.mul(gbv, hv)));
  }
}

@inline function addTo(dst: usize, src: usize, dp: i32): void {
  const bytes = <usize>dp << 2;
  for (let i: usize = 0; i < bytes; i += 16) v128.store(dst + i, f32x4.add(v128.load(dst + i), v128.load(src + i)));
}

@inline function zero(dst: usize, dp: i32): void {
  const bytes = <usize>dp << 2;
  const z = f32x4.splat(0);
  for (let i: usize = 0; i < bytes; i += 16) v128.store(dst + i, z);
}

@inline function scale(dst: usize, s: f32, dp: i32): void {
  const sv = f32x4.splat(s);
  const bytes = <usize>dp << 2;
  for (let i: usize = 0; i < bytes; i += 16) v128.store(dst + i, f32x4.mul(v128.load(dst + i), sv));
}

/** Two dot products sharing `h`, in one pass: both rows' loads are in flight together. */
@inline function dot2(h: usize, a: usize, b: usize, dp: i32, out: usize): void {
  let sa0 = f32x4.splat(0);
  let sa1 = f32x4.splat(0);
  let sb0 = f32x4.splat(0);
  let sb1 = f32x4.splat(0);
  const bytes = <usize>dp << 2;
  let i: usize = 0;
  for (; i + 32 <= bytes; i += 32) {
    const h0 = v128.load(h + i);
    const h1 = v128.load(h + i, 16);
    sa0 = f32x4.add(sa0, f32x4.mul(h0, v128.load(a + i)));
    sb0 = f32x4.add(sb0, f32x4.mul(h0, v128.load(b + i)));
    sa1 = f32x4.add(sa1, f32x4.mul(h1, v128.load(a + i, 16)));
    sb1 = f32x4.add(sb1, f32x4.mul(h1, v128.load(b + i, 16)));
  }
  if (i < bytes) {
    const h0 = v128.load(h + i);
    sa0 = f32x4.add(sa0, f32x4.mul(h0, v128.load(a + i)));
    sb0 = f32x4.add(sb0, f32x4.mul(h0, v128.load(b + i)));
  }
  let va = f32x4.add(sa0, sa1);
  let vb = f32x4.add(sb0, sb1);
  // Horizontal sums of both at once: lanes (a0+a1, b0+b1, a2+a3, b2+b3) then pairwise.
  const lo = v128.shuffle<f32>(va, vb, 0, 4, 2, 6);
  const hi = v128.shuffle<f32>(va, vb, 1, 5, 3, 7);
  const s = f32x4.add(lo, hi);
  const t = f32x4.add(s, v128.shuffle<f32>(s, s, 2, 3, 0, 1));
  store<f32>(out, f32x4.extract_lane(t, 0));
  store<f32>(out, f32x4.extract_lane(t, 1), 4);
}

@inline function gradient(f: f32, label: f32, alpha: f32, expT: usize): f32 {
  if (f > MAX_EXP) return (label - 1) * alpha;
  if (f < -MAX_EXP) return label * alpha;
  return (label - load<f32>(expT + (<usize>(<i32>((f + MAX_EXP) * EXP_SCALE)) << 2))) * alpha;
}

/**
 * Negative-sampling updates for one hidden vector `h` predicting `word`: accumulates the gradient for
 * `h` in `e` (zeroed by the caller) and updates syn1neg. The positive word and the negatives are drawn
 * first and all their dot products taken before any update (two rows per pass, so their cache misses
 * overlap); word2vec.c interleaves the two, which differs only when a row is drawn twice in one step.
 * Negative k comes from bucket b uniform in [0, vocab): k = b when a coin is below threshold[b],
 * else alias[b]. `tg` is scratch for (negative + 1) targets and as many floats.
 * Returns the advanced random state.
 */
@inline function negSampling(
  h: usize, e: usize, word: i32, syn1: usize, stride: usize, dp: i32,
  alias: usize, vocab: i32, expT: usize, negative: i32, alpha: f32, rng: u64, tg: usize,
): u64 {
  const fs = tg + (<usize>(negative + 1) << 2);
  store<i32>(tg, word);
  let n = 1;
  for (let d = 0; d < negative; d++) {
    // One draw gives both the bucket (high half of x·V) and the coin (low half, uniform given the bucket).
    rng = nextRandom(rng);
    const m = ((rng >> 16) & 0xffffffff) * <u64>vocab;
    const b = <i32>(m >> 32);
    const slot = alias + (<usize>b << 3);
    const target = <u32>m < load<u32>(slot) ? b : load<i32>(slot, 4);
    if (target == word) continue;
    store<i32>(tg + (<usize>n << 2), target);
    n++;
  }
  let k = 0;
  for (; k + 1 < n; k += 2) {
    dot2(h, syn1 + <usize>load<i32>(tg + (<usize>k << 2)) * stride, syn1 + <usize>load<i32>(tg + (<usize>k << 2), 4) * stride, dp, fs + (<usize>k << 2));
  }
  if (k < n) store<f32>(fs + (<usize>k << 2), dot(h, syn1 + <usize>load<i32>(tg + (<usize>k << 2)) * stride, dp));
  for (k = 0; k + 1 < n; k += 2) {
    const ga = gradient(load<f32>(fs + (<usize>k << 2)), k == 0 ? 1 : 0, alpha, expT);
    const gb = gradient(load<f32>(fs + (<usize>k << 2), 4), 0, alpha, expT);
    const ra = syn1 + <usize>load<i32>(tg + (<usize>k << 2)) * stride;
    const rb = syn1 + <usize>load<i32>(tg + (<usize>k << 2), 4) * stride;
    // A row drawn twice must see its first update before its second.
    if (ra == rb) {
      updatePair(e, ra, h, ga, dp);
      updatePair(e, rb, h, gb, dp);
    } else updatePair2(e, ra, rb, h, ga, gb, dp);
  }
  if (k < n) updatePair(e, syn1 + <usize>load<i32>(tg + (<usize>k << 2)) * stride, h, gradient(load<f32>(fs + (<usize>k << 2)), k == 0 ? 1 : 0, alpha, expT), dp);
  return rng;
}

/**
 * Trains on one chunk: `nSent` sentences whose lengths are at `lens` (i32) and whose word ids follow
 * each other at `ids` (i32). The learning rate goes linearly from alpha0 (first word of the chunk) to
 * alpha1 (after its last word). `work` holds this thread's scratch: h (dp f32), e (dp f32), room for
 * the longest sentence (`maxSentence` i32), then 2 × (negative + 1) words of sampling scratch. The thread's random state is the u64 at `rngPtr`.
 * Returns the number of words trained on after subsampling (gensim's "effective words").
 */
export function trainChunk(
  syn0: usize, syn1: usize, dp: i32,
  alias: usize, vocab: i32, keep: usize, subsample: i32, expT: usize,
  ids: usize, lens: usize, nSent: i32,
  work: usize, rngPtr: usize, maxSentence: i32,
  window: i32, negative: i32, sg: i32, cbowMean: i32,
  alpha0: f32, alpha1: f32,
): i32 {
  const stride = <usize>dp << 2;
  const h = work;
  const e = work + stride;
  const sen = work + (stride << 1);
  const tg = sen + (<usize>maxSentence << 2);
  let rng = load<u64>(rngPtr);
  let total = 0;
  for (let s = 0; s < nSent; s++) total += load<i32>(lens + (<usize>s << 2));
  const dAlpha: f32 = total > 0 ? (alpha1 - alpha0) / <f32>total : 0;
  let seen = 0;
  let effective = 0;
  let p = ids;
  for (let s = 0; s < nSent; s++) {
    const len = load<i32>(lens + (<usize>s << 2));
    const alpha: f32 = alpha0 + dAlpha * <f32>seen;
    seen += len;
    // Subsample into sen[].
    let n = 0;
    for (let i = 0; i < len; i++) {
      const w = load<i32>(p + (<usize>i << 2));
      if (subsample) {
        rng = nextRandom(rng);
        if (load<u32>(keep + (<usize>w << 2)) < <u32>(rng >> 16)) continue;
      }
      store<i32>(sen + (<usize>n << 2), w);
      n++;
    }
    p += <usize>len << 2;
    effective += n;
    for (let i = 0; i < n; i++) {
      const word = load<i32>(sen + (<usize>i << 2));
      rng = nextRandom(rng);
      const b = below(rng, window);
      let j0 = i - window + b;
      if (j0 < 0) j0 = 0;
      let j1 = i + window - b;
      if (j1 > n - 1) j1 = n - 1;
      if (sg) {
        for (let j = j0; j <= j1; j++) {
          if (j == i) continue;
          const l1 = syn0 + <usize>load<i32>(sen + (<usize>j << 2)) * stride;
          zero(e, dp);
          rng = negSampling(l1, e, word, syn1, stride, dp, alias, vocab, expT, negative, alpha, rng, tg);
          addTo(l1, e, dp);
        }
      } else {
        zero(h, dp);
        let cw = 0;
        for (let j = j0; j <= j1; j++) {
          if (j == i) continue;
          addTo(h, syn0 + <usize>load<i32>(sen + (<usize>j << 2)) * stride, dp);
          cw++;
        }
        if (cw == 0) continue;
        if (cbowMean) scale(h, <f32>1 / <f32>cw, dp);
        zero(e, dp);
        rng = negSampling(h, e, word, syn1, stride, dp, alias, vocab, expT, negative, alpha, rng, tg);
        for (let j = j0; j <= j1; j++) {
          if (j == i) continue;
          addTo(syn0 + <usize>load<i32>(sen + (<usize>j << 2)) * stride, e, dp);
        }
      }
    }
  }
  store<u64>(rngPtr, rng);
  return effective;
}
