import { REDUCER_LIMITS, checkAtMost } from "../limits.js";
import { assertFinite, assertSameSpace, createRng, createVectorSet, LatentflowError, type ModelArtifact, type Space, type VectorSet, reducedSpace, throwIfCancelled, type ReduceRunOptions, type Reducer } from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { VERSION } from "../version.js";
import { fuzzyUnion, membershipStrengths, smoothKnnDist } from "./fuzzy-set.js";
import { epochsPerSample, findAbParams, type SgdTask } from "./layout.js";
import { runSgd } from "./sgd-pool.js";
import { applyProjection, normaliseRows, principalProjection, umapKnn, type Projection } from "./neighbors.js";
import { connectedComponents, spectralLayout } from "./spectral.js";

const KIND = "reducers/umap";
const FORMAT = "1";

/** Above this many multiply-adds (n²·d) `knn: "auto"` builds the graph in a PCA projection. */
const EXACT_KNN_BUDGET = 2e11;

/** Options of UMAP, named and defaulted as umap-learn 0.5's. */
export interface UmapOptions {
  /** Size of the local neighbourhood (the point itself included). Default 15. */
  nNeighbors?: number;
  /** Minimum distance between points in the map. Default 0.1. */
  minDist?: number;
  /** Scale of the embedded points; with minDist fixes the a/b curve. Default 1. */
  spread?: number;
  /** Input distance; defaults to the space's metric when it is cosine, else l2. */
  metric?: "l2" | "cosine";
  /** Output dimensions. Default 2. */
  dimensions?: number;
  /** SGD epochs; default 500 up to 10,000 points, else 200. */
  nEpochs?: number;
  /** Initial SGD learning rate. Default 1. */
  learningRate?: number;
  /** Negative samples per positive sample. Default 5. */
  negativeSampleRate?: number;
  /** Weight of negative samples (gamma). Default 1. */
  repulsionStrength?: number;
  /** Nearest neighbours assumed connected (rho). Default 1. */
  localConnectivity?: number;
  /** Initial layout: spectral (default; PCA when the graph is disconnected), pca or random. */
  init?: "spectral" | "pca" | "random";
  /**
   * How the kNN graph is found: "exact" in the input space, "pca" exactly in a `pcaDimensions`-d PCA
   * projection, "auto" (default) exact unless n²·d is large (e.g. 70k×784), then pca.
   */
  knn?: "auto" | "exact" | "pca";
  /** Dimensions of the projection used by knn "pca". Default 50. */
  pcaDimensions?: number;
  /** Seed of every random choice. Default 42. */
  seed?: number | string;
  /**
   * Worker threads for the kNN kernel and the SGD. Default: all cores. With more than one the SGD is
   * lock-free (Hogwild, as umap-learn's parallel mode) and maps differ slightly between runs; 1 gives
   * bit-identical maps for a seed.
   */
  threads?: number;
}

type Resolved = Required<Omit<UmapOptions, "metric" | "threads" | "nEpochs">> & { metric: "l2" | "cosine" | undefined; nEpochs: number | undefined; threads: number | undefined };

interface FitState {
  inputSpace: Space;
  outputSpace: Space;
  metric: "l2" | "cosine";
  /** Data the graph was built on: input rows, or their projection. */
  reference: Float32Array;
  referenceDim: number;
  projection: Projection | undefined;
  embedding: Float32Array;
  a: number;
  b: number;
  nEpochs: number;
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new LatentflowError("E_PARAM", `umap: expected ${name} an integer ≥ ${min}, found ${v}`);
  return v;
}

function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new LatentflowError("E_PARAM", `umap: expected ${name} a ${allowZero ? "non-negative" : "positive"} number, found ${v}`);
  return v;
}

