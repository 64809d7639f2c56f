// The word2vec file formats (Mikolov's word2vec.c; gensim's KeyedVectors.save_word2vec_format /
// load_word2vec_format): a header line "count dim\n", then one entry per word —
//   text:   word, then dim values, separated by single spaces, "\n"
//   binary: word, " ", dim little-endian float32, "\n"
// Both are read and written as streams, so tables larger than memory's comfort can be limited on load.
import { open } from "node:fs/promises";
import { basename } from "node:path";
import { LatentflowError, hashParts } from "@latentflow/core";
import { textSpace } from "../encoder.js";
import { VERSION } from "../version.js";
import { WordVectors } from "../word-vectors/word-vectors.js";

/** Options of saveWord2VecFormat. */
export interface SaveWord2VecOptions {
  /** Binary (float32) rather than text; default false. */
  binary?: boolean;
}

/** Options of loadWord2VecFormat. */
export interface LoadWord2VecOptions {
  /** The file is binary (float32) rather than text; default false. */
  binary?: boolean;
  /** Read only the first `limit` words (files are usually most frequent first). */
  limit?: number;
  /** Id of the space of the loaded vectors (default: derived from the file name and dim). */
  spaceId?: string;
}

const enc = new TextEncoder();

/** Shortest decimal that reads back as the same float32 (what numpy's repr of a float32 gives). */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  for (let p = 1; p < 9; p++) {
    const x = Number(v.toPrecision(p));
    if (Math.fround(x) === v) return String(x);
  }
  return String(v);
}

function checkWords(wv: WordVectors, where: string): void {
  for (let i = 0; i < wv.size; i++) {
    const w = wv.words[i]!;
    if (w === "" || /[\s]/.test(w)) {
      throw new LatentflowError("E_PARAM", `${where}: expected words without whitespace, found ${JSON.stringify(w)} (word ${i})`, {
        hint: "the word2vec formats separate a word from its values by a space",
        data: { expected: "a non-empty word without whitespace", found: w, where: `${where}, word ${i}` },
      });
    }
  }
}

/** The bytes of `wv` in the word2vec text or binary format. */
export function encodeWord2VecFormat(wv: WordVectors, opts: SaveWord2VecOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const p of word2vecChunks(wv, opts, "encodeWord2VecFormat")) parts.push(p);
  return Buffer.concat(parts);
}

function* word2vecChunks(wv: WordVectors, opts: SaveWord2VecOptions, where: string): Generator<Uint8Array> {
  checkWords(wv, where);
  const dim = wv.dim;
  yield enc.encode(`${wv.size} ${dim}\n`);
  const BATCH = 1024;
  for (let a = 0; a < wv.size; a += BATCH) {
    const b = Math.min(wv.size, a + BATCH);
    if (opts.binary) {
      const parts: Uint8Array[] = [];
      for (let i = a; i < b; i++) {
        parts.push(enc.encode(`${wv.words[i]} `));
        const row = new Uint8Array(dim * 4);
        const view = new DataView(row.buffer);
        for (let j = 0; j < dim; j++) view.setFloat32(j * 4, wv.vectors[i * dim + j]!, true);
        parts.push(row, enc.encode("\n"));
      }
      yield Buffer.concat(parts);
    } else {
      let s = "";
      for (let i = a; i < b; i++) {
        s += wv.words[i]!;
        for (let j = 0; j < dim; j++) s += ` ${formatFloat32(wv.vectors[i * dim + j]!)}`;
        s += "\n";
      }
      yield enc.encode(s);
    }
  }
}

/** Writes `wv` to `path` in the word2vec text or binary format (readable by gensim's load_word2vec_format). */
export async function saveWord2VecFormat(wv: WordVectors, path: string, opts: SaveWord2VecOptions = {}): Promise<void> {
  const fh = await open(path, "w");
  try {
    for (const chunk of word2vecChunks(wv, opts, `saveWord2VecFormat ${path}`)) await fh.write(chunk);
  } finally {
    await fh.close();
  }
}

/** Buffered reads over a file handle. */
class ByteReader {
  private buf = new Uint8Array(1 << 16);
  private pos = 0;
  private end = 0;
  private eof = false;
  /** Bytes consumed so far (for messages). */
  offset = 0;
  constructor(private readonly fh: import("node:fs/promises").FileHandle) {}

  private async more(): Promise<boolean> {
    if (this.eof) return false;
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
    const { bytesRead } = await this.fh.read(this.buf, this.end, this.buf.length - this.end, null);
    if (bytesRead === 0) this.eof = true;
    this.end += bytesRead;
    return bytesRead > 0;
  }

  /** Bytes up to (not including) `delim`, which is consumed; at end of file the rest, or null if none. */
  async until(delim: number): Promise<Uint8Array | null> {
    let from = this.pos;
    for (;;) {
      const i = this.buf.subarray(from, this.end).indexOf(delim);
      if (i >= 0) {
        const out = this.buf.slice(this.pos, from + i);
        this.offset += from + i + 1 - this.pos;
        this.pos = from + i + 1;
        return out;
      }
      from = this.end - this.pos;
      if (!(await this.more())) {
        if (this.end === this.pos) return null;
        const out = this.buf.slice(this.pos, this.end);
        this.offset += this.end - this.pos;
        this.pos = this.end;
        return out;
      }
      from += this.pos;
    }
  }

