import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { sha256 } from "../hash.js";
import { parseCsv } from "../io/csv.js";
import { isGzip } from "../io/gzip.js";
import { defineStep } from "../plugin.js";
import type { RowMeta } from "../vector-set.js";

async function readText(path: string): Promise<string> {
  const bytes = await readFile(path);
  return (isGzip(bytes) ? gunzipSync(bytes) : bytes).toString("utf8");
}

const fileFingerprint = async (p: { path: string }, env: { resolvePath(path: string): string }) => sha256(await readFile(env.resolvePath(p.path)));

/** `core/read-jsonl`: one record per line; with `onError: skip`, malformed lines are reported and left out. */
export const readJsonlStep = defineStep({
  name: "read-jsonl",
  description: "Read records from a JSON Lines file (plain or gzipped), one object per line.",
  inputs: {},
  outputs: { records: { type: "records" } },
  params: z.strictObject({
    path: z.string().min(1).describe("the .jsonl or .jsonl.gz file"),
    limit: z.number().int().positive().optional().describe("read at most this many records"),
  }),
  fingerprint: fileFingerprint,
  async run(ctx, _inputs, p) {
    const path = ctx.resolvePath(p.path);
    const lines = (await readText(path)).split("\n");
    const records: RowMeta[] = [];
    for (let i = 0; i < lines.length && records.length < (p.limit ?? Infinity); i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        const v = JSON.parse(line) as unknown;
        if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`expected a JSON object, found ${Array.isArray(v) ? "an array" : JSON.stringify(v)}`);
        records.push(v as RowMeta);
      } catch (e) {
        ctx.itemFailed({ index: i, id: `${path}:${i + 1}` }, new LatentflowError("E_JSONL_PARSE", `${path}:${i + 1}: ${(e as Error).message}`));
      }
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
    path: z.string().min(1),
    delimiter: z.string().length(1).default(","),
    limit: z.number().int().positive().optional(),
  }),
  fingerprint: fileFingerprint,
  async run(ctx, _inputs, p) {
    const path = ctx.resolvePath(p.path);
    const rows = parseCsv(await readText(path), { delimiter: p.delimiter, file: path });
    return { records: p.limit ? rows.slice(0, p.limit) : rows };
  },
});
