import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { LatentflowError } from "../errors.js";
import { isGzip } from "./gzip.js";
import { allocTypedArray, bytesPerElement, tensorSize, type DType, type Tensor } from "./tensor.js";

// IDX (the MNIST format, http://yann.lecun.com/exdb/mnist/): two zero bytes, a type byte, a rank byte,
// `rank` big-endian uint32 dimensions, then the data, big-endian, in C order.
const DTYPE_BY_CODE: Record<number, DType> = {
  0x08: "uint8",
  0x09: "int8",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};

/**
 * Reads an IDX file (MNIST and friends) into a tensor with native byte order, gunzipping it first when it is
 * gzip-compressed. One-byte data views the (decompressed) bytes; wider types are converted into a new array.
 * `file` names the source in error messages.
 */
export function parseIdx(bytes: Uint8Array, file?: string): Tensor {
  const where = file ? `IDX file '${file}'` : "IDX data";
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (cause) {
      throw new LatentflowError("E_IDX_FORMAT", `${where}: expected a valid gzip stream (it starts with 1f 8b), found corrupt data: ${(cause as Error).message}`, {
        hint: "the download is probably truncated; fetch the file again",
        cause,
        data: { file },
      });
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new LatentflowError("E_IDX_FORMAT", `${where}: expected the IDX magic 00 00 <type> <rank>, found ${hex(bytes.subarray(0, 4))}`, {
      hint: "IDX files start with two zero bytes; check the file is an MNIST-style .idx/-ubyte file (optionally .gz)",
      data: { file, found: hex(bytes.subarray(0, 4)) },
    });
  }
  const typeCode = bytes[2]!;
  const dtype = DTYPE_BY_CODE[typeCode];
  if (!dtype) {
    throw new LatentflowError(
      "E_IDX_FORMAT",
      `${where}: expected a type byte among 08 (uint8), 09 (int8), 0b (int16), 0c (int32), 0d (float32), 0e (float64), found ${hex([typeCode])}`,
      { data: { file, typeCode } },
    );
  }
  const rank = bytes[3]!;
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    throw new LatentflowError("E_IDX_FORMAT", `${where}: expected ${headerLen} header bytes for ${rank} dimensions, found ${bytes.length}`, {
      hint: "the file is truncated; fetch it again",
      data: { file, expected: headerLen, found: bytes.length },
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const size = tensorSize(shape);
  const itemSize = bytesPerElement(dtype);
  const expected = headerLen + size * itemSize;
  if (bytes.length !== expected) {
    throw new LatentflowError(
      "E_IDX_FORMAT",
      `${where}: expected ${expected} bytes (${headerLen} header + ${size} × ${itemSize}-byte ${dtype} for shape [${shape.join(", ")}]), found ${bytes.length}`,
      {
        hint: bytes.length < expected ? "the file is truncated; fetch it again" : "the file has trailing bytes; it may be two files concatenated",
        data: { file, expected, found: bytes.length, shape },
      },
    );
  }
  return { dtype, shape, data: readBigEndian(dtype, view, headerLen, size) };
}

/** Reads an IDX file (`.gz` or not) from disk. */
export async function readIdxFile(path: string): Promise<Tensor> {
  return parseIdx(await readFile(path), path);
}

function readBigEndian(dtype: DType, view: DataView, offset: number, size: number): Tensor["data"] {
  // One-byte types have no byte order: view them instead of copying (MNIST training images are 47 MB).
  if (dtype === "uint8") return new Uint8Array(view.buffer, view.byteOffset + offset, size);
  if (dtype === "int8") return new Int8Array(view.buffer, view.byteOffset + offset, size);
  const out = allocTypedArray(dtype, size) as Int16Array | Int32Array | Float32Array | Float64Array;
  const step = bytesPerElement(dtype);
  const get =
    dtype === "int16"
      ? (o: number) => view.getInt16(o, false)
      : dtype === "int32"
        ? (o: number) => view.getInt32(o, false)
        : dtype === "float32"
          ? (o: number) => view.getFloat32(o, false)
          : (o: number) => view.getFloat64(o, false);
  for (let i = 0, o = offset; i < size; i++, o += step) out[i] = get(o);
  return out;
}

function hex(bytes: ArrayLike<number>): string {
  if (bytes.length === 0) return "no bytes";
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
