import { open, stat } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { LatentflowError } from "../errors.js";
import { gzipError, isGzip, openMaybeGzipped } from "./gzip.js";
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

const MAX_DEFLATE_RATIO = 1032;

/** Largest decompressed size parseIdx inflates an in-memory gzip buffer to (readIdxFile streams instead). */
export const PARSE_IDX_MAX_BYTES = 1 << 30;

/**
 * Reads an IDX file (MNIST and friends) into a tensor with native byte order, gunzipping it first when it is
 * gzip-compressed (at most `maxBytes` decompressed, 1 GiB by default). One-byte data views the (decompressed)
 * bytes; wider types are converted into a new array. `file` names the source in error messages.
 */
export function parseIdx(bytes: Uint8Array, file?: string, opts: { maxBytes?: number } = {}): Tensor {
  const where = file ? `IDX file '${file}'` : "IDX data";
  if (isGzip(bytes)) {
    const maxBytes = opts.maxBytes ?? PARSE_IDX_MAX_BYTES;
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new LatentflowError("E_TOO_LARGE", `${where}: expected at most ${maxBytes} bytes after gunzipping, found more`, {
          hint: "read the file with readIdxFile, which streams and reads only the items asked for, or raise maxBytes",
          data: { file, limit: maxBytes },
        });
      }
      throw corruptGzip(where, file, cause);
    }
  }
  if (bytes.length < 4) throw badMagic(where, file, bytes);
  const h = parseHeader(bytes, where, file);
  if (!h) {
    throw new LatentflowError("E_IDX_FORMAT", `${where}: expected ${bytes.length < 4 ? 4 : 4 + 4 * bytes[3]!} header bytes, found ${bytes.length}`, {
      hint: "the file is truncated; fetch it again",
      data: { file, found: bytes.length },
    });
  }
  const expected = h.headerLen + h.total * h.itemBytes;
  if (bytes.length !== expected) throw sizeMismatch(where, file, h, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dtype: h.dtype, shape: h.shape, data: readBigEndian(h.dtype, view, h.headerLen, tensorSize(h.shape)) };
}

export interface ReadIdxOptions {
  /** First item (along the first dimension) to read. Default 0. */
  offset?: number;
  /** Read at most this many items. Default: all from `offset` on. */
  limit?: number;
}

/** Items read from an IDX file, and how many the file holds. */
export interface IdxItems {
  /** shape[0] is the number of items read. */
  tensor: Tensor;
  /** Items the header declares. */
  total: number;
}

/**
 * Reads items `offset … offset + limit` of an IDX file (`.gz` or not) without reading the rest: the header comes
 * first, a plain file is read at the items' position, and a gzip stream is inflated only as far as those items
 * need. Memory is bounded by the items asked for, whatever the file claims or holds; a stream that inflates past
 * what its header declares, or stops short of it, is refused with E_IDX_FORMAT.
 */
export async function readIdxItems(path: string, opts: ReadIdxOptions = {}): Promise<IdxItems> {
  const where = `IDX file '${path}'`;
  const offset = opts.offset ?? 0;
  const src = await openMaybeGzipped(path);
  if (!src.gzip) {
    src.close();
    return readPlainIdx(path, where, offset, opts.limit);
  }
  let header = Buffer.alloc(0);
  let h: Header | undefined;
  let pos = 0; // decompressed bytes seen
  let start = 0;
  let end = 0;
  let declared = 0;
  let out = Buffer.alloc(0);
  const compressed = (await stat(path)).size;
  try {
    for await (const chunk of src.stream as AsyncIterable<Buffer>) {
      let c = chunk;
      if (!h) {
        header = Buffer.concat([header, c]);
        h = parseHeader(header, where, path);
        if (!h) {
          pos = header.length;
          continue;
        }
        ({ start, end } = itemRange(h, offset, opts.limit));
        declared = h.headerLen + h.total * h.itemBytes;
        // Deflate cannot compress better than 1032:1, so such a header cannot be true of this file.
        if (declared > compressed * MAX_DEFLATE_RATIO + 1024) {
          throw new LatentflowError("E_IDX_FORMAT", `${where}: the header declares ${declared} bytes (shape [${h.shape.join(", ")}]), more than a ${compressed}-byte gzip file can inflate to`, {
            hint: "the header is corrupt or the file is truncated; fetch it again",
            data: { file: path, declared, compressed, shape: h.shape },
          });
        }
        // Zero-filled memory costs nothing until written, so a header that lies about its size costs nothing here.
        out = Buffer.alloc(end - start);
        c = header;
        pos = 0;
      }
      const cEnd = pos + c.length;
      if (cEnd > declared) {
        throw new LatentflowError("E_IDX_FORMAT", `${where}: the gzip stream inflates past the ${declared} bytes its header declares (${h.headerLen} header + ${h.total} items × ${h.itemBytes} bytes, shape [${h.shape.join(", ")}])`, {
          hint: "the file is not what its header says (trailing data, two files concatenated, or a decompression bomb); fetch it again",
          data: { file: path, declared, shape: h.shape },
        });
      }
      const from = Math.max(start, pos);
      const to = Math.min(end, cEnd);
      if (to > from) c.copy(out, from - start, from - pos, to - pos);
      pos = cEnd;
      // Everything asked for has arrived; the rest is never inflated. Reading to the end checks the size.
      if (pos >= end && end < declared) break;
    }
  } catch (e) {
    throw gzipError(e, path, "E_IDX_FORMAT", "IDX file") ?? e;
  } finally {
    src.close();
  }
  if (!h) {
    throw new LatentflowError("E_IDX_FORMAT", `${where}: expected an IDX header (the magic 00 00 <type> <rank> and the dimensions), found ${pos} bytes`, {
      hint: "the file is truncated; fetch it again",
      data: { file: path, found: pos },
    });
  }
  if (pos < end) throw sizeMismatch(where, path, h, pos);
  return { tensor: itemsTensor(h, out, (end - start) / Math.max(1, h.itemBytes)), total: h.total };
}

