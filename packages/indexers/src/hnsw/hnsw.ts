import { availableParallelism } from "node:os";
import { LatentflowError, type ModelArtifact, type RowMeta, type Space, type VectorSet } from "@latentflow/core";
import { decodeRows, encodeRows, openArtifact, requireFile, ROWS_FILE, type RowRecord } from "../artifact.js";
import { checkBatch, checkQueries, checkQuery, checkSearchOptions } from "../input-checks.js";
import type { BatchSearchOptions, IndexedItem, IndexFilter, Neighbor, SearchOptions, VectorIndex } from "@latentflow/core";
import { createNative, nativeFromBytes, nativeToBytes, toCoreDistance, type NativeHnsw } from "./native.js";
import { SearchPool } from "./search-pool.js";

const KIND = "indexers/hnsw";
const FORMAT = "1";
const INDEX_FILE = "index.hnsw";
// Below this many queries a batch is searched on the calling thread: loading index copies costs more.
const MIN_PARALLEL_QUERIES = 64;

/** Parameters of an HNSW graph and its default search. */
export interface HnswOptions {
  /** Links per node (hnswlib's M). Default 16. */
  m?: number;
  /** Candidate list size while building. Default 200. */
  efConstruction?: number;
  /** Default candidate list size while searching (at least k is used). Default 64. */
  ef?: number;
  /** Seed of hnswlib's level generator: same seed and insertion order, same graph. Default 100. */
  seed?: number;
  /** Slots allocated up front; the index grows by resizing when full. Default 1024. */
  capacity?: number;
}

type Params = Required<Omit<HnswOptions, "capacity">>;

function checkOptions(o: HnswOptions): Params & { capacity: number } {
  const p = { m: o.m ?? 16, efConstruction: o.efConstruction ?? 200, ef: o.ef ?? 64, seed: o.seed ?? 100, capacity: o.capacity ?? 1024 };
  for (const [name, v, min] of [["m", p.m, 2], ["efConstruction", p.efConstruction, 1], ["ef", p.ef, 1], ["capacity", p.capacity, 1], ["seed", p.seed, 0]] as const) {
    if (!Number.isInteger(v) || v < min) {
      throw new LatentflowError("E_PARAM", `${KIND}: expected ${name} an integer ≥ ${min}, found ${v}`, { data: { expected: `integer ≥ ${min}`, found: v, where: KIND } });
    }
  }
  return p;
}

/**
 * Approximate nearest-neighbour index on hnswlib (HNSW graphs). String ids map to hnswlib's integer
 * labels, which are never reused: a deleted id cannot come back through a stale label, while its slot
 * in the graph is reused by the next insert. Filters run inside hnswlib's search.
 */
export class HnswIndex implements VectorIndex {
  static readonly kind = KIND;
  readonly space: Space;
  readonly params: Readonly<Params>;
  private native: NativeHnsw;
  private readonly labelOf = new Map<string, number>();
  private idAt: (string | undefined)[] = [];
  private metaAt: (RowMeta | undefined)[] = [];
  /** Cosine only: hnswlib stores unit vectors, so the original norms are kept to give vectors back. */
  private normAt: number[] = [];
  private nextLabel = 0;
  private capacity: number;
  private deletedSlots = 0;
  private currentEf: number;
  private version = 0;
  private pool: SearchPool | undefined;
  private disposed = false;
  private readonly buf: number[];
  private readonly convert: (d: number) => number;

  constructor(space: Space, opts: HnswOptions = {}) {
    const p = checkOptions(opts);
    this.space = space;
    this.params = { m: p.m, efConstruction: p.efConstruction, ef: p.ef, seed: p.seed };
    this.capacity = p.capacity;
    this.native = createNative(space.metric, space.dim);
    // allowReplaceDeleted: inserts take the slots of deleted items, so deletes do not leak space.
    this.native.initIndex(this.capacity, p.m, p.efConstruction, p.seed, true);
    this.native.setEf(p.ef);
    this.currentEf = p.ef;
    this.buf = new Array<number>(space.dim).fill(0);
    this.convert = toCoreDistance(space.metric);
  }

  /** Builds an index holding the rows of a vector set. */
  static fromVectorSet(vs: VectorSet, opts: HnswOptions = {}): HnswIndex {
    const index = new HnswIndex(vs.space, { capacity: Math.max(1, vs.ids.length), ...opts });
    index.add(vs);
    return index;
  }

