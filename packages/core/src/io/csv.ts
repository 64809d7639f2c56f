import { CsvError, parse } from "csv-parse/sync";
import { LatentflowError } from "../errors.js";
import { readBoundedFile } from "./gzip.js";

/** Largest CSV text read by default: 256 MiB after gunzipping (the whole text is parsed in memory). */
export const DEFAULT_MAX_CSV_BYTES = 256 * 1024 * 1024;
/** The most maxBytes can be raised to: V8's longest string is about 2^29 characters. */
export const MAX_CSV_BYTES = 512 * 1024 * 1024;

/** A parsed field: a string, or a number when casting is on and the field looks numeric. */
export type CsvValue = string | number;

export interface CsvOptions {
  /** First row names the columns and records are objects (default true); false gives arrays. */
  header?: boolean;
  /** Field separator (default ","). */
  delimiter?: string;
  /** Source name for error locations. */
  file?: string;
  /** Turn numeric-looking fields into numbers (default true). */
  cast?: boolean;
  /** readCsvFile: largest file accepted, in bytes after gunzipping (default 256 MiB); more throws E_TOO_LARGE. */
  maxBytes?: number;
}

// Decimal numbers with optional sign, fraction and exponent, e.g. "3", "-0.5", ".5", "1e-3", "2.".
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Leading zeros mark codes (zip codes, "007" ids) whose zeros matter, so they stay strings.
const LEADING_ZERO = /^[+-]?0\d/;

/** The number a CSV field stands for, or the field itself when it does not look like one. */
export function castCsvField(value: string): CsvValue {
  const s = value.trim();
  if (!NUMERIC.test(s) || LEADING_ZERO.test(s)) return value;
  const n = Number(s);
  // Integers past 2^53 would silently change (long ids, hashes); keep them as written.
  if (Number.isInteger(n) && !Number.isSafeInteger(n) && !/[.eE]/.test(s)) return value;
  return n;
}

/** Parses CSV text (RFC 4180 quoting, embedded delimiters and newlines) into records. */
export function parseCsv(text: string, opts: CsvOptions & { header: false }): CsvValue[][];
export function parseCsv(text: string, opts?: CsvOptions): Record<string, CsvValue>[];
export function parseCsv(text: string, opts: CsvOptions = {}): Record<string, CsvValue>[] | CsvValue[][] {
  const header = opts.header ?? true;
  const cast = opts.cast ?? true;
  const file = opts.file ?? "<csv>";
  let rows: string[][] | Record<string, string>[];
  try {
    rows = parse(text, {
      bom: true,
      delimiter: opts.delimiter ?? ",",
      skip_empty_lines: true,
      relax_column_count: false,
      columns: header ? (names: string[]) => checkHeader(names, file) : false,
    }) as string[][] | Record<string, string>[];
  } catch (e) {
    throw toLatentflowError(e, file);
  }
  if (!cast) return rows;
  if (header) {
    return (rows as Record<string, string>[]).map((r) => {
      const out: Record<string, CsvValue> = {};
      for (const k of Object.keys(r)) out[k] = castCsvField(r[k]!);
      return out;
    });
  }
  return (rows as string[][]).map((r) => r.map(castCsvField));
}

/** Reads a CSV file (gunzipping `.gz` or gzip-magic files; `.tsv` defaults to tab-separated). */
export async function readCsvFile(path: string, opts: CsvOptions & { header: false }): Promise<CsvValue[][]>;
export async function readCsvFile(path: string, opts?: CsvOptions): Promise<Record<string, CsvValue>[]>;
export async function readCsvFile(path: string, opts: CsvOptions = {}): Promise<Record<string, CsvValue>[] | CsvValue[][]> {
  const text = await readCsvText(path, opts);
  const delimiter = opts.delimiter ?? (/\.tsv(\.gz)?$/i.test(path) ? "\t" : ",");
  return parseCsv(text, { ...opts, delimiter, file: opts.file ?? path });
}

/**
 * The text of a CSV file, gunzipped as it streams when compressed, refused with E_TOO_LARGE past `maxBytes`
 * (default 256 MiB) before more than that is ever held.
 */
export async function readCsvText(path: string, opts: { maxBytes?: number } = {}): Promise<string> {
  const bytes = await readBoundedFile(path, { maxBytes: opts.maxBytes ?? DEFAULT_MAX_CSV_BYTES, code: "E_CSV_PARSE", what: "CSV file", option: "maxBytes" });
  return new TextDecoder("utf-8").decode(bytes);
}

function checkHeader(names: string[], file: string): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    // csv-parse keeps only the last of two same-named columns; dropping data silently is worse than stopping.
    if (seen.has(name)) {
      throw new LatentflowError("E_CSV_PARSE", `expected unique column names in the header, found '${name}' twice (column ${i + 1})`, {
        hint: "rename one of the columns, or pass { header: false } to read rows as arrays",
        location: { file, line: 1, column: 1 },
        data: { column: name },
      });
    }
    seen.add(name);
  }
  return names;
}

function toLatentflowError(e: unknown, file: string): unknown {
  if (e instanceof LatentflowError) return e;
  if (e instanceof CsvError) {
    const info = e as CsvError & { lines?: number; index?: number; record?: unknown };
    const line = typeof info.lines === "number" && info.lines > 0 ? info.lines : 1;
    return new LatentflowError("E_CSV_PARSE", `expected well-formed CSV, found an error at line ${line}: ${e.message}`, {
      hint: hintFor(e.code),
      location: { file, line, column: 1 },
      cause: e,
      data: { csvCode: e.code, field: info.index, column: (e as { column?: unknown }).column },
    });
  }
  return e;
}

function hintFor(code: string): string {
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field opened on or before this line is never closed (the line is where input ended); double any quote inside a quoted field (\"\")";
    case "CSV_INVALID_CLOSING_QUOTE":
      return "text follows a closing quote; quote the whole field and double any quotes inside it";
    case "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH":
    case "CSV_RECORD_INCONSISTENT_COLUMNS":
      return "this row has a different number of fields than the header; quote fields that contain the delimiter";
    default:
      return "check the delimiter option and the quoting of this row";
  }
}
