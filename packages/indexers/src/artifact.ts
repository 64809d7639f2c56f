import { LatentflowError, defineSpace, type ArtifactFiles, type ModelArtifact, type RowMeta, type Space } from "@latentflow/core";
import { encodeJsonl, parseJsonl } from "@latentflow/core/io";

// The pieces of an index artifact both index kinds share: the space in `meta.space` and the items in rows.jsonl.

export const ROWS_FILE = "rows.jsonl";

/** One line of rows.jsonl: an item's id, its meta, and (HNSW) its internal label and original norm. */
export interface RowRecord {
  id: string;
  meta?: RowMeta;
  label?: number;
  norm?: number;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function encodeRows(rows: RowRecord[]): Uint8Array {
  return utf8.encode(encodeJsonl(rows));
}

export function decodeRows(files: ArtifactFiles, kind: string): RowRecord[] {
  return parseJsonl<RowRecord>(fromUtf8.decode(requireFile(files, ROWS_FILE, kind)), ROWS_FILE);
}

export function requireFile(files: ArtifactFiles, name: string, kind: string): Uint8Array {
  const f = files[name];
  if (!f) {
    throw new LatentflowError("E_ARTIFACT_FORMAT", `${kind} artifact: expected a file '${name}', found ${Object.keys(files).join(", ") || "no files"}`, {
      hint: "the artifact was not written by this index, or is damaged",
    });
  }
  return f;
}

/** Checks kind and format and returns the index's space. */
export function openArtifact(artifact: ModelArtifact, kind: string, format: string): Space {
  if (artifact.kind !== kind) {
    throw new LatentflowError("E_ARTIFACT_KIND", `expected a '${kind}' model artifact, found '${artifact.kind}'`, {
      hint: "loadIndex(artifact) picks the right index class from the artifact's kind",
      data: { expected: kind, found: artifact.kind },
    });
  }
  if (artifact.format !== format) {
    throw new LatentflowError("E_ARTIFACT_FORMAT", `${kind} artifact: expected format ${format}, found ${artifact.format}`, {
      hint: "the artifact was written by another version of @latentflow/indexers",
      data: { expected: format, found: artifact.format },
    });
  }
  return defineSpace(artifact.meta.space as Space);
}
