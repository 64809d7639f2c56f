import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { encodeNpy, parseNpy, readNpyFile, writeNpyFile } from "./npy.js";
import { DTYPES, type DType, type Tensor, type TypedArray } from "./tensor.js";
import { errorOf } from "../testing/errors.js";

/** Runs a Python snippet with numpy; fails (never skips) when python3 or numpy is missing. */
function python(script: string, args: string[] = []): string {
  try {
    execFileSync("python3", ["-c", "import numpy"], { stdio: "pipe" });
  } catch (e) {
    throw new Error(
      `this test cross-checks NPY files against numpy and needs python3 with numpy on PATH (pip install "numpy>=2"); ` +
        `running 'python3 -c "import numpy"' failed: ${(e as Error).message}`,
    );
  }
  return execFileSync("python3", ["-c", script, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}


/** Values that exercise each dtype's range: negatives, extremes, fractions. */
function sample(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return Float32Array.from({ length: n }, (_, i) => (i - 7) / 4 + (i === 1 ? 3.4028234663852886e38 : 0));
    case "float64":
      return Float64Array.from({ length: n }, (_, i) => (i === 2 ? Number.MIN_VALUE : (i - 7) / 3));
    case "int32":
      return Int32Array.from({ length: n }, (_, i) => (i === 0 ? -2147483648 : i === 1 ? 2147483647 : i * 1000 - 5000));
    case "uint8":
      return Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
    case "int8":
      return Int8Array.from({ length: n }, (_, i) => ((i * 37) % 256) - 128);
    case "int16":
      return Int16Array.from({ length: n }, (_, i) => (i === 0 ? -32768 : i * 1111 - 12000));
    case "uint16":
      return Uint16Array.from({ length: n }, (_, i) => (i === 0 ? 65535 : i * 2222));
    case "uint32":
      return Uint32Array.from({ length: n }, (_, i) => (i === 0 ? 4294967295 : i * 123456));
    case "int64":
      return BigInt64Array.from({ length: n }, (_, i) => (i === 0 ? -(2n ** 63n) : i === 1 ? 2n ** 62n + 1n : BigInt(i) * -987654321987n));
  }
}

describe("encodeNpy/parseNpy", () => {
  it.each(DTYPES)("round-trips %s in several shapes", (dtype) => {
    for (const shape of [[2, 3, 4], [24], [], [0, 5]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const t: Tensor = { dtype, shape, data: sample(dtype, n) };
      const bytes = encodeNpy(t);
      const back = parseNpy(bytes);
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual(shape);
      expect(back.data.constructor).toBe(t.data.constructor);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
  });

  it("pads the header so data starts on a 64-byte boundary", () => {
    for (const shape of [[1], [123456789, 0], [3, 4, 5, 6, 7, 8, 9]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = encodeNpy({ dtype: "float64", shape, data: new Float64Array(n) });
      const headerLen = bytes[8]! | (bytes[9]! << 8);
      expect((10 + headerLen) % 64).toBe(0);
      expect(bytes[10 + headerLen - 1]).toBe(0x0a);
      expect(bytes.length).toBe(10 + headerLen + n * 8);
    }
  });

  it("reads data that starts at an unaligned offset by copying it", () => {
    const t: Tensor = { dtype: "float64", shape: [5], data: Float64Array.from([1.5, -2, 3.25, 1e300, -0]) };
    const enc = encodeNpy(t);
    const shifted = new Uint8Array(enc.length + 3);
    shifted.set(enc, 3);
    const back = parseNpy(shifted.subarray(3));
    expect(Array.from(back.data as Float64Array)).toEqual([1.5, -2, 3.25, 1e300, -0]);
  });

  it("rejects data whose type does not match its dtype or shape", () => {
    expect(errorOf(() => encodeNpy({ dtype: "float32", shape: [2], data: new Float64Array(2) })).code).toBe("E_DTYPE");
    expect(errorOf(() => encodeNpy({ dtype: "float32", shape: [3], data: new Float32Array(2) })).code).toBe("E_SHAPE");
  });

  it("reports bad magic, truncation and zip archives as E_NPY_FORMAT", () => {
    const good = encodeNpy({ dtype: "int32", shape: [10], data: new Int32Array(10) });

    const notNpy = errorOf(() => parseNpy(new TextEncoder().encode("hello world, not an array"), "x.npy"));
    expect(notNpy.code).toBe("E_NPY_FORMAT");
    expect(notNpy.message).toContain("x.npy");
    expect(notNpy.message).toContain("68 65 6c 6c 6f 20"); // what was found: "hello "

    const cut = errorOf(() => parseNpy(good.subarray(0, good.length - 1)));
    expect(cut.code).toBe("E_NPY_FORMAT");
    expect(cut.message).toContain("expected 40 data bytes");
    expect(cut.message).toContain("found 39");

    expect(errorOf(() => parseNpy(good.subarray(0, 30))).code).toBe("E_NPY_FORMAT");
    expect(errorOf(() => parseNpy(good.subarray(0, 4))).code).toBe("E_NPY_FORMAT");
    expect(errorOf(() => parseNpy(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0]))).hint).toContain(".npz");
  });

  it("rejects an unknown format version", () => {
    const bytes = encodeNpy({ dtype: "uint8", shape: [1], data: new Uint8Array(1) });
    bytes[6] = 9;
    expect(errorOf(() => parseNpy(bytes)).code).toBe("E_NPY_UNSUPPORTED");
  });
});

describe("NPY against numpy", () => {
  const descr: Record<DType, string> = {
    float32: "<f4",
    float64: "<f8",
    int32: "<i4",
    uint8: "|u1",
    int8: "|i1",
    int16: "<i2",
    uint16: "<u2",
    uint32: "<u4",
    int64: "<i8",
  };

  it("writes files byte-identical to numpy.save, and reads what numpy.save wrote", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-npy-"));
    // numpy builds the same values as sample(): arange-based formulas plus the same extremes.
    python(
      `
import sys, numpy as np
d = sys.argv[1]
def arr(dt, n):
    i = np.arange(n)
    if dt == 'float32':
        a = ((i - 7) / 4).astype('<f4'); a[1] += np.float32(3.4028234663852886e38); return a
    if dt == 'float64':
        a = (i - 7) / 3; a[2] = 5e-324; return a.astype('<f8')
    if dt == 'int32':
        a = (i * 1000 - 5000).astype('<i4'); a[0] = -2147483648; a[1] = 2147483647; return a
    if dt == 'uint8': return ((i * 37) % 256).astype('|u1')
    if dt == 'int8': return (((i * 37) % 256) - 128).astype('|i1')
    if dt == 'int16':
        a = (i * 1111 - 12000).astype('<i2'); a[0] = -32768; return a
    if dt == 'uint16':
        a = (i * 2222).astype('<u2'); a[0] = 65535; return a
    if dt == 'uint32':
        a = (i * 123456).astype('<u4'); a[0] = 4294967295; return a
    if dt == 'int64':
        a = (i.astype('<i8') * -987654321987); a[0] = -(2**63); a[1] = 2**62 + 1; return a
for dt in sys.argv[2:]:
    np.save(f"{d}/{dt}.npy", arr(dt, 24).reshape(2, 3, 4))
`,
      [dir, ...DTYPES],
    );
    for (const dtype of DTYPES) {
      const fromNumpy = readFileSync(join(dir, `${dtype}.npy`));
      const t = parseNpy(fromNumpy, `${dtype}.npy`);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2, 3, 4]);
      const expected = sample(dtype, 24);
      expect(Array.from(t.data as ArrayLike<number | bigint>), dtype).toEqual(Array.from(expected as ArrayLike<number | bigint>));
      expect(Buffer.from(encodeNpy({ dtype, shape: [2, 3, 4], data: expected })).equals(fromNumpy), `${dtype} bytes equal numpy's`).toBe(true);
      expect(readFileSync(join(dir, `${dtype}.npy`)).subarray(10, 30).toString("latin1")).toContain(descr[dtype]);
    }
  });

  it("matches numpy.save's header bytes for shapes whose header spans one, two or more 64-byte blocks", () => {
    // Empty arrays keep the files small while long shapes push the header across block boundaries. The last
    // shape makes the unpadded header end exactly on a boundary, where numpy adds a whole block of padding.
    const shapes = [
      [],
      [0],
      [7],
      [0, 3],
      [0, 123456789012],
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      Array.from({ length: 20 }, (_, i) => (i === 5 ? 0 : 7)),
      [0, 117, ...Array<number>(12).fill(7)],
    ];
    const dir = mkdtempSync(join(tmpdir(), "lf-npy-"));
    python(
      `
import sys, json, numpy as np
d = sys.argv[1]
for i, s in enumerate(json.loads(sys.argv[2])):
    np.save(f"{d}/{i}.npy", np.zeros(tuple(s), dtype='<f8'))
`,
      [dir, JSON.stringify(shapes)],
    );
    shapes.forEach((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const ours = encodeNpy({ dtype: "float64", shape, data: new Float64Array(n) });
      const theirs = readFileSync(join(dir, `${i}.npy`));
      expect(Buffer.from(ours).toString("latin1"), `shape [${shape.join(", ")}]`).toBe(theirs.toString("latin1"));
    });
  });

  it("has numpy load the files we write, with the same values", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-npy-"));
    const shapes: Record<DType, number[]> = {
      float32: [4, 6],
      float64: [24],
      int32: [2, 2, 6],
      uint8: [24, 1],
      int8: [3, 8],
      int16: [1, 24],
      uint16: [6, 4],
      uint32: [2, 12],
      int64: [8, 3],
    };
    for (const dtype of DTYPES) await writeNpyFile(join(dir, `${dtype}.npy`), { dtype, shape: shapes[dtype], data: sample(dtype, 24) });
    await writeNpyFile(join(dir, "empty.npy"), { dtype: "float32", shape: [0, 7], data: new Float32Array(0) });
    await writeNpyFile(join(dir, "scalar.npy"), { dtype: "float64", shape: [], data: Float64Array.of(2.5) });
    const out = python(
      `
import sys, json, numpy as np
d = sys.argv[1]
res = {}
for name in sys.argv[2:]:
    a = np.load(f"{d}/{name}.npy", allow_pickle=False)
    # int64 values leave Python as strings: JSON numbers would lose precision in JavaScript.
    vals = [str(v) for v in a.ravel().tolist()] if a.dtype == np.int64 else a.ravel().tolist()
    res[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "c": bool(a.flags.c_contiguous), "values": vals}
print(json.dumps(res))
`,
      [dir, ...DTYPES, "empty", "scalar"],
    );
    const res = JSON.parse(out) as Record<string, { dtype: string; shape: number[]; c: boolean; values: (number | string)[] }>;
    for (const dtype of DTYPES) {
      const r = res[dtype]!;
      expect(r.dtype, dtype).toBe(descr[dtype]);
      expect(r.shape, dtype).toEqual(shapes[dtype]);
      expect(r.c).toBe(true);
      const expected = Array.from(sample(dtype, 24) as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? String(v) : v));
      expect(r.values, dtype).toEqual(expected);
    }
    expect(res.empty).toEqual({ dtype: "<f4", shape: [0, 7], c: true, values: [] });
    expect(res.scalar).toEqual({ dtype: "<f8", shape: [], c: true, values: [2.5] });
  });

  it("reads format versions 2.0 and 3.0 and refuses Fortran order and big-endian data with a hint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-npy-"));
    python(
      `
import sys, numpy as np
from numpy.lib import format as fmt
d = sys.argv[1]
a = np.arange(12, dtype='<f8').reshape(3, 4) / 8
for v in [(2, 0), (3, 0)]:
    with open(f"{d}/v{v[0]}.npy", "wb") as f:
        fmt.write_array(f, a, version=v)
np.save(f"{d}/fortran.npy", np.asfortranarray(a))
np.save(f"{d}/big.npy", np.arange(3, dtype='>f4'))
np.save(f"{d}/big_u1.npy", np.arange(3, dtype='>u1'))
np.save(f"{d}/bool.npy", np.array([True, False]))
`,
      [dir],
    );
    for (const v of ["v2", "v3"]) {
      const bytes = readFileSync(join(dir, `${v}.npy`));
      expect(bytes[6]).toBe(Number(v[1]));
      const t = parseNpy(bytes);
      expect(t.shape).toEqual([3, 4]);
      expect(Array.from(t.data as Float64Array)).toEqual(Array.from({ length: 12 }, (_, i) => i / 8));
    }
    const fortran = await readNpyFile(join(dir, "fortran.npy")).catch((e: unknown) => e);
    expect(fortran).toBeInstanceOf(LatentflowError);
    expect((fortran as LatentflowError).code).toBe("E_NPY_UNSUPPORTED");
    expect((fortran as LatentflowError).message).toContain("fortran_order True");
    expect((fortran as LatentflowError).hint).toContain("ascontiguousarray");

    const big = errorOf(() => parseNpy(readFileSync(join(dir, "big.npy")), "big.npy"));
    expect(big.code).toBe("E_NPY_UNSUPPORTED");
    expect(big.message).toContain("'>f4'");
    expect(big.hint).toContain("astype('<f4')");

    // Byte order means nothing for one-byte types, so a '>u1' request must still read.
    expect(Array.from(parseNpy(readFileSync(join(dir, "big_u1.npy"))).data as Uint8Array)).toEqual([0, 1, 2]);

    const bool = errorOf(() => parseNpy(readFileSync(join(dir, "bool.npy"))));
    expect(bool.code).toBe("E_NPY_UNSUPPORTED");
    expect(bool.message).toContain("'|b1'");
  });

  it("reads a hand-written header from old numpy versions (double quotes, Python 2 longs)", () => {
    const header = `{"descr": "<i4", "fortran_order": False, "shape": (2L, 2L)}`;
    const padLen = 64 - ((10 + header.length + 1) % 64);
    const text = header + " ".repeat(padLen) + "\n";
    const bytes = new Uint8Array(10 + text.length + 16);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
    bytes.set(new TextEncoder().encode(text), 10);
    new Int32Array(bytes.buffer, 10 + text.length, 4).set([1, -2, 3, -4]);
    const t = parseNpy(bytes);
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data as Int32Array)).toEqual([1, -2, 3, -4]);
  });
});
