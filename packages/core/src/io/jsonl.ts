import { LatentflowError } from "../errors.js";
import { openMaybeGzipped } from "./gzip.js";

/** Longest line readJsonl accepts by default: 64 MiB (V8 strings end near 512 MiB; one record is rarely 1 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface ReadJsonlOptions {
  /** Force (true) or forbid (false) gunzipping; by default a `.gz` name or the gzip magic bytes decide. */
  gzip?: boolean;
  /** Longest line accepted, in bytes (default 64 MiB); a longer one throws E_JSONL_LINE_TOO_LONG without being held in memory. */
  maxLineBytes?: number;
}

/** One line of a text file: its text (without the line break) and its 1-based number. */
export interface TextLine {
  text: string;
  line: number;
}

/**
 * Streams the lines of a text file (optionally gzipped), never holding more than `maxLineBytes` of one line:
 * a longer line throws E_JSONL_LINE_TOO_LONG naming its number and the limit. Stopping the iteration early stops
 * reading (and inflating) the file.
 */
export async function* readLines(path: string, opts: ReadJsonlOptions = {}): AsyncGenerator<TextLine, void, undefined> {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const src = await openMaybeGzipped(path, opts.gzip);
  let lineNo = 0;
  let pieces: Buffer[] = [];
  let pending = 0;
  const tooLong = (): LatentflowError =>
    new LatentflowError("E_JSONL_LINE_TOO_LONG", `${path}: line ${lineNo + 1} is longer than the limit of ${maxLineBytes} bytes`, {
      hint: `raise the limit (maxLineBytes) if the file really has lines this long; otherwise the file is not JSON Lines (one record per line)`,
      location: { file: path, line: lineNo + 1, column: 1 },
      data: { file: path, line: lineNo + 1, limit: maxLineBytes },
    });
  const take = (last: Buffer): string => {
    const buf = pieces.length ? Buffer.concat([...pieces, last]) : last;
    pieces = [];
    pending = 0;
    let text = buf.toString("utf8");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    return text;
  };
  try {
    for await (const chunk of src.stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, from);
        if (nl < 0) break;
        if (pending + (nl - from) > maxLineBytes) throw tooLong();
        const text = take(chunk.subarray(from, nl));
        lineNo++;
        yield { text, line: lineNo };
        from = nl + 1;
      }
      if (from < chunk.length) {
        pending += chunk.length - from;
        if (pending > maxLineBytes) throw tooLong();
        pieces.push(chunk.subarray(from));
      }
    }
    if (pending > 0) {
      const text = take(Buffer.alloc(0));
      lineNo++;
      yield { text, line: lineNo };
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
    src.close();
  }
}

/**
 * Streams the records of a JSON Lines file (optionally gzipped), one parsed value per non-blank line.
 * A malformed line throws E_JSONL_PARSE located at its file, line and column; a line longer than
 * `maxLineBytes` throws E_JSONL_LINE_TOO_LONG.
 */
export async function* readJsonl<T = unknown>(path: string, opts: ReadJsonlOptions = {}): AsyncGenerator<T, void, undefined> {
  for await (const { text, line } of readLines(path, opts)) {
    const record = parseLine(text, path, line);
    if (record !== SKIP) yield record as T;
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
