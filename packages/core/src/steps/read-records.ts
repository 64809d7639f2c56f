import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { sha256File } from "../hash.js";
import { DEFAULT_MAX_CSV_BYTES, MAX_CSV_BYTES, parseCsv, readCsvText } from "../io/csv.js";
import { DEFAULT_MAX_LINE_BYTES, readLines } from "../io/jsonl.js";
import { inputFile } from "../pipeline/input-files.js";
import { defineStep } from "../plugin.js";
import type { RowMeta } from "../vector-set.js";

// V8's longest string is about 2^29 characters; a line or file past it cannot be decoded at all.
const MAX_LINE_BYTES = 512 * 1024 * 1024;

const fileFingerprint = async (p: { path: string }, env: { resolvePath(path: string): string }) => sha256File(env.resolvePath(p.path));

/** `core/read-jsonl`: one record per line; with `onError: skip`, malformed lines are reported and left out. */
export const readJsonlStep = defineStep({
  name: "read-jsonl",
  description: "Read records from a JSON Lines file (plain or gzipped), one object per line.",
  inputs: {},
  outputs: { records: { type: "records" } },
  params: z.strictObject({
    path: inputFile(z.string().min(1).describe("the .jsonl or .jsonl.gz file")),
    limit: z.number().int().positive().optional().describe("read at most this many records"),
    maxLineBytes: z.number().int().positive().max(MAX_LINE_BYTES).default(DEFAULT_MAX_LINE_BYTES).describe("longest line accepted, in bytes (default 64 MiB); a longer one stops the step with E_JSONL_LINE_TOO_LONG"),
  }),
  fingerprint: fileFingerprint,
  async run(ctx, _inputs, p) {
    const path = ctx.resolvePath(p.path);
    const records: RowMeta[] = [];
    // Streamed: reading stops at `limit`, and no line is held past maxLineBytes.
    for await (const { text, line } of readLines(path, { maxLineBytes: p.maxLineBytes })) {
      const trimmed = text.trim();
      if (!trimmed) continue;
      try {
        const v = JSON.parse(trimmed) as unknown;
        if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`expected a JSON object, found ${Array.isArray(v) ? "an array" : JSON.stringify(v)}`);
        records.push(v as RowMeta);
        if (records.length >= (p.limit ?? Infinity)) break;
      } catch (e) {
        ctx.itemFailed({ index: line - 1, id: `${path}:${line}` }, new LatentflowError("E_JSONL_PARSE", `${path}:${line}: ${(e as Error).message}`));
      }
      ctx.signal.throwIfAborted();
    }
    return { records };
  },
});

/** `core/read-csv`: records from a CSV file with a header row; numbers are cast. */
export const readCsvStep = defineStep({
  name: "read-csv",
  description: "Read records from a CSV file (plain or gzipped) with a header row.",
  inputs: {},
  outputs: { records: { type: "records" } },
  params: z.strictObject({
    path: inputFile(z.string().min(1).describe("the .csv or .csv.gz file")),
    delimiter: z.string().length(1).default(","),
    limit: z.number().int().positive().optional(),
    maxBytes: z.number().int().positive().max(MAX_CSV_BYTES).default(DEFAULT_MAX_CSV_BYTES).describe("largest file accepted, in bytes after gunzipping (default 256 MiB); a larger one stops the step with E_TOO_LARGE"),
  }),
  fingerprint: fileFingerprint,
  async run(ctx, _inputs, p) {
    const path = ctx.resolvePath(p.path);
    const rows = parseCsv(await readCsvText(path, { maxBytes: p.maxBytes }), { delimiter: p.delimiter, file: path });
    return { records: p.limit ? rows.slice(0, p.limit) : rows };
  },
});
