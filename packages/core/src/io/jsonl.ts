import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { LatentflowError } from "../errors.js";

export interface ReadJsonlOptions {
  /** Force (true) or forbid (false) gunzipping; by default a `.gz` name or the gzip magic bytes decide. */
  gzip?: boolean;
}

/**
 * Streams the records of a JSON Lines file (optionally gzipped), one parsed value per non-blank line.
 * A malformed line throws E_JSONL_PARSE located at its file, line and column.
 */
export async function* readJsonl<T = unknown>(path: string, opts: ReadJsonlOptions = {}): AsyncGenerator<T, void, undefined> {
  const gzip = opts.gzip ?? (path.endsWith(".gz") || (await startsWithGzipMagic(path)));
  const raw = createReadStream(path);
  const input = gzip ? raw.pipe(createGunzip()) : raw;
  // pipe() does not forward errors; without this a read error on a .gz file would leave the loop waiting forever.
  if (gzip) raw.on("error", (e) => input.destroy(e));
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      const record = parseLine(line, path, lineNo);
      if (record !== SKIP) yield record as T;
    }
  } catch (e) {
    if (e instanceof LatentflowError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === "string" && err.code.startsWith("Z_")) {
      throw new LatentflowError("E_JSONL_PARSE", `${path}: expected a valid gzip stream, found corrupt data after line ${lineNo}: ${err.message}`, {
        hint: "the file is truncated or not gzip; re-create it, or pass { gzip: false } for a plain file",
        location: { file: path, line: lineNo + 1, column: 1 },
        cause: e,
      });
    }
    throw e;
  } finally {
    lines.close();
    raw.destroy();
  }
}

/** Parses JSON Lines text into its records, skipping blank lines. `file` names the source in errors. */
export function parseJsonl<T = unknown>(text: string, file = "<jsonl>"): T[] {
  const out: T[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const record = parseLine(line, file, i + 1);
    if (record !== SKIP) out.push(record as T);
  }
  return out;
}

/** One JSON value per line, each line ending in a newline (so files concatenate cleanly). */
export function encodeJsonl(records: Iterable<unknown>): string {
  let out = "";
  let i = 0;
  for (const r of records) {
    const json = JSON.stringify(r);
    // JSON.stringify returns undefined (not a string) for undefined, functions and symbols; a line must hold a value.
    if (json === undefined) {
      throw new LatentflowError("E_JSONL_ENCODE", `encoding JSON Lines: expected a JSON-serialisable record at index ${i}, found ${typeof r}`, {
        data: { index: i },
      });
    }
    out += json + "\n";
    i++;
  }
  return out;
}

const SKIP = Symbol("blank line");

function parseLine(line: string, file: string, lineNo: number): unknown {
  // A UTF-8 byte order mark survives decoding as U+FEFF; editors on Windows add it to the first line.
  if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  if (line.trim() === "") return SKIP;
  try {
    return JSON.parse(line);
  } catch (cause) {
    const offset = jsonErrorOffset(line);
    const shown = line.length > 80 ? `${line.slice(0, 77)}...` : line;
    throw new LatentflowError("E_JSONL_PARSE", `expected one JSON value per line, found invalid JSON at line ${lineNo}, column ${offset + 1}: ${shown}`, {
      hint: `${(cause as Error).message}; each line must be a complete JSON value (no trailing commas, strings in double quotes, no line breaks inside a value)`,
      location: { file, line: lineNo, column: offset + 1 },
      cause,
    });
  }
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Offset (0-based) of the first character at which `s` stops being valid JSON. JSON.parse's messages only
 * sometimes give a position, and the wording differs between Node versions, so the column is found here.
 */
function jsonErrorOffset(s: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = (): void => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (s[i] !== ch) fail();
      i++;
    }
  };
  const digits = (): void => {
    if (!(s[i]! >= "0" && s[i]! <= "9")) fail();
    while (s[i]! >= "0" && s[i]! <= "9") i++;
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= s.length) fail();
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        const e = s[i];
        if (e === "u") {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/^[0-9a-fA-F]$/.test(s[i] ?? "")) fail();
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === "{") {
      i++;
      ws();
      if (s[i] === "}") return void i++;
      for (;;) {
        ws();
        if (s[i] !== '"') fail();
        string();
        ws();
        if (s[i] !== ":") fail();
        i++;
        value();
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "}") return void i++;
        else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (s[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "]") return void i++;
        else fail();
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) {
      if (s[i] === "-") i++;
      if (s[i] === "0") i++;
      else digits();
      if (s[i] === ".") {
        i++;
        digits();
      }
      if (s[i] === "e" || s[i] === "E") {
        i++;
        if (s[i] === "+" || s[i] === "-") i++;
        digits();
      }
    } else fail();
  };
  try {
    value();
    ws();
    if (i < s.length) fail();
    return s.length; // valid JSON: no error offset; callers only ask after JSON.parse failed
  } catch (at) {
    if (typeof at === "number") return Math.min(at, s.length);
    throw at;
  }
}
