import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { VectorSet } from "../vector-set.js";

export interface ProjectorOptions {
  /** Meta fields to put in metadata.tsv after the id, in this order; by default every field any row has, in first-seen order. The id column always comes from the row ids, so a meta field named 'id' is not repeated. */
  fields?: string[];
}

/** The two files the TensorFlow Embedding Projector (projector.tensorflow.org) loads. */
export interface ProjectorFiles {
  vectorsTsv: string;
  metadataTsv: string;
}

/**
 * Encodes a vector set as Embedding Projector TSVs: vectors (one row per vector, no header) and metadata
 * (the id plus meta fields). The projector reads a header row only when metadata has several columns, so a
 * lone id column is written without one.
 */
export function encodeProjector(vs: VectorSet, opts: ProjectorOptions = {}): ProjectorFiles {
  const dim = vs.space.dim;
  const n = vs.ids.length;
  const vectorLines: string[] = new Array(n);
  const row: string[] = new Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = formatFloat32(vs.data[i * dim + j]!);
    vectorLines[i] = row.join("\t");
  }

  const fields = (opts.fields ?? metaFields(vs)).filter((f) => f !== "id");
  const metaLines: string[] = [];
  if (fields.length > 0) metaLines.push(["id", ...fields].map(cell).join("\t"));
  for (let i = 0; i < n; i++) {
    const meta = vs.meta?.[i] ?? {};
    metaLines.push([vs.ids[i], ...fields.map((f) => meta[f])].map(cell).join("\t"));
  }
  return { vectorsTsv: joinLines(vectorLines), metadataTsv: joinLines(metaLines) };
}

/** Writes `vectors.tsv` and `metadata.tsv` for the Embedding Projector into `dir` (created if missing). */
export async function writeProjector(vs: VectorSet, dir: string, opts: ProjectorOptions = {}): Promise<{ vectorsPath: string; metadataPath: string }> {
  const { vectorsTsv, metadataTsv } = encodeProjector(vs, opts);
  await mkdir(dir, { recursive: true });
  const vectorsPath = join(dir, "vectors.tsv");
  const metadataPath = join(dir, "metadata.tsv");
  await writeFile(vectorsPath, vectorsTsv, "utf8");
  await writeFile(metadataPath, metadataTsv, "utf8");
  return { vectorsPath, metadataPath };
}

/** Shortest decimal that reads back as the same float32 (0.1f prints as "0.1", not "0.10000000149011612"). */
export function formatFloat32(v: number): string {
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9))); // 9 significant digits always round-trip a float32
}

function metaFields(vs: VectorSet): string[] {
  const seen = new Set<string>();
  for (const m of vs.meta ?? []) for (const k of Object.keys(m)) seen.add(k);
  return [...seen];
}

function cell(value: unknown): string {
  let s: string;
  if (value === undefined || value === null) s = "";
  else if (typeof value === "string") s = value;
  else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") s = String(value);
  else s = JSON.stringify(value);
  // The projector splits rows on newlines and cells on tabs with no quoting, so neither may appear in a value;
  // other control characters (ESC, NUL, …) would reach the page raw, so they are written as \uXXXX text.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return s.replace(/[\t\r\n]/g, " ").replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}
