import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { endianness } from "node:os";
import { dirname } from "node:path";
import { LatentflowError, defineSpace, type Space } from "@latentflow/core";
import { WordVectors } from "./word-vectors.js";

// A compact binary file for a word-vector table, made to load fast: read the whole file into one buffer
// and view the matrix in place as a Float32Array (no parsing of numbers).
//
//   offset  size  field
//   0       4     magic "LFWV"
//   4       4     u32 format version (1)
//   8       4     u32 dim
//   12      4     u32 count (words)
//   16      4     u32 byte length of the meta JSON (UTF-8): { space, ...whatever the writer adds }
//   20      4     u32 byte length of the words block (UTF-8, words joined by "\n")
//   24      4     u32 flags: bit 0 = counts present
//   28      4     reserved (0)
//   32      …     meta JSON, then words, then zero padding to a multiple of 8
//   …       4·count·dim   float32 matrix, row-major, little-endian
//   …       pad to 8, then 8·count float64 counts (when flag bit 0)
//
// All integers and floats are little-endian. The total length is checked on read, so a truncated file is
// refused rather than half-loaded.

const MAGIC = 0x5657464c; // "LFWV" read as a little-endian u32
const FORMAT_VERSION = 1;
const HEADER = 32;
const LE = endianness() === "LE";

const pad8 = (n: number) => (n + 7) & ~7;

function corrupt(path: string, found: string): never {
  throw new LatentflowError("E_CACHE_CORRUPT", `word-vector file ${path}: expected a latentflow word-vector file (LFWV v${FORMAT_VERSION}), found ${found}`, {
    hint: "delete the file; it is rebuilt from its source on the next load",
    data: { expected: `LFWV v${FORMAT_VERSION}`, found, where: path },
  });
}

/** Bytes of a typed array in little-endian order (a view when the host is little-endian). */
function leBytes(a: Float32Array | Float64Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LE) return bytes;
  const out = new Uint8Array(bytes);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i += w) out.subarray(i, i + w).reverse();
  return out;
}

/** A typed array over `bytes[offset, offset + n·width)`: in place when aligned and little-endian, else a copy. */
function view<T extends Float32Array | Float64Array>(Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }, buf: Uint8Array, offset: number, n: number): T {
  const w = Ctor.BYTES_PER_ELEMENT;
  const at = buf.byteOffset + offset;
  if (LE && at % w === 0) return new Ctor(buf.buffer, at, n);
  const copy = buf.slice(offset, offset + n * w);
  if (!LE) for (let i = 0; i < copy.length; i += w) copy.subarray(i, i + w).reverse();
  return new Ctor(copy.buffer, 0, n);
}

/**
 * Writes `wv` to `path` atomically (a temporary file in the same directory, then rename): readers never
 * see a partial file, and concurrent writers of the same file leave one complete copy.
 */
export async function writeWordVectorsFile(path: string, wv: WordVectors, meta: Record<string, unknown> = {}): Promise<void> {
  for (let i = 0; i < wv.words.length; i++) {
    if (wv.words[i]!.includes("\n")) {
      throw new LatentflowError("E_PARAM", `word-vector file: expected words without newlines, found one in word ${i} (${JSON.stringify(wv.words[i])})`);
    }
  }
  const enc = new TextEncoder();
  const metaBytes = enc.encode(JSON.stringify({ ...meta, space: wv.space }));
  const wordBytes = enc.encode(wv.words.join("\n"));
  const head = new Uint8Array(pad8(HEADER + metaBytes.length + wordBytes.length));
  const dv = new DataView(head.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, FORMAT_VERSION, true);
  dv.setUint32(8, wv.dim, true);
  dv.setUint32(12, wv.size, true);
  dv.setUint32(16, metaBytes.length, true);
  dv.setUint32(20, wordBytes.length, true);
  dv.setUint32(24, wv.counts ? 1 : 0, true);
  head.set(metaBytes, HEADER);
  head.set(wordBytes, HEADER + metaBytes.length);
  const matrix = leBytes(wv.vectors);
  const parts: Uint8Array[] = [head, matrix];
  if (wv.counts) {
    parts.push(new Uint8Array(pad8(matrix.length) - matrix.length));
    parts.push(leBytes(wv.counts));
  }

  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "w");
  try {
    for (const p of parts) await fh.write(p);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Reads a file written by `writeWordVectorsFile`: the table and the meta stored with it. Throws E_CACHE_CORRUPT on a damaged file. */
export async function readWordVectorsFile(path: string): Promise<{ wordVectors: WordVectors; meta: Record<string, unknown> }> {
  const buf = await readFile(path);
  if (buf.length < HEADER) corrupt(path, `${buf.length} bytes`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) corrupt(path, "another kind of file (bad magic number)");
  const version = dv.getUint32(4, true);
  if (version !== FORMAT_VERSION) corrupt(path, `format version ${version}`);
  const dim = dv.getUint32(8, true);
  const count = dv.getUint32(12, true);
  const metaLen = dv.getUint32(16, true);
  const wordsLen = dv.getUint32(20, true);
  const hasCounts = (dv.getUint32(24, true) & 1) === 1;
  const matrixAt = pad8(HEADER + metaLen + wordsLen);
  const countsAt = pad8(matrixAt + 4 * count * dim);
  const expected = hasCounts ? countsAt + 8 * count : matrixAt + 4 * count * dim;
  if (buf.length !== expected) corrupt(path, `${buf.length} bytes where the header announces ${expected} (truncated?)`);
  const dec = new TextDecoder("utf-8", { fatal: true });
  let meta: Record<string, unknown>;
  let words: string[];
  try {
    meta = JSON.parse(dec.decode(buf.subarray(HEADER, HEADER + metaLen))) as Record<string, unknown>;
    const text = dec.decode(buf.subarray(HEADER + metaLen, HEADER + metaLen + wordsLen));
    words = count === 0 ? [] : text.split("\n");
  } catch {
    corrupt(path, "an unreadable meta or words block");
  }
  if (words.length !== count) corrupt(path, `${words.length} words where the header announces ${count}`);
  let space: Space;
  try {
    space = defineSpace(meta.space as Space);
  } catch {
    corrupt(path, "no valid space in its meta");
  }
  if (space.dim !== dim) corrupt(path, `a space of dim ${space.dim} for a matrix of dim ${dim}`);
  const vectors = view(Float32Array, buf, matrixAt, count * dim);
  const counts = hasCounts ? view(Float64Array, buf, countsAt, count) : undefined;
  return { wordVectors: new WordVectors({ words, vectors, space, ...(counts ? { counts } : {}) }), meta };
}