/** Reads an IDX file (`.gz` or not) from disk; `offset`/`limit` read only some items (see readIdxItems). */
export async function readIdxFile(path: string, opts: ReadIdxOptions = {}): Promise<Tensor> {
  return (await readIdxItems(path, opts)).tensor;
}

interface Header {
  dtype: DType;
  shape: number[];
  headerLen: number;
  /** Items along the first dimension. */
  total: number;
  /** Bytes per item: the product of the other dimensions times the element size. */
  itemBytes: number;
}

/** The header of IDX bytes, or undefined when more bytes are needed; throws on a bad magic or type. */
function parseHeader(bytes: Uint8Array, where: string, file: string | undefined): Header | undefined {
  if (bytes.length >= 2 && (bytes[0] !== 0 || bytes[1] !== 0)) throw badMagic(where, file, bytes);
  if (bytes.length < 4) return undefined;
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
  if (bytes.length < headerLen) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const itemBytes = shape.slice(1).reduce((a, b) => a * b, 1) * bytesPerElement(dtype);
  return { dtype, shape, headerLen, total: rank === 0 ? 1 : shape[0]!, itemBytes };
}

function badMagic(where: string, file: string | undefined, bytes: Uint8Array): LatentflowError {
  return new LatentflowError("E_IDX_FORMAT", `${where}: expected the IDX magic 00 00 <type> <rank>, found ${hex(bytes.subarray(0, 4))}`, {
      hint: "IDX files start with two zero bytes; check the file is an MNIST-style .idx/-ubyte file (optionally .gz)",
      data: { file, found: hex(bytes.subarray(0, 4)) },
    });
}

function itemRange(h: Header, offset: number, limit: number | undefined): { start: number; end: number } {
  const first = Math.min(offset, h.total);
  const last = Math.min(h.total, first + (limit ?? Infinity));
  return { start: h.headerLen + first * h.itemBytes, end: h.headerLen + last * h.itemBytes };
}

async function readPlainIdx(path: string, where: string, offset: number, limit: number | undefined): Promise<IdxItems> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, 4 + 4 * 255));
    await fh.read(head, 0, head.length, 0);
    if (size < 4) throw badMagic(where, path, head);
    const h = parseHeader(head, where, path);
    if (!h) {
      throw new LatentflowError("E_IDX_FORMAT", `${where}: expected ${size < 4 ? 4 : 4 + 4 * head[3]!} header bytes, found ${size}`, {
        hint: "the file is truncated; fetch it again",
        data: { file: path, found: size },
      });
    }
    if (size !== h.headerLen + h.total * h.itemBytes) throw sizeMismatch(where, path, h, size);
    const { start, end } = itemRange(h, offset, limit);
    const bytes = Buffer.alloc(end - start);
    for (let done = 0; done < bytes.length; ) {
      const { bytesRead } = await fh.read(bytes, done, bytes.length - done, start + done);
      if (bytesRead === 0) throw sizeMismatch(where, path, h, start + done);
      done += bytesRead;
    }
    return { tensor: itemsTensor(h, bytes, (end - start) / Math.max(1, h.itemBytes)), total: h.total };
  } finally {
    await fh.close();
  }
}

function itemsTensor(h: Header, bytes: Uint8Array, count: number): Tensor {
  const shape = h.shape.length ? [count, ...h.shape.slice(1)] : [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dtype: h.dtype, shape, data: readBigEndian(h.dtype, view, 0, tensorSize(shape)) };
}

function sizeMismatch(where: string, file: string | undefined, h: Header, found: number): LatentflowError {
  const expected = h.headerLen + h.total * h.itemBytes;
  return new LatentflowError(
    "E_IDX_FORMAT",
    `${where}: expected ${expected} bytes (${h.headerLen} header + ${tensorSize(h.shape)} × ${bytesPerElement(h.dtype)}-byte ${h.dtype} for shape [${h.shape.join(", ")}]), found ${found}`,
    {
      hint: found < expected ? "the file is truncated; fetch it again" : "the file has trailing bytes; it may be two files concatenated",
      data: { file, expected, found, shape: h.shape },
    },
  );
}

function corruptGzip(where: string, file: string | undefined, cause: unknown): LatentflowError {
  return new LatentflowError("E_IDX_FORMAT", `${where}: expected a valid gzip stream (it starts with 1f 8b), found corrupt data: ${(cause as Error).message}`, {
    hint: "the download is probably truncated; fetch the file again",
    cause,
    data: { file },
  });
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
