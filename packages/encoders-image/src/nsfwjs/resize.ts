import type { RgbImage } from "../decode/decode.js";

/**
 * 8-bit RGB → size × size × 3 float32 in [0, 1], as nsfwjs prepares its input: x / 255, then the whole
 * image bilinearly resized with align-corners (tf.image.resizeBilinear(·, [size, size], true); the same
 * arithmetic as tfjs's kernel: interpolate along the row, then between rows). An image already of that
 * size is only scaled.
 */
export function resizeBilinearAlignCorners(img: RgbImage, size: number): Float32Array {
  const { width: w, height: h, data } = img;
  const out = new Float32Array(size * size * 3);
  if (w === size && h === size) {
    for (let i = 0; i < out.length; i++) out[i] = data[i]! / 255;
    return out;
  }
  const sy = size > 1 ? (h - 1) / (size - 1) : h / size;
  const sx = size > 1 ? (w - 1) / (size - 1) : w / size;
  const x0 = new Int32Array(size);
  const x1 = new Int32Array(size);
  const fx = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const s = x * sx;
    x0[x] = Math.floor(s);
    x1[x] = Math.min(w - 1, Math.ceil(s));
    fx[x] = s - x0[x]!;
  }
  const f = (v: number) => v / 255;
  for (let y = 0; y < size; y++) {
    const s = y * sy;
    const top = Math.floor(s);
    const bottom = Math.min(h - 1, Math.ceil(s));
    const fy = s - top;
    const rt = top * w * 3;
    const rb = bottom * w * 3;
    for (let x = 0; x < size; x++) {
      const a = x0[x]! * 3;
      const b = x1[x]! * 3;
      const t = fx[x]!;
      for (let c = 0; c < 3; c++) {
        const tl = f(data[rt + a + c]!);
        const tr = f(data[rt + b + c]!);
        const bl = f(data[rb + a + c]!);
        const br = f(data[rb + b + c]!);
        const vt = tl + (tr - tl) * t;
        const vb = bl + (br - bl) * t;
        out[(y * size + x) * 3 + c] = vt + (vb - vt) * fy;
      }
    }
  }
  return out;
}