function resolve(o: UmapOptions): Resolved {
  const r: Resolved = {
    nNeighbors: positiveInt("nNeighbors", o.nNeighbors ?? 15, 2),
    minDist: positive("minDist", o.minDist ?? 0.1, true),
    spread: positive("spread", o.spread ?? 1),
    metric: o.metric,
    dimensions: positiveInt("dimensions", o.dimensions ?? 2),
    nEpochs: o.nEpochs === undefined ? undefined : positiveInt("nEpochs", o.nEpochs),
    learningRate: positive("learningRate", o.learningRate ?? 1),
    negativeSampleRate: positiveInt("negativeSampleRate", o.negativeSampleRate ?? 5, 0),
    repulsionStrength: positive("repulsionStrength", o.repulsionStrength ?? 1, true),
    localConnectivity: positive("localConnectivity", o.localConnectivity ?? 1, true),
    init: o.init ?? "spectral",
    knn: o.knn ?? "auto",
    pcaDimensions: positiveInt("pcaDimensions", o.pcaDimensions ?? 50),
    seed: o.seed ?? 42,
    threads: o.threads === undefined ? undefined : positiveInt("threads", o.threads),
  };
  const L = REDUCER_LIMITS;
  checkAtMost("umap", "dimensions", r.dimensions, L.umapDimensions);
  checkAtMost("umap", "nNeighbors", r.nNeighbors, L.neighbours);
  if (r.nEpochs !== undefined) checkAtMost("umap", "nEpochs", r.nEpochs, L.iterations);
  checkAtMost("umap", "negativeSampleRate", r.negativeSampleRate, L.negativeSampleRate);
  checkAtMost("umap", "pcaDimensions", r.pcaDimensions, L.projectionDimensions);
  if (r.threads !== undefined) checkAtMost("umap", "threads", r.threads, L.threads);
  if (r.minDist > r.spread) throw new LatentflowError("E_PARAM", `umap: expected minDist ≤ spread, found minDist ${r.minDist} > spread ${r.spread}`);
  if (r.metric !== undefined && r.metric !== "l2" && r.metric !== "cosine") throw new LatentflowError("E_PARAM", `umap: expected metric l2 or cosine, found '${r.metric}'`);
  if (!["spectral", "pca", "random"].includes(r.init)) throw new LatentflowError("E_PARAM", `umap: expected init spectral, pca or random, found '${r.init}'`);
  if (!["auto", "exact", "pca"].includes(r.knn)) throw new LatentflowError("E_PARAM", `umap: expected knn auto, exact or pca, found '${r.knn}'`);
  return r;
}

function checkAbort(signal: AbortSignal | undefined): void {
  throwIfCancelled(signal, "UMAP");
}

/** Rescales each output column to [0, 10] (umap-learn does this to every initial layout). */
function rescaleColumns(e: Float32Array, dim: number): void {
  for (let d = 0; d < dim; d++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = d; i < e.length; i += dim) {
      lo = Math.min(lo, e[i]!);
      hi = Math.max(hi, e[i]!);
    }
    const s = hi > lo ? 10 / (hi - lo) : 1;
    for (let i = d; i < e.length; i += dim) e[i] = (e[i]! - lo) * s;
  }
}

/**
 * UMAP (McInnes, Healy & Melville), faithful to umap-learn 0.5: kNN graph, smooth kNN distances, fuzzy
 * union, spectral initialisation, SGD with negative sampling; `transform` places new points in a fitted map.
 */
export class Umap implements Reducer {
  static readonly kind = KIND;
  readonly options: Readonly<Resolved>;
  private state: FitState | undefined;

  constructor(options: UmapOptions = {}) {
    this.options = resolve(options);
  }

  get inputSpace(): Space | undefined {
    return this.state?.inputSpace;
  }

  get outputSpace(): Space | undefined {
    return this.state?.outputSpace;
  }

  /** The fitted map (n×dimensions, row-major), or undefined before fit. */
  get embedding(): Float32Array | undefined {
    return this.state?.embedding;
  }

  /** The a, b of the output similarity curve 1/(1 + a·d^(2b)). */
  get curve(): { a: number; b: number } {
    return this.state ? { a: this.state.a, b: this.state.b } : findAbParams(this.options.spread, this.options.minDist);
  }