  /** Loads an index saved by `save()`: graph, ids, meta, space and parameters. */
  static load(artifact: ModelArtifact): HnswIndex {
    const space = openArtifact(artifact, KIND, FORMAT);
    const meta = artifact.meta as { params: Params; nextLabel: number };
    const rows = decodeRows(artifact.files, KIND);
    const index = new HnswIndex(space, { ...meta.params, capacity: 1 });
    index.native = nativeFromBytes(space.metric, space.dim, requireFile(artifact.files, INDEX_FILE, KIND), true);
    index.native.setEf(index.params.ef);
    index.capacity = index.native.getMaxElements();
    index.nextLabel = meta.nextLabel;
    for (const r of rows) {
      if (typeof r.label !== "number") throw new LatentflowError("E_ARTIFACT_FORMAT", `${KIND} artifact: row '${r.id}' has no label`);
      index.labelOf.set(r.id, r.label);
      index.idAt[r.label] = r.id;
      index.metaAt[r.label] = r.meta;
      if (space.metric === "cosine") index.normAt[r.label] = r.norm ?? 1;
    }
    // Every slot not holding a live row holds a deleted one, which the next insert may take.
    index.deletedSlots = index.native.getCurrentCount() - rows.length;
    return index;
  }

  get size(): number {
    return this.labelOf.size;
  }

  add(vs: VectorSet): void {
    this.alive();
    checkBatch(this.space, vs, `${KIND} add`, (id) => this.labelOf.has(id));
    this.reserve(vs.ids.length);
    for (let i = 0; i < vs.ids.length; i++) this.insert(vs, i);
    this.version++;
  }

  upsert(vs: VectorSet): void {
    this.alive();
    checkBatch(this.space, vs, `${KIND} upsert`);
    this.reserve(vs.ids.filter((id) => !this.labelOf.has(id)).length);
    const dim = this.space.dim;
    for (let i = 0; i < vs.ids.length; i++) {
      const label = this.labelOf.get(vs.ids[i]!);
      if (label === undefined) {
        this.insert(vs, i);
        continue;
      }
      // Same label, new vector: hnswlib updates the point in place and repairs its links.
      this.native.addPoint(this.toArray(vs.data, i * dim), label, false);
      this.metaAt[label] = vs.meta?.[i];
      if (this.space.metric === "cosine") this.normAt[label] = norm(vs.data, i * dim, dim);
    }
    this.version++;
  }

  delete(ids: Iterable<string>): number {
    this.alive();
    let n = 0;
    for (const id of ids) {
      const label = this.labelOf.get(id);
      if (label === undefined) continue;
      this.native.markDelete(label);
      this.labelOf.delete(id);
      this.idAt[label] = undefined;
      this.metaAt[label] = undefined;
      this.deletedSlots++;
      n++;
    }
    if (n > 0) this.version++;
    return n;
  }

  has(id: string): boolean {
    return this.labelOf.has(id);
  }

  /** The stored vector; for cosine spaces hnswlib keeps unit vectors, rescaled here by the original norm (equal up to float32 rounding). */
  get(id: string): IndexedItem | undefined {
    this.alive();
    const label = this.labelOf.get(id);
    if (label === undefined) return undefined;
    const vector = Float32Array.from(this.native.getPoint(label));
    if (this.space.metric === "cosine") {
      const s = this.normAt[label] ?? 1;
      for (let j = 0; j < vector.length; j++) vector[j] = vector[j]! * s;
    }
    const meta = this.metaAt[label];
    return { id, vector, ...(meta ? { meta } : {}) };
  }

  search(query: Float32Array, opts: SearchOptions): Neighbor[] {
    this.alive();
    const where = `${KIND} search`;
    checkSearchOptions(opts.k, opts.ef, where);
    checkQuery(this.space, query, where);
    if (this.labelOf.size === 0) return [];
    this.useEf(opts.ef);
    const k = Math.min(opts.k, this.labelOf.size);
    const buf = this.toArray(query, 0);
    const r = opts.filter ? this.native.searchKnn(buf, k, this.labelFilter(opts.filter)) : this.native.searchKnn(buf, k);
    const out: Neighbor[] = new Array(r.neighbors.length);
    for (let j = 0; j < r.neighbors.length; j++) out[j] = this.neighbor(r.neighbors[j]!, r.distances[j]!);
    return out;
  }

