import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { LatentflowError } from "../errors.js";

/** True when bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** True when the file at `path` starts with the gzip magic (reads two bytes). */
export async function fileIsGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && isGzip(buf);
  } finally {
    await fh.close();
  }
}

/**
 * The bytes of a file, gunzipped as they stream when it is gzip-compressed (a `.gz` name or the magic bytes).
 * Errors are raised with `read`'s stream: a read error of the file is forwarded to the gunzip stream, which
 * `pipe()` alone does not do (a consumer would otherwise wait forever).
 */
export async function openMaybeGzipped(path: string, gzip?: boolean): Promise<{ stream: Readable; gzip: boolean; close(): void }> {
  const isGz = gzip ?? (path.endsWith(".gz") || (await fileIsGzip(path)));
  const raw = createReadStream(path);
  if (!isGz) return { stream: raw, gzip: false, close: () => raw.destroy() };
  const gunzip = createGunzip();
  raw.on("error", (e) => gunzip.destroy(e));
  raw.pipe(gunzip);
  return {
    stream: gunzip,
    gzip: true,
    close: () => {
      raw.destroy();
      gunzip.destroy();
    },
  };
}

export interface ReadBoundedOptions {
  /** Largest number of (decompressed) bytes accepted. */
  maxBytes: number;
  /** Error code raised when the file is larger, or gzip is corrupt. */
  code: string;
  /** What the bytes are, for messages ("CSV file"). */
  what: string;
  /** The param or option that raises the limit, named in the hint. */
  option: string;
}

/**
 * Reads a whole file (gunzipping it when compressed) but never more than `maxBytes` of content: a gzip stream
 * that inflates past the limit is stopped at the limit, so a small bomb costs no more memory than the limit.
 */
export async function readBoundedFile(path: string, opts: ReadBoundedOptions): Promise<Buffer> {
  const src = await openMaybeGzipped(path);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of src.stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > opts.maxBytes) {
        throw new LatentflowError("E_TOO_LARGE", `${opts.what} '${path}': expected at most ${opts.maxBytes} bytes${src.gzip ? " after gunzipping" : ""}, found more`, {
          hint: `raise ${opts.option} if the file is really this large${src.gzip ? "; a small .gz that inflates this far is usually a decompression bomb" : ""}`,
          data: { file: path, limit: opts.maxBytes, gzip: src.gzip },
        });
      }
      chunks.push(chunk);
    }
  } catch (e) {
    throw gzipError(e, path, opts.code, opts.what) ?? e;
  } finally {
    src.close();
  }
  return Buffer.concat(chunks, total);
}

/** A coded error for zlib's errors (corrupt or truncated gzip), or undefined for anything else. */
export function gzipError(e: unknown, path: string, code: string, what: string): LatentflowError | undefined {
  if (e instanceof LatentflowError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === "string" && err.code.startsWith("Z_")) {
    return new LatentflowError(code, `${what} '${path}': expected a valid gzip stream, found corrupt data: ${err.message}`, {
      hint: "the file is truncated or not gzip-compressed; fetch or re-create it, or drop the .gz suffix",
      cause: e,
      data: { file: path },
    });
  }
  return undefined;
}