  /** Parameters that change the map, as recorded in the output space. */
  private spaceParams(metric: string): Record<string, unknown> {
    const o = this.options;
    return {
      nNeighbors: o.nNeighbors, minDist: o.minDist, spread: o.spread, metric, nEpochs: o.nEpochs ?? "auto", learningRate: o.learningRate,
      negativeSampleRate: o.negativeSampleRate, repulsionStrength: o.repulsionStrength, localConnectivity: o.localConnectivity,
      init: o.init, knn: o.knn, pcaDimensions: o.pcaDimensions, seed: String(o.seed),
      // The SGD on several threads is lock-free: faster, and not reproducible. The space says which it was.
      threads: o.threads ?? "all", deterministic: o.threads === 1,
    };
  }

  private checkInput(vs: VectorSet, where: string): number {
    if (!vs || !(vs.data instanceof Float32Array) || !vs.space) throw new LatentflowError("E_PORT_TYPE", `${where}: expected a VectorSet`);
    const dim = vs.space.dim;
    if (vs.data.length !== vs.ids.length * dim) throw new LatentflowError("E_SHAPE", `${where}: expected ${vs.ids.length} × ${dim} values, found ${vs.data.length}`);
    assertFinite(vs.data, dim, vs.ids, where);
    return vs.ids.length;
  }

  async fit(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<this> {
    await this.fitInternal(vs, opts);
    return this;
  }

  async fitTransform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const s = await this.fitInternal(vs, opts);
    return createVectorSet({ space: s.outputSpace, data: Float32Array.from(s.embedding), ids: [...vs.ids], ...(vs.meta ? { meta: vs.meta } : {}) });
  }

