import { LatentflowError, type ModelArtifact, type RowMeta, type Space, type VectorSet } from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { distance, exactKnn } from "@latentflow/core/kernels";
import { decodeRows, encodeRows, openArtifact, requireFile, ROWS_FILE, type RowRecord } from "../artifact.js";
import { checkBatch, checkQueries, checkQuery, checkSearchOptions } from "../input-checks.js";
import type { BatchSearchOptions, IndexedItem, IndexFilter, Neighbor, SearchOptions, VectorIndex } from "@latentflow/core";

const KIND = "indexers/exact";
const FORMAT = "1";
const VECTORS_FILE = "vectors.npy";

/**
 * Brute-force index: every search compares the query with every (matching) item, in float64. The
 * ground truth approximate indexes are measured against; filtered searches are exact too.
 */
export class ExactIndex implements VectorIndex {
  static readonly kind = KIND;
  readonly space: Space;
  private data: Float32Array;
  private ids: string[] = [];
  private metas: (RowMeta | undefined)[] = [];
  private rowOf = new Map<string, number>();
  private disposed = false;

  constructor(space: Space, opts: { capacity?: number } = {}) {
    this.space = space;
    this.data = new Float32Array(Math.max(1, opts.capacity ?? 1024) * space.dim);
  }

  /** Builds an index holding the rows of a vector set. */
  static fromVectorSet(vs: VectorSet): ExactIndex {
    const index = new ExactIndex(vs.space, { capacity: vs.ids.length });
    index.add(vs);
    return index;
  }

