// Dense float32 products for PCA (AssemblyScript → wasm SIMD128).
//
// Memory is imported and shared: worker threads instantiate this module on one SharedArrayBuffer-backed
// WebAssembly.Memory and each works on its own rows. No data segments, no allocations: every buffer
// lives at a byte offset chosen by the JS driver (src/linalg/dense.ts).
//
// One product shape does all the work: C[i, j] = Σ_t A[i, t] · B[j, t] ("NT": rows of A dotted with rows
// of B), row-major, k a multiple of 4 and every row 16-byte aligned. Xᵀ·Y is the same product on
// transposed chunks of rows (see `transpose`), accumulated in float64 so long sums keep their digits.

/** First free byte after the module's own (empty) static area. */
export function heapBase(): usize { return __heap_base; }

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// Writes one result: float32 store (acc = 0) or float64 add (acc = 1; C is then a float64 matrix).
@inline function put(C: usize, ldc: i32, i: i32, j: i32, acc: i32, v: f32): void {
  if (acc) {
    const p = C + ((<usize>i * <usize>ldc + <usize>j) << 3);
    store<f64>(p, load<f64>(p) + <f64>v);
  } else {
    store<f32>(C + ((<usize>i * <usize>ldc + <usize>j) << 2), v);
  }
}

/**
 * C[i, j] (+)= Σ_t A[i, t]·B[j, t] for i < m, j < p, t < k. Strides lda/ldb in floats (multiples of 4),
 * ldc in elements of C. Rows of B are taken in blocks that fit L2 while 4 rows of A stay in L1; the
 * microkernel is 4 rows of A × 2 rows of B with eight f32x4 accumulators (more spill registers on x86-64).
 */
export function nt(A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, m: i32, p: i32, k: i32, acc: i32): void {
  const sa = <usize>lda << 2, sb = <usize>ldb << 2;
  const kb = <usize>k << 2;
  let jb = <i32>(<usize>262144 / (kb > 0 ? kb : 16)) & ~1;
  if (jb < 2) jb = 2;
  for (let j0 = 0; j0 < p; j0 += jb) {
    const j1 = min(p, j0 + jb);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = A + <usize>i * sa, a1 = a0 + sa, a2 = a1 + sa, a3 = a2 + sa;
      let j = j0;
      for (; j + 2 <= j1; j += 2) {
        const b0 = B + <usize>j * sb, b1 = b0 + sb;
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        for (let t: usize = 0; t < kb; t += 16) {
          const x0 = v128.load(b0 + t), x1 = v128.load(b1 + t);
          let y = v128.load(a0 + t);
          c00 = f32x4.add(c00, f32x4.mul(y, x0)); c01 = f32x4.add(c01, f32x4.mul(y, x1));
          y = v128.load(a1 + t);
          c10 = f32x4.add(c10, f32x4.mul(y, x0)); c11 = f32x4.add(c11, f32x4.mul(y, x1));
          y = v128.load(a2 + t);
          c20 = f32x4.add(c20, f32x4.mul(y, x0)); c21 = f32x4.add(c21, f32x4.mul(y, x1));
          y = v128.load(a3 + t);
          c30 = f32x4.add(c30, f32x4.mul(y, x0)); c31 = f32x4.add(c31, f32x4.mul(y, x1));
        }
        put(C, ldc, i, j, acc, hsum(c00)); put(C, ldc, i, j + 1, acc, hsum(c01));
        put(C, ldc, i + 1, j, acc, hsum(c10)); put(C, ldc, i + 1, j + 1, acc, hsum(c11));
        put(C, ldc, i + 2, j, acc, hsum(c20)); put(C, ldc, i + 2, j + 1, acc, hsum(c21));
        put(C, ldc, i + 3, j, acc, hsum(c30)); put(C, ldc, i + 3, j + 1, acc, hsum(c31));
      }
      for (; j < j1; j++) {
        const b0 = B + <usize>j * sb;
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        for (let t: usize = 0; t < kb; t += 16) {
          const x0 = v128.load(b0 + t);
          c0 = f32x4.add(c0, f32x4.mul(v128.load(a0 + t), x0));
          c1 = f32x4.add(c1, f32x4.mul(v128.load(a1 + t), x0));
          c2 = f32x4.add(c2, f32x4.mul(v128.load(a2 + t), x0));
          c3 = f32x4.add(c3, f32x4.mul(v128.load(a3 + t), x0));
        }
        put(C, ldc, i, j, acc, hsum(c0)); put(C, ldc, i + 1, j, acc, hsum(c1));
        put(C, ldc, i + 2, j, acc, hsum(c2)); put(C, ldc, i + 3, j, acc, hsum(c3));
      }
    }
    // Leftover rows of A: same lane-wise accumulation and horizontal sum as the microkernel, so a row
    // gives the same bits whichever path computes it.
    for (; i < m; i++) {
      const a0 = A + <usize>i * sa;
      for (let j = j0; j < j1; j++) {
        const b0 = B + <usize>j * sb;
        let c0 = f32x4.splat(0);
        for (let t: usize = 0; t < kb; t += 16) c0 = f32x4.add(c0, f32x4.mul(v128.load(a0 + t), v128.load(b0 + t)));
        put(C, ldc, i, j, acc, hsum(c0));
      }
    }
  }
}

/** dst[c, r] = src[r, c] for r < rows, c < cols (strides in floats); dst columns rows..ldd-1 are zeroed. */
export function transpose(src: usize, lds: i32, rows: i32, cols: i32, dst: usize, ldd: i32): void {
  // 4-row strips keep the reads of src sequential and write 16 bytes at a time.
  const ss = <usize>lds << 2, sd = <usize>ldd << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const s0 = src + <usize>r * ss, s1 = s0 + ss, s2 = s1 + ss, s3 = s2 + ss;
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      let v = f32x4.splat(load<f32>(s0 + o));
      v = f32x4.replace_lane(v, 1, load<f32>(s1 + o));
      v = f32x4.replace_lane(v, 2, load<f32>(s2 + o));
      v = f32x4.replace_lane(v, 3, load<f32>(s3 + o));
      v128.store(dst + <usize>c * sd + (<usize>r << 2), v);
    }
  }
  for (; r < rows; r++) {
    const s0 = src + <usize>r * ss;
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>c * sd + (<usize>r << 2), load<f32>(s0 + (<usize>c << 2)));
  }
  for (let c = 0; c < cols; c++) for (let z = rows; z < ldd; z++) store<f32>(dst + <usize>c * sd + (<usize>z << 2), 0);
}

/**
 * Rows [r0, r1) of X (stride ldx floats) minus the float64 mean (d values at `mean`), rounded once to
 * float32; columns d..ldx-1 are zeroed.
 */
export function centerRows(X: usize, ldx: i32, r0: i32, r1: i32, d: i32, mean: usize): void {
  for (let r = r0; r < r1; r++) {
    const row = X + ((<usize>r * <usize>ldx) << 2);
    for (let j = 0; j < d; j++) {
      const p = row + (<usize>j << 2);
      store<f32>(p, <f32>(<f64>load<f32>(p) - load<f64>(mean + (<usize>j << 3))));
    }
    for (let j = d; j < ldx; j++) store<f32>(row + (<usize>j << 2), 0);
  }
}