  private async fitInternal(vs: VectorSet, opts: ReduceRunOptions): Promise<FitState> {
    const o = this.options;
    const n = this.checkInput(vs, "umap fit");
    const k = o.nNeighbors;
    if (n <= k) {
      throw new LatentflowError("E_TOO_FEW_POINTS", `umap fit: expected more points than nNeighbors (${k}), found ${n}`, {
        hint: "lower nNeighbors or fit on more points",
        data: { expected: k + 1, found: n },
      });
    }
    if (o.dimensions >= n) {
      throw new LatentflowError("E_PARAM", `umap fit: expected dimensions below the number of points (${n}), found ${o.dimensions}`, {
        hint: "a map has fewer dimensions than there are points; lower dimensions (2 or 3 for a picture)",
        data: { param: "dimensions", limit: n - 1, found: o.dimensions, where: "umap" },
      });
    }
    const dim = vs.space.dim;
    const metric: "l2" | "cosine" = o.metric ?? (vs.space.metric === "cosine" ? "cosine" : "l2");
    const seed = String(o.seed);
    const rng = createRng(`umap/${seed}`);
    const nEpochs = o.nEpochs ?? (n <= 10000 ? 500 : 200);
    // Progress counts layout epochs, the one unit a user can weigh; the setup stages are named at 0.
    const total = nEpochs;
    const progress = (done: number, message: string) => opts.onProgress?.(done, total, message);
    checkAbort(opts.signal);

    // 1. kNN graph.
    progress(0, "epochs (setup: nearest neighbours)");
    const useProjection = o.knn === "pca" || (o.knn === "auto" && n * n * dim > EXACT_KNN_BUDGET && dim > o.pcaDimensions);
    let reference = metric === "cosine" ? normaliseRows(vs.data, dim) : vs.data;
    let referenceDim = dim;
    let projection: Projection | undefined;
    if (useProjection) {
      projection = await principalProjection(reference, n, dim, o.pcaDimensions, seed);
      reference = applyProjection(projection, reference, dim);
      referenceDim = projection.l;
    } else {
      reference = Float32Array.from(reference);
    }
    // Cosine in a projection is l2 of the projected unit vectors: ‖u − v‖²/2 ≈ 1 − cos.
    const knnMetric = useProjection ? "l2" : metric;
    const nn = await umapKnn(reference, reference, referenceDim, k, knnMetric, o.threads, opts.signal);
    if (useProjection && metric === "cosine") for (let i = 0; i < nn.distances.length; i++) nn.distances[i] = (nn.distances[i]! ** 2) / 2;
    checkAbort(opts.signal);

    // 2. Fuzzy simplicial set.
    progress(0, "epochs (setup: fuzzy simplicial set)");
    const { sigma, rho } = smoothKnnDist(nn.distances, k, o.localConnectivity);
    const w = membershipStrengths(nn.indices, nn.distances, k, sigma, rho);
    const graph = fuzzyUnion(nn.indices, w, n, k);

    // 3. Initial layout.
    progress(0, "epochs (setup: initial layout)");
    const outDim = o.dimensions;
    let embedding: Float32Array;
    let init = o.init;
    if (init === "spectral" && connectedComponents(graph) > 1) init = "pca";
    if (init === "spectral") {
      embedding = spectralLayout(graph, outDim, rng.fork("spectral"));
    } else if (init === "pca") {
      const p = await principalProjection(vs.data, n, dim, outDim, seed);
      embedding = applyProjection(p, vs.data, dim);
      let max = 0;
      for (let i = 0; i < embedding.length; i++) max = Math.max(max, Math.abs(embedding[i]!));
      const r = rng.fork("pca-noise");
      for (let i = 0; i < embedding.length; i++) embedding[i] = (embedding[i]! * 10) / (max || 1) + r.normal() * 1e-4;
    } else {
      const r = rng.fork("random");
      embedding = new Float32Array(n * outDim);
      for (let i = 0; i < embedding.length; i++) embedding[i] = r.next() * 20 - 10;
    }
    rescaleColumns(embedding, outDim);

    // 4. SGD: edges lighter than max/nEpochs are dropped (they would never be sampled).
    let max = 0;
    for (let i = 0; i < graph.data.length; i++) if (graph.data[i]! > max) max = graph.data[i]!;
    const cut = max / (nEpochs > 10 ? nEpochs : n <= 10000 ? 500 : 200);
    let m = 0;
    for (let i = 0; i < graph.data.length; i++) if (graph.data[i]! >= cut) m++;
    const edgeHead = new Int32Array(m);
    const edgeTail = new Int32Array(m);
    const weight = new Float32Array(m);
    let e = 0;
    for (let i = 0; i < n; i++) {
      for (let p = graph.indptr[i]!; p < graph.indptr[i + 1]!; p++) {
        if (graph.data[p]! < cut) continue;
        edgeHead[e] = i;
        edgeTail[e] = graph.indices[p]!;
        weight[e] = graph.data[p]!;
        e++;
      }
    }
    const { a, b } = findAbParams(o.spread, o.minDist);
    const task = this.makeTask(embedding, embedding, edgeHead, edgeTail, weight, nEpochs, n, outDim, a, b, true);
    await runSgd(task, nEpochs, o.learningRate, rng.fork("sgd"), o.threads, opts.signal, (epoch) => progress(epoch, "epochs (layout)"));
    progress(total, "epochs (done)");

    const state: FitState = {
      inputSpace: vs.space,
      outputSpace: reducedSpace(vs.space, "umap", VERSION, outDim, this.spaceParams(metric)),
      metric,
      reference,
      referenceDim,
      projection,
      embedding,
      a,
      b,
      nEpochs,
    };
    this.state = state;
    return state;
  }

  private makeTask(head: Float32Array, tail: Float32Array, edgeHead: Int32Array, edgeTail: Int32Array, weight: Float32Array, nEpochs: number, nTail: number, dim: number, a: number, b: number, moveOther: boolean): SgdTask {
    const eps = epochsPerSample(weight, nEpochs);
    const rate = this.options.negativeSampleRate;
    const nextNegative = new Float64Array(eps.length);
    for (let i = 0; i < eps.length; i++) nextNegative[i] = eps[i]! / rate;
    return {
      head, tail, edgeHead, edgeTail, epochsPerSample: eps, nextSample: Float64Array.from(eps), nextNegative, nTail, dim, a, b,
      gamma: this.options.repulsionStrength, negativeSampleRate: rate, moveOther,
    };
  }