  /** Loads an index saved by `save()`. */
  static load(artifact: ModelArtifact): ExactIndex {
    const space = openArtifact(artifact, KIND, FORMAT);
    const t = parseNpy(requireFile(artifact.files, VECTORS_FILE, KIND), VECTORS_FILE);
    const rows = decodeRows(artifact.files, KIND);
    if (t.dtype !== "float32" || t.shape.length !== 2 || t.shape[1] !== space.dim || t.shape[0] !== rows.length) {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${KIND} artifact: expected float32 [${rows.length}, ${space.dim}] vectors, found ${t.dtype} [${t.shape.join(", ")}]`);
    }
    const index = new ExactIndex(space, { capacity: rows.length });
    index.data.set(t.data as Float32Array);
    rows.forEach((r, i) => {
      index.ids.push(r.id);
      index.metas.push(r.meta);
      index.rowOf.set(r.id, i);
    });
    return index;
  }

  get size(): number {
    return this.ids.length;
  }

  add(vs: VectorSet): void {
    this.alive();
    checkBatch(this.space, vs, `${KIND} add`, (id) => this.rowOf.has(id));
    this.reserve(this.ids.length + vs.ids.length);
    const dim = this.space.dim;
    for (let i = 0; i < vs.ids.length; i++) this.append(vs.ids[i]!, vs.data.subarray(i * dim, (i + 1) * dim), vs.meta?.[i]);
  }

  upsert(vs: VectorSet): void {
    this.alive();
    checkBatch(this.space, vs, `${KIND} upsert`);
    const dim = this.space.dim;
    this.reserve(this.ids.length + vs.ids.length);
    vs.ids.forEach((id, i) => {
      const v = vs.data.subarray(i * dim, (i + 1) * dim);
      const row = this.rowOf.get(id);
      if (row === undefined) this.append(id, v, vs.meta?.[i]);
      else {
        this.data.set(v, row * dim);
        this.metas[row] = vs.meta?.[i];
      }
    });
  }

  delete(ids: Iterable<string>): number {
    this.alive();
    const gone = new Set<number>();
    for (const id of ids) {
      const row = this.rowOf.get(id);
      if (row !== undefined) gone.add(row);
    }
    if (gone.size === 0) return 0;
    // Compact in place, keeping insertion order: ties then break the same way before and after a delete.
    const dim = this.space.dim;
    let w = 0;
    for (let r = 0; r < this.ids.length; r++) {
      if (gone.has(r)) {
        this.rowOf.delete(this.ids[r]!);
        continue;
      }
      if (w !== r) {
        this.data.copyWithin(w * dim, r * dim, (r + 1) * dim);
        this.ids[w] = this.ids[r]!;
        this.metas[w] = this.metas[r];
        this.rowOf.set(this.ids[w]!, w);
      }
      w++;
    }
    this.ids.length = w;
    this.metas.length = w;
    return gone.size;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  get(id: string): IndexedItem | undefined {
    const row = this.rowOf.get(id);
    if (row === undefined) return undefined;
    const dim = this.space.dim;
    const meta = this.metas[row];
    return { id, vector: this.data.slice(row * dim, (row + 1) * dim), ...(meta ? { meta } : {}) };
  }

  search(query: Float32Array, opts: SearchOptions): Neighbor[] {
    this.alive();
    const where = `${KIND} search`;
    checkSearchOptions(opts.k, opts.ef, where);
    checkQuery(this.space, query, where);
    const { dim, metric } = this.space;
    const k = Math.min(opts.k, this.ids.length);
    // The k best so far, sorted nearest first; ties keep the earlier row.
    const best: { row: number; d: number }[] = [];
    for (let r = 0; r < this.ids.length; r++) {
      if (opts.filter && !opts.filter(this.ids[r]!, this.metas[r])) continue;
      const d = distance(metric, query, this.data.subarray(r * dim, (r + 1) * dim));
      if (best.length === k && d >= best[k - 1]!.d) continue;
      let i = best.length < k ? best.length : k - 1;
      while (i > 0 && best[i - 1]!.d > d) i--;
      best.splice(i, 0, { row: r, d });
      if (best.length > k) best.pop();
    }
    return best.map(({ row, d }) => this.neighbor(row, d));
  }

  async searchBatch(queries: VectorSet | Float32Array, opts: BatchSearchOptions): Promise<Neighbor[][]> {
    this.alive();
    const where = `${KIND} searchBatch`;
    checkSearchOptions(opts.k, opts.ef, where);
    const q = checkQueries(this.space, queries, where);
    const { dim, metric } = this.space;
    const m = q.length / dim;
    const [base, rows] = this.candidates(opts.filter);
    if (rows.length === 0 || m === 0) return Array.from({ length: m }, () => []);
    const threads = opts.threads === undefined ? {} : { threads: opts.threads <= 1 ? 0 : opts.threads };
    const r = await exactKnn(base, q, dim, opts.k, { metric, ...threads });
    const out: Neighbor[][] = [];
    for (let i = 0; i < m; i++) {
      const hits: Neighbor[] = [];
      for (let j = 0; j < r.k; j++) hits.push(this.neighbor(rows[r.indices[i * r.k + j]!]!, r.distances[i * r.k + j]!));
      out.push(hits);
    }
    return out;
  }

  save(): ModelArtifact {
    this.alive();
    const n = this.ids.length;
    const dim = this.space.dim;
    const rows: RowRecord[] = this.ids.map((id, i) => (this.metas[i] ? { id, meta: this.metas[i] } : { id }));
    return {
      kind: KIND,
      format: FORMAT,
      meta: { space: this.space, count: n },
      files: {
        [VECTORS_FILE]: encodeNpy({ dtype: "float32", shape: [n, dim], data: this.data.slice(0, n * dim) }),
        [ROWS_FILE]: encodeRows(rows),
      },
    };
  }

  toVectorSet(): VectorSet {
    const n = this.ids.length;
    const anyMeta = this.metas.some((m) => m !== undefined);
    return {
      space: this.space,
      ids: [...this.ids],
      data: this.data.slice(0, n * this.space.dim),
      ...(anyMeta ? { meta: this.metas.map((m) => m ?? {}) } : {}),
    };
  }

  dispose(): void {
    this.disposed = true;
    this.data = new Float32Array(0);
    this.ids = [];
    this.metas = [];
    this.rowOf.clear();
  }

  private alive(): void {
    if (this.disposed) throw new LatentflowError("E_DISPOSED", `${KIND}: the index was disposed`);
  }

  private neighbor(row: number, d: number): Neighbor {
    const meta = this.metas[row];
    return { id: this.ids[row]!, distance: d, ...(meta ? { meta } : {}) };
  }

  /** Base rows a batch searches: all, or the matching ones gathered (with their row numbers). */
  private candidates(filter: IndexFilter | undefined): [Float32Array, ArrayLike<number>] {
    const dim = this.space.dim;
    const n = this.ids.length;
    if (!filter) return [this.data.subarray(0, n * dim), Int32Array.from({ length: n }, (_, i) => i)];
    const rows: number[] = [];
    for (let r = 0; r < n; r++) if (filter(this.ids[r]!, this.metas[r])) rows.push(r);
    const base = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => {
      base.set(this.data.subarray(r * dim, (r + 1) * dim), i * dim);
    });
    return [base, rows];
  }

  private reserve(rows: number): void {
    const dim = this.space.dim;
    if (rows * dim <= this.data.length) return;
    const grown = new Float32Array(Math.max(rows, 2 * (this.data.length / dim)) * dim);
    grown.set(this.data.subarray(0, this.ids.length * dim));
    this.data = grown;
  }

  private append(id: string, v: Float32Array, meta: RowMeta | undefined): void {
    const row = this.ids.length;
    this.data.set(v, row * this.space.dim);
    this.ids.push(id);
    this.metas.push(meta);
    this.rowOf.set(id, row);
  }
}