  /** Exactly n bytes, or null when the file ends first. */
  async exact(n: number): Promise<Uint8Array | null> {
    while (this.end - this.pos < n) if (!(await this.more())) return null;
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Skips bytes equal to `b`. */
  async skip(b: number): Promise<void> {
    for (;;) {
      while (this.pos < this.end && this.buf[this.pos] === b) {
        this.pos++;
        this.offset++;
      }
      if (this.pos < this.end || !(await this.more())) return;
    }
  }
}

function formatError(path: string, where: string, expected: string, found: string): LatentflowError {
  return new LatentflowError("E_FORMAT", `${path} (${where}): expected ${expected}, found ${found}`, {
    hint: "is this a word2vec file, and is `binary` set to match it?",
    data: { expected, found, where: `${path} ${where}` },
  });
}

/**
 * Reads a word2vec text or binary file (what word2vec.c and gensim's save_word2vec_format write) as a
 * WordVectors without counts. `limit` reads only the first words.
 */
export async function loadWord2VecFormat(path: string, opts: LoadWord2VecOptions = {}): Promise<WordVectors> {
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 0)) {
    throw new LatentflowError("E_PARAM", `loadWord2VecFormat: expected limit a non-negative integer, found ${opts.limit}`, {
      data: { expected: "a non-negative integer", found: opts.limit, where: "loadWord2VecFormat" },
    });
  }
  const fh = await open(path, "r").catch((err: NodeJS.ErrnoException) => {
    throw new LatentflowError("E_NOT_FOUND", `loadWord2VecFormat: expected a readable file at ${path}, found ${err.code ?? err.message}`, {
      data: { expected: "a readable file", found: err.code ?? err.message, where: path },
    });
  });
  const dec = new TextDecoder("utf-8", { fatal: true });
  const decode = (b: Uint8Array, where: string) => {
    try {
      return dec.decode(b);
    } catch {
      throw formatError(path, where, "UTF-8 text", "invalid UTF-8 bytes");
    }
  };
  try {
    const r = new ByteReader(fh);
    const headerBytes = await r.until(10);
    const header = headerBytes ? decode(headerBytes, "line 1").trim() : "";
    const m = /^(\d+)\s+(\d+)$/.exec(header);
    if (!m) throw formatError(path, "line 1", "a header 'count dim'", JSON.stringify(header.slice(0, 60)));
    const count = Number(m[1]);
    const dim = Number(m[2]);
    if (dim < 1) throw formatError(path, "line 1", "dim ≥ 1", String(dim));
    const n = Math.min(count, opts.limit ?? count);
    const words: string[] = new Array(n);
    const vectors = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const where = opts.binary ? `entry ${i + 1} at byte ${r.offset}` : `line ${i + 2}`;
      if (opts.binary) {
        await r.skip(10); // word2vec.c ends each entry with "\n"; gensim 4 writes none
        const w = await r.until(32);
        const bytes = w && (await r.exact(dim * 4));
        if (!w || !bytes) throw formatError(path, where, `${count} entries as the header says`, `the file ends after ${i}`);
        words[i] = decode(w, where);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let j = 0; j < dim; j++) vectors[i * dim + j] = view.getFloat32(j * 4, true);
      } else {
        const line = await r.until(10);
        if (line === null) throw formatError(path, where, `${count} lines of vectors as the header says`, `the file ends after ${i}`);
        const parts = decode(line, where).trimEnd().split(" ");
        if (parts.length !== dim + 1) throw formatError(path, where, `a word and ${dim} values`, `${parts.length - 1} values`);
        words[i] = parts[0]!;
        for (let j = 0; j < dim; j++) {
          const t = parts[j + 1]!;
          // The saver writes non-finite values as gensim does (inf, -inf, nan): read them back.
          const v = t === "inf" ? Number.POSITIVE_INFINITY : t === "-inf" ? Number.NEGATIVE_INFINITY : Number(t);
          if (Number.isNaN(v) && t !== "nan") throw formatError(path, where, "a number", JSON.stringify(t));
          vectors[i * dim + j] = v;
        }
      }
    }
    const name = basename(path);
    // Two files of one name and dim are two models: the space names the content (words and values,
    // the same for the text and binary encodings of one table).
    const content = hashParts(words.join("\n"), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength)).slice(0, 16);
    const space = textSpace({
      id: opts.spaceId ?? `word2vec-file/${name}/${dim}d-${content}`,
      dim,
      normalized: false,
      producer: "word2vec-format",
      version: VERSION,
      params: { file: name, content, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) },
    });
    return new WordVectors({ words, vectors, space });
  } finally {
    await fh.close();
  }
}