  /**
   * Searches many queries. With more than one thread (default: all cores) and enough queries, worker
   * threads each load a copy of the index and search a share of the queries; a filter is evaluated
   * once per item here and sent to them as a bitmap over labels, still applied inside hnswlib's search.
   */
  async searchBatch(queries: VectorSet | Float32Array, opts: BatchSearchOptions): Promise<Neighbor[][]> {
    this.alive();
    const where = `${KIND} searchBatch`;
    checkSearchOptions(opts.k, opts.ef, where);
    const q = checkQueries(this.space, queries, where);
    const dim = this.space.dim;
    const m = q.length / dim;
    const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), Math.ceil(m / MIN_PARALLEL_QUERIES)));
    if (threads === 1 || this.labelOf.size === 0) {
      const out: Neighbor[][] = [];
      for (let i = 0; i < m; i++) out.push(this.search(q.subarray(i * dim, (i + 1) * dim), opts));
      return out;
    }
    const k = Math.min(opts.k, this.labelOf.size);
    const ef = opts.ef ?? this.params.ef;
    let allowed: Uint8Array | undefined;
    if (opts.filter) {
      allowed = new Uint8Array(new SharedArrayBuffer(Math.max(1, this.nextLabel)));
      for (const [id, label] of this.labelOf) if (opts.filter(id, this.metaAt[label])) allowed[label] = 1;
    }
    this.pool ??= new SearchPool(this.space.metric, dim);
    const r = await this.pool.search(this.native, this.version, threads, q, k, ef, allowed);
    const out: Neighbor[][] = [];
    for (let i = 0; i < m; i++) {
      const hits: Neighbor[] = [];
      for (let j = 0; j < k; j++) {
        const label = r.labels[i * k + j]!;
        if (label < 0) break;
        hits.push(this.neighbor(label, r.distances[i * k + j]!));
      }
      out.push(hits);
    }
    return out;
  }

  /**
   * The index as one artifact: hnswlib's own file (`index.hnsw`, deleted slots included and marked) and
   * `rows.jsonl` (label, id, meta per live item); space and parameters in `meta`.
   */
  save(): ModelArtifact {
    this.alive();
    const rows: RowRecord[] = [];
    for (let label = 0; label < this.idAt.length; label++) {
      const id = this.idAt[label];
      if (id === undefined) continue;
      const meta = this.metaAt[label];
      rows.push({ label, id, ...(meta ? { meta } : {}), ...(this.space.metric === "cosine" ? { norm: this.normAt[label] } : {}) });
    }
    return {
      kind: KIND,
      format: FORMAT,
      meta: { space: this.space, count: rows.length, params: this.params, nextLabel: this.nextLabel },
      files: { [INDEX_FILE]: nativeToBytes(this.native), [ROWS_FILE]: encodeRows(rows) },
    };
  }

  toVectorSet(): VectorSet {
    this.alive();
    const dim = this.space.dim;
    const ids: string[] = [];
    const meta: RowMeta[] = [];
    let anyMeta = false;
    for (const id of this.idAt) {
      if (id === undefined) continue;
      ids.push(id);
    }
    const data = new Float32Array(ids.length * dim);
    ids.forEach((id, i) => {
      const item = this.get(id)!;
      data.set(item.vector, i * dim);
      meta.push(item.meta ?? {});
      anyMeta ||= item.meta !== undefined;
    });
    return { space: this.space, ids, data, ...(anyMeta ? { meta } : {}) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool?.dispose();
    this.pool = undefined;
    // hnswlib-node frees the graph when its object is collected; drop every reference to it.
    this.native = undefined as never;
    this.labelOf.clear();
    this.idAt = [];
    this.metaAt = [];
    this.normAt = [];
  }

  private alive(): void {
    if (this.disposed) throw new LatentflowError("E_DISPOSED", `${KIND}: the index was disposed`);
  }

  private useEf(ef: number | undefined): void {
    const want = ef ?? this.params.ef;
    if (want !== this.currentEf) {
      this.native.setEf(want);
      this.currentEf = want;
    }
  }

  private labelFilter(filter: IndexFilter): (label: number) => boolean {
    const idAt = this.idAt;
    const metaAt = this.metaAt;
    return (label) => {
      const id = idAt[label];
      return id !== undefined && filter(id, metaAt[label]);
    };
  }

  private neighbor(label: number, d: number): Neighbor {
    const meta = this.metaAt[label];
    return { id: this.idAt[label]!, distance: this.convert(d), ...(meta ? { meta } : {}) };
  }

  /** hnswlib-node takes plain arrays; one reused array avoids an allocation per vector. */
  private toArray(data: Float32Array, offset: number): number[] {
    const buf = this.buf;
    for (let j = 0; j < buf.length; j++) buf[j] = data[offset + j]!;
    return buf;
  }

  /** Grows the graph so `incoming` new items fit, counting deleted slots they will take. */
  private reserve(incoming: number): void {
    const used = this.native.getCurrentCount();
    const needed = used + Math.max(0, incoming - this.deletedSlots);
    if (needed <= this.capacity) return;
    this.capacity = Math.max(needed, Math.ceil(this.capacity * 1.5));
    this.native.resizeIndex(this.capacity);
  }

  private insert(vs: VectorSet, i: number): void {
    const dim = this.space.dim;
    const id = vs.ids[i]!;
    const label = this.nextLabel++;
    this.native.addPoint(this.toArray(vs.data, i * dim), label, true);
    if (this.deletedSlots > 0) this.deletedSlots--;
    this.labelOf.set(id, label);
    this.idAt[label] = id;
    this.metaAt[label] = vs.meta?.[i];
    if (this.space.metric === "cosine") this.normAt[label] = norm(vs.data, i * dim, dim);
  }
}

function norm(data: Float32Array, offset: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += data[offset + j]! * data[offset + j]!;
  return Math.sqrt(s);
}