  /**
   * Places new points in the fitted map as umap-learn's `transform`: their kNN among the fitted points,
   * membership weights, start at the weighted mean of those neighbours' positions, then a short SGD
   * (a third of the epochs, a quarter of the learning rate) with the fitted map held still.
   */
  async transform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const s = this.state;
    if (!s) throw new LatentflowError("E_NOT_FITTED", "umap transform: the reducer has not been fitted", { hint: "call fit() or load a saved model first" });
    assertSameSpace(s.inputSpace, vs.space, "umap transform");
    const m = this.checkInput(vs, "umap transform");
    const o = this.options;
    const nTrain = s.embedding.length / o.dimensions;
    const outDim = o.dimensions;
    if (m === 0) return createVectorSet({ space: s.outputSpace, data: new Float32Array(0), ids: [] });
    const k = Math.min(o.nNeighbors, nTrain);
    const dim = vs.space.dim;
    const nEpochs = o.nEpochs === undefined ? (nTrain <= 10000 ? 100 : 30) : Math.max(1, Math.floor(o.nEpochs / 3));
    const total = nEpochs;
    opts.onProgress?.(0, total, "epochs (setup: nearest neighbours)");
    let q = s.metric === "cosine" ? normaliseRows(vs.data, dim) : vs.data;
    if (s.projection) q = applyProjection(s.projection, q, dim);
    const nn = await umapKnn(s.reference, q, s.referenceDim, k, s.projection ? "l2" : s.metric, o.threads, opts.signal);
    if (s.projection && s.metric === "cosine") for (let i = 0; i < nn.distances.length; i++) nn.distances[i] = (nn.distances[i]! ** 2) / 2;
    checkAbort(opts.signal);
    opts.onProgress?.(0, total, "epochs (setup: membership weights)");
    const { sigma, rho } = smoothKnnDist(nn.distances, k, Math.max(0, o.localConnectivity - 1));
    const w = membershipStrengths(nn.indices, nn.distances, k, sigma, rho, true);
    // Start at the l1-normalised weighted mean of the neighbours' positions.
    const head = new Float32Array(m * outDim);
    let wMax = 0;
    for (let i = 0; i < m; i++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += w[i * k + j]!;
      for (let j = 0; j < k; j++) {
        const wij = w[i * k + j]!;
        if (wij > wMax) wMax = wij;
        const c = nn.indices[i * k + j]!;
        const f = sum > 0 ? wij / sum : 1 / k;
        for (let d = 0; d < outDim; d++) head[i * outDim + d] = head[i * outDim + d]! + f * s.embedding[c * outDim + d]!;
      }
    }
    const cut = wMax / nEpochs;
    let count = 0;
    for (let e = 0; e < w.length; e++) if (w[e]! >= cut && w[e]! > 0) count++;
    const edgeHead = new Int32Array(count);
    const edgeTail = new Int32Array(count);
    const weight = new Float32Array(count);
    let e = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) {
        const wij = w[i * k + j]!;
        if (wij < cut || wij <= 0) continue;
        edgeHead[e] = i;
        edgeTail[e] = nn.indices[i * k + j]!;
        weight[e] = wij;
        e++;
      }
    }
    const task = this.makeTask(head, s.embedding, edgeHead, edgeTail, weight, nEpochs, nTrain, outDim, s.a, s.b, false);
    const rng = createRng(`umap/${String(o.seed)}/transform`);
    await runSgd(task, nEpochs, o.learningRate / 4, rng, o.threads, opts.signal, (epoch) => opts.onProgress?.(epoch, total, "epochs (layout)"));
    return createVectorSet({ space: s.outputSpace, data: head, ids: [...vs.ids], ...(vs.meta ? { meta: vs.meta } : {}) });
  }

  /**
   * The fitted map as a model artifact: `embedding.npy`, the data its kNN graph was built on
   * (`reference.npy`: the input rows, or their PCA projection with `projection-*.npy`), and the params.
   */
  /** Holds no threads or wasm memory of its own (its kNN and SGD workers live only during a call); idempotent. */
  async dispose(): Promise<void> {}

  save(): ModelArtifact {
    const s = this.state;
    if (!s) throw new LatentflowError("E_NOT_FITTED", "umap save: the reducer has not been fitted", { hint: "call fit() first" });
    const n = s.embedding.length / this.options.dimensions;
    const files: Record<string, Uint8Array> = {
      "embedding.npy": encodeNpy({ dtype: "float32", shape: [n, this.options.dimensions], data: s.embedding }),
      "reference.npy": encodeNpy({ dtype: "float32", shape: [n, s.referenceDim], data: s.reference }),
    };
    if (s.projection) {
      files["projection-mean.npy"] = encodeNpy({ dtype: "float32", shape: [s.projection.mean.length], data: s.projection.mean });
      files["projection-basis.npy"] = encodeNpy({ dtype: "float32", shape: [s.projection.mean.length, s.projection.l], data: s.projection.basis });
    }
    const { threads: _threads, ...options } = this.options;
    return {
      kind: KIND,
      format: FORMAT,
      meta: {
        version: VERSION,
        options: { ...options, seed: String(options.seed) },
        metric: s.metric,
        a: s.a,
        b: s.b,
        nEpochs: s.nEpochs,
        inputSpace: s.inputSpace,
        outputSpace: s.outputSpace,
      },
      files,
    };
  }

  /** Loads a map saved by `save()`; `threads` is a property of the machine, not of the model. */
  static load(artifact: ModelArtifact, runtime: { threads?: number } = {}): Umap {
    if (artifact.kind !== KIND) throw new LatentflowError("E_ARTIFACT_KIND", `umap load: expected a '${KIND}' artifact, found '${artifact.kind}'`);
    if (artifact.format !== FORMAT) throw new LatentflowError("E_ARTIFACT_FORMAT", `umap load: expected format ${FORMAT}, found '${artifact.format}'`);
    const meta = artifact.meta as { options: UmapOptions & { nEpochs?: number }; metric: "l2" | "cosine"; a: number; b: number; nEpochs: number; inputSpace: Space; outputSpace: Space };
    const file = (name: string): Float32Array => {
      const f = artifact.files[name];
      if (!f) throw new LatentflowError("E_ARTIFACT_FORMAT", `umap load: expected a file '${name}', found ${Object.keys(artifact.files).join(", ")}`);
      const t = parseNpy(f, name);
      if (t.dtype !== "float32") throw new LatentflowError("E_ARTIFACT_FORMAT", `umap load: expected float32 in '${name}', found ${t.dtype}`);
      return t.data as Float32Array;
    };
    const u = new Umap({ ...meta.options, ...(meta.options.nEpochs === undefined || meta.options.nEpochs === null ? { nEpochs: undefined } : {}), ...(runtime.threads ? { threads: runtime.threads } : {}) });
    const reference = file("reference.npy");
    const embedding = file("embedding.npy");
    const projection = artifact.files["projection-basis.npy"] ? { mean: file("projection-mean.npy"), basis: file("projection-basis.npy"), l: 0 } : undefined;
    if (projection) projection.l = projection.basis.length / projection.mean.length;
    const n = embedding.length / u.options.dimensions;
    u.state = {
      inputSpace: meta.inputSpace,
      outputSpace: meta.outputSpace,
      metric: meta.metric,
      reference,
      referenceDim: reference.length / n,
      projection,
      embedding,
      a: meta.a,
      b: meta.b,
      nEpochs: meta.nEpochs,
    };
    return u;
  }
}
