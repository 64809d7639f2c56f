import type { RowMeta, VectorSet } from "@latentflow/core";

/** What `show` prints of an output, by port type: records and json in full (records up to `limit` rows), the rest summarised. */
export function renderOutput(value: unknown, type: string, limit = 20): string {
  if (type === "records") return renderRecords(value as RowMeta[], limit);
  if (type === "json") return `${JSON.stringify(value, null, 2)}\n`;
  if (type === "vectors") {
    const v = value as VectorSet;
    const lines = [`${v.ids.length} vectors in space '${v.space.id}' (dim ${v.space.dim}, ${v.space.metric})`];
    for (let i = 0; i < Math.min(limit, v.ids.length); i++) {
      const row = Array.from(v.data.subarray(i * v.space.dim, i * v.space.dim + Math.min(6, v.space.dim)), (x) => x.toFixed(4));
      lines.push(`  ${v.ids[i]}  [${row.join(", ")}${v.space.dim > 6 ? ", …" : ""}]${v.meta?.[i] ? `  ${JSON.stringify(v.meta[i])}` : ""}`);
    }
    if (v.ids.length > limit) lines.push(`  … ${v.ids.length - limit} more`);
    return `${lines.join("\n")}\n`;
  }
  if (type === "model") {
    const m = value as { kind: string; format: string; meta: unknown; files: Record<string, Uint8Array> };
    const files = Object.entries(m.files).map(([k, b]) => `${k} (${b.byteLength} bytes)`);
    return `model ${m.kind} (format ${m.format}); files: ${files.join(", ")}\n${JSON.stringify(m.meta, null, 2)}\n`;
  }
  if (type === "tensor") {
    const t = value as { dtype: string; shape: number[] };
    return `tensor ${t.dtype} [${t.shape.join(", ")}]\n`;
  }
  return `${JSON.stringify(value, null, 2)}\n`;
}

interface Neighbor {
  id?: unknown;
  text?: unknown;
  distance?: unknown;
}

/** Search results (records with a `neighbors` list) as a readable list; other records as JSON lines. */
function renderRecords(rows: RowMeta[], limit: number): string {
  const out: string[] = [];
  for (const r of rows.slice(0, limit)) {
    if (Array.isArray(r.neighbors)) {
      out.push(`▸ ${typeof r.text === "string" ? r.text : String(r.id)}`);
      // Neighbours as objects ({ id, text, distance }) or as ids with a parallel `distances` list (core/knn).
      const distances = Array.isArray(r.distances) ? (r.distances as unknown[]) : [];
      (r.neighbors as Array<Neighbor | string | number>).forEach((n, i) => {
        const obj: Neighbor = typeof n === "object" && n !== null ? n : { id: n, distance: distances[i] };
        const d = typeof obj.distance === "number" ? obj.distance.toFixed(4) : "?";
        out.push(`   ${String(i + 1).padStart(2)}. ${d}  ${typeof obj.text === "string" ? obj.text : String(obj.id)}`);
      });
    } else out.push(JSON.stringify(r));
  }
  if (rows.length > limit) out.push(`… ${rows.length - limit} more (--limit)`);
  return `${out.join("\n")}\n`;
}
