import { REDUCER_LIMITS, checkAtMost } from "../limits.js";
import {
  LatentflowError,
  assertFinite,
  assertSameSpace,
  createRng,
  createVectorSet,
  defineSpace,
  type ModelArtifact,
  type Space,
  type VectorSet,
  reducedSpace,
  throwIfCancelled,
  type ReduceRunOptions,
  type Reducer,
} from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { exactKnn } from "@latentflow/core/kernels";
import { VERSION } from "../version.js";
import { conditionalP, symmetrize, type SparseP } from "./affinities.js";
import { TsneGradient } from "./gradient.js";
import { pcaScores } from "./pca-init.js";
import { bhRepulsion, QuadTree, STACK_SIZE } from "./quadtree.js";
import { ThreadedTsneGradient } from "./threads.js";

const KIND = "reducers/tsne";
const FORMAT = "1";
const EMBEDDING_FILE = "embedding.npy";
const TRAIN_FILE = "train.npy";
/** Below this many points `method: "auto"` uses the exact gradient (and the reported KL is exact). */
export const EXACT_BELOW = 1000;
/** Up to this many points the final KL is computed with the exact Z even after a Barnes-Hut run. */
const EXACT_KL_UP_TO = 5000;

/** Options of t-SNE; defaults are scikit-learn's. */
export interface TsneOptions {
  /** Output dimensions. Barnes-Hut supports 2; 3 (or more) runs the exact O(n²) gradient. Default 2. */
  dimensions?: number;
  /** Effective number of neighbours each point's Gaussian is calibrated to. Default 30. */
  perplexity?: number;
  /** Factor P is multiplied by during the first `earlyExaggerationIter` iterations. Default 12. */
  earlyExaggeration?: number;
  /** Length of the early exaggeration phase. Default 250. */
  earlyExaggerationIter?: number;
  /** Step size; "auto" is max(n / earlyExaggeration / 4, 50) as in scikit-learn. Default "auto". */
  learningRate?: number | "auto";
  /** Total iterations, early exaggeration included (scikit-learn's max_iter). Default 1000. */
  nIter?: number;
  /** Barnes-Hut accuracy: a cell is summarised when its width < theta × distance. Default 0.5. */
  theta?: number;
  /** "auto": exact below 1000 points or when dimensions ≠ 2, Barnes-Hut otherwise. Default "auto". */
  method?: "auto" | "barnes_hut" | "exact";
  /** Start from the first principal components scaled to std 1e-4, or from N(0, 1e-4²). Default "pca". */
  init?: "pca" | "random";
  /** Input distance: squared Euclidean (as scikit-learn) or cosine. Default: cosine for cosine spaces. */
  metric?: "euclidean" | "cosine";
  /** Seed of the initialisation. Default 42. */
  seed?: number | string;
  /** Worker threads for the Barnes-Hut gradient; 0 runs on the calling thread. Default: all cores, 1 below 5000 points. */
  threads?: number;
}

/** Options of placing new points into a fitted map. */
export interface TsneTransformOptions extends ReduceRunOptions {
  /** Perplexity of the new points' affinities to the training points (openTSNE uses a small one). Default 5. */
  perplexity?: number;
  /** Optimisation iterations for the new points. Default 250. */
  nIter?: number;
  /** Step size. Default 0.1 (openTSNE's). */
  learningRate?: number;
}

interface Resolved {
  dimensions: number;
  perplexity: number;
  earlyExaggeration: number;
  earlyExaggerationIter: number;
  learningRate: number | "auto";
  nIter: number;
  theta: number;
  method: "auto" | "barnes_hut" | "exact";
  init: "pca" | "random";
  metric: "euclidean" | "cosine" | undefined;
  seed: number | string;
  threads: number | undefined;
}

function param(name: string, found: unknown, expected: string): LatentflowError {
  return new LatentflowError("E_PARAM", `${KIND}: expected ${name} ${expected}, found ${String(found)}`, { data: { expected, found, where: KIND } });
}

function resolve(o: TsneOptions): Resolved {
  const r: Resolved = {
    dimensions: o.dimensions ?? 2,
    perplexity: o.perplexity ?? 30,
    earlyExaggeration: o.earlyExaggeration ?? 12,
    earlyExaggerationIter: o.earlyExaggerationIter ?? 250,
    learningRate: o.learningRate ?? "auto",
    nIter: o.nIter ?? 1000,
    theta: o.theta ?? 0.5,
    method: o.method ?? "auto",
    init: o.init ?? "pca",
    metric: o.metric,
    seed: o.seed ?? 42,
    threads: o.threads,
  };
  if (!Number.isInteger(r.dimensions) || r.dimensions < 1) throw param("dimensions", r.dimensions, "a positive integer");
  if (!(r.perplexity > 0) || !Number.isFinite(r.perplexity)) throw param("perplexity", r.perplexity, "a positive number");
  if (!(r.earlyExaggeration >= 1) || !Number.isFinite(r.earlyExaggeration)) throw param("earlyExaggeration", r.earlyExaggeration, "a number ≥ 1");
  if (!Number.isInteger(r.earlyExaggerationIter) || r.earlyExaggerationIter < 0) throw param("earlyExaggerationIter", r.earlyExaggerationIter, "an integer ≥ 0");
  if (r.learningRate !== "auto" && !(r.learningRate > 0 && Number.isFinite(r.learningRate))) throw param("learningRate", r.learningRate, `"auto" or a positive number`);
  if (!Number.isInteger(r.nIter) || r.nIter < 1) throw param("nIter", r.nIter, "a positive integer");
  if (!(r.theta >= 0) || !Number.isFinite(r.theta)) throw param("theta", r.theta, "a number ≥ 0");
  if (!["auto", "barnes_hut", "exact"].includes(r.method)) throw param("method", r.method, `"auto", "barnes_hut" or "exact"`);
  if (!["pca", "random"].includes(r.init)) throw param("init", r.init, `"pca" or "random"`);
  if (r.metric !== undefined && !["euclidean", "cosine"].includes(r.metric)) throw param("metric", r.metric, `"euclidean" or "cosine"`);
  if (r.method === "barnes_hut" && r.dimensions !== 2) {
    throw new LatentflowError("E_PARAM", `${KIND}: Barnes-Hut is implemented for 2 dimensions, found dimensions ${r.dimensions}`, {
      hint: `use method "exact" (O(n²) per iteration) for ${r.dimensions}-D maps, or dimensions 2`,
    });
  }
  if (r.threads !== undefined && (!Number.isInteger(r.threads) || r.threads < 0)) throw param("threads", r.threads, "an integer ≥ 0");
  checkAtMost(KIND, "dimensions", r.dimensions, REDUCER_LIMITS.tsneDimensions, `t-SNE maps are 2-D or 3-D; its exact gradient costs n² × dimensions per iteration`);
  checkAtMost(KIND, "nIter", r.nIter, REDUCER_LIMITS.iterations);
  checkAtMost(KIND, "earlyExaggerationIter", r.earlyExaggerationIter, REDUCER_LIMITS.iterations);
  if (r.threads !== undefined) checkAtMost(KIND, "threads", r.threads, REDUCER_LIMITS.threads);
  return r;
}

/** What a fit found out, besides the map. */
export interface TsneFitInfo {
  /** Final KL(P‖Q) (P not exaggerated). */
  klDivergence: number;
  /** "exact" when Z was summed over all pairs, "barnes_hut" when it is the Barnes-Hut estimate (as scikit-learn reports). */
  klMethod: "exact" | "barnes_hut";
  /** Gradient used: exact or Barnes-Hut. */
  method: "exact" | "barnes_hut";
  /** Iterations run (fewer than nIter when the gradient vanished). */
  iterations: number;
  learningRate: number;
  /** Neighbours each point's perplexity was calibrated on. */
  neighbors: number;
}

function reduceMetric(space: Space, m: Resolved["metric"]): "euclidean" | "cosine" {
  return m ?? (space.metric === "cosine" ? "cosine" : "euclidean");
}

/** kNN of each query among base rows, the row itself dropped when `self` (queries are the base). */
async function neighbours(base: Float32Array, queries: Float32Array, dim: number, k: number, metric: "euclidean" | "cosine", self: boolean, signal?: AbortSignal) {
  const m = queries.length / dim;
  const r = await exactKnn(base, queries, dim, self ? k + 1 : k, { metric: metric === "cosine" ? "cosine" : "l2", ...(signal ? { signal } : {}) });
  if (!self) return { k: r.k, indices: r.indices, distances: r.distances };
  const kk = r.k - 1;
  const indices = new Int32Array(m * kk);
  const distances = new Float64Array(m * kk);
  for (let i = 0; i < m; i++) {
    let o = 0;
    // The point itself is usually first, but an exact duplicate with a lower index may come before it.
    for (let j = 0; j < r.k && o < kk; j++) {
      const t = r.indices[i * r.k + j];
      if (t === i) continue;
      indices[i * kk + o] = t;
      distances[i * kk + o++] = r.distances[i * r.k + j];
    }
  }
  return { k: kk, indices, distances };
}

function checkInput(vs: VectorSet, where: string): number {
  const n = vs.ids.length;
  if (vs.data.length !== n * vs.space.dim) {
    throw new LatentflowError("E_SHAPE", `${where}: expected ${n} × ${vs.space.dim} values, found ${vs.data.length}`);
  }
  assertFinite(vs.data, vs.space.dim, vs.ids, where);
  return n;
}

/**
 * t-SNE (van der Maaten & Hinton 2008) as scikit-learn runs it: perplexity-calibrated affinities on the
 * 3·perplexity nearest neighbours (exact kNN), symmetrised; PCA initialisation; 250 iterations of early
 * exaggeration (momentum 0.5) then the rest at momentum 0.8, with delta-bar-delta gains; Barnes-Hut
 * gradient (θ = 0.5) for large n, exact below 1000 points. `transform` places new points into the fixed
 * map as openTSNE does: each new point's affinities to the training points are optimised against the
 * training embedding, which does not move.
 */
export class Tsne implements Reducer {
  static readonly kind = KIND;
  readonly options: Readonly<Resolved>;
  private _inputSpace: Space | undefined;
  private _outputSpace: Space | undefined;
  private embeddingData: Float32Array | undefined;
  private trainData: Float32Array | undefined;
  private _info: TsneFitInfo | undefined;

  constructor(options: TsneOptions = {}) {
    this.options = resolve(options);
  }

  get inputSpace(): Space | undefined {
    return this._inputSpace;
  }

  get outputSpace(): Space | undefined {
    return this._outputSpace;
  }

  /** Final KL divergence, method, iterations: undefined before fit. */
  get info(): TsneFitInfo | undefined {
    return this._info;
  }

  /** The map of the training points (n × dimensions, row-major), undefined before fit. */
  get embedding(): Float32Array | undefined {
    return this.embeddingData;
  }

  async fit(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<this> {
    await this.run(vs, opts);
    return this;
  }

  async fitTransform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    await this.run(vs, opts);
    return createVectorSet({ space: this._outputSpace!, data: this.embeddingData!, ids: vs.ids, ...(vs.meta ? { meta: vs.meta } : {}) });
  }

  private async run(vs: VectorSet, opts: ReduceRunOptions): Promise<void> {
    const o = this.options;
    const n = checkInput(vs, `${KIND} fit`);
    const D = vs.space.dim;
    const d = o.dimensions;
    if (n < 2) throw new LatentflowError("E_TOO_FEW_POINTS", `${KIND} fit: expected at least 2 points, found ${n}`);
    if (d >= n) {
      throw new LatentflowError("E_PARAM", `${KIND} fit: expected dimensions below the number of points (${n}), found ${d}`, {
        hint: "a map has fewer dimensions than there are points; lower dimensions (2 or 3 for a picture)",
        data: { param: "dimensions", limit: n - 1, found: d, where: KIND },
      });
    }
    if (o.perplexity >= n) {
      throw new LatentflowError("E_TOO_FEW_POINTS", `${KIND} fit: perplexity must be less than the number of points; expected perplexity < ${n}, found ${o.perplexity}`, {
        hint: `lower perplexity (a common choice is 5–50, and at most about n/3 = ${Math.max(1, Math.floor(n / 3))} here) or give more points`,
        data: { expected: `< ${n}`, found: o.perplexity, where: KIND },
      });
    }
    const method: "exact" | "barnes_hut" = o.method === "auto" ? (n < EXACT_BELOW || d !== 2 ? "exact" : "barnes_hut") : o.method;
    const metric = reduceMetric(vs.space, o.metric);
    const signal = opts.signal;
    throwIfCancelled(signal, "t-SNE");
    // Progress counts gradient iterations, and says so; the affinities are named at 0.
    const total = o.nIter;
    opts.onProgress?.(0, total, "iterations (setup: affinities)");

    // scikit-learn: exact uses every pair, Barnes-Hut the min(n − 1, ⌊3·perplexity + 1⌋) nearest.
    const k = method === "exact" ? n - 1 : Math.min(n - 1, Math.floor(3 * o.perplexity + 1));
    const nn = await neighbours(vs.data, vs.data, D, k, metric, true, signal);
    throwIfCancelled(signal, "t-SNE");
    const P = symmetrize(conditionalP(nn.distances, n, nn.k, o.perplexity), nn.indices, n, nn.k);

    const rng = createRng(o.seed).fork("tsne-init");
    const y = new Float64Array(n * d);
    if (o.init === "pca" && D >= d) {
      const scores = pcaScores(vs.data, n, D, d, rng, 7);
      // As scikit-learn and openTSNE: scale so the first coordinate has standard deviation 1e-4.
      let mean = 0;
      for (let i = 0; i < n; i++) mean += scores[i * d];
      mean /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (scores[i * d] - mean) ** 2;
      const scale = 1e-4 / (Math.sqrt(v / n) || 1);
      for (let i = 0; i < n * d; i++) y[i] = scores[i] * scale;
    } else {
      for (let i = 0; i < n * d; i++) y[i] = 1e-4 * rng.normal();
    }
    throwIfCancelled(signal, "t-SNE");

    const learningRate = o.learningRate === "auto" ? Math.max(n / o.earlyExaggeration / 4, 50) : o.learningRate;
    const threads = o.threads ?? (n >= 5000 ? undefined : 0);
    const grad = method === "barnes_hut" && threads !== 0 ? await ThreadedTsneGradient.create(P, n, o.theta, threads) : new TsneGradient(P, n, d, method, o.theta);
    let iterations = 0;
    let kl = Number.NaN;
    try {
      const ee = Math.min(o.earlyExaggerationIter, o.nIter);
      const onIter = (it: number) => {
        iterations = it;
        if (it % 10 === 0 || it === o.nIter) opts.onProgress?.(it, total, it <= ee ? "iterations (early exaggeration)" : "iterations (optimising)");
      };
      let r = await descend(grad, y, { iterations: ee, start: 0, momentum: 0.5, exaggeration: o.earlyExaggeration, learningRate, signal, onIter });
      if (!r.converged && o.nIter > ee) {
        r = await descend(grad, y, { iterations: o.nIter - ee, start: ee, momentum: 0.8, exaggeration: 1, learningRate, signal, onIter });
      }
      kl = r.kl;
      if (!r.klPlain) kl = (await grad.evaluate(y, 1, new Float64Array(n * d))).kl;
    } finally {
      if (grad instanceof ThreadedTsneGradient) await grad.dispose();
    }
    let klMethod: "exact" | "barnes_hut" = method;
    if (method === "barnes_hut" && n <= EXACT_KL_UP_TO) {
      kl = new TsneGradient(P, n, d, "exact", 0).klAt(y);
      klMethod = "exact";
    }

    const params = {
      perplexity: o.perplexity,
      earlyExaggeration: o.earlyExaggeration,
      earlyExaggerationIter: o.earlyExaggerationIter,
      learningRate: o.learningRate,
      nIter: o.nIter,
      theta: o.theta,
      method,
      init: o.init,
      metric,
      seed: o.seed,
    };
    this._inputSpace = vs.space;
    this._outputSpace = reducedSpace(vs.space, KIND, VERSION, d, params);
    this.embeddingData = Float32Array.from(y);
    this.trainData = vs.data;
    this._info = { klDivergence: kl, klMethod, method, iterations, learningRate, neighbors: nn.k };
    opts.onProgress?.(total, total, "iterations (done)");
  }

  /**
   * Places new points of the training space into the fitted map (openTSNE's approach): each starts at
   * the median of its nearest training points' positions and is moved to minimise the KL divergence
   * between its affinities to the training points (perplexity 5 by default) and its Student-t
   * similarities to their fixed positions. The training map does not move, and each point is placed
   * independently of the others in the batch.
   */
  async transform(vs: VectorSet, opts: TsneTransformOptions = {}): Promise<VectorSet> {
    const { embeddingData: Y, trainData: X, _inputSpace: inSpace, _outputSpace: outSpace } = this;
    if (!Y || !inSpace || !outSpace) {
      throw new LatentflowError("E_NOT_FITTED", `${KIND}: transform before fit`, { hint: "call fit (or fitTransform) first, or load a saved model" });
    }
    assertSameSpace(inSpace, vs.space, `${KIND} transform`);
    const m = checkInput(vs, `${KIND} transform`);
    if (!X) {
      throw new LatentflowError("E_NOT_SUPPORTED", `${KIND}: this model was saved without its training data, which placing new points needs`, {
        hint: "save the model with { trainingData: true } (the default) to transform new points later",
      });
    }
    const D = inSpace.dim;
    const d = outSpace.dim;
    const n = Y.length / d;
    const perplexity = opts.perplexity ?? 5;
    const nIter = opts.nIter ?? 250;
    const lr = opts.learningRate ?? 0.1;
    if (!(perplexity > 0) || perplexity >= n) throw param("transform perplexity", perplexity, `a number in (0, ${n})`);
    if (!Number.isInteger(nIter) || nIter < 0) throw param("transform nIter", nIter, "an integer ≥ 0");
    if (!(lr > 0)) throw param("transform learningRate", lr, "a positive number");
    const out = new Float64Array(m * d);
    if (m > 0) {
      const k = Math.min(n, Math.floor(3 * perplexity + 1));
      const nn = await neighbours(X, vs.data, D, k, this.options.metric ?? reduceMetric(inSpace, undefined), false, opts.signal);
      const cond = conditionalP(nn.distances, m, nn.k, perplexity);
      const yRef = Float64Array.from(Y);
      placeNewPoints(yRef, n, d, nn.indices, cond, nn.k, out, m, { nIter, lr, theta: this.options.theta, signal: opts.signal, onProgress: opts.onProgress });
    }
    return createVectorSet({ space: outSpace, data: Float32Array.from(out), ids: vs.ids, ...(vs.meta ? { meta: vs.meta } : {}) });
  }

  /** Holds no threads of its own (gradient workers live only during a fit); idempotent. */
  async dispose(): Promise<void> {}

  /**
   * The fitted map as a model artifact: `embedding.npy` (n × dimensions float32) and, unless
   * `trainingData: false`, `train.npy` (the training vectors, which `transform` needs).
   */
  save(opts: { trainingData?: boolean } = {}): ModelArtifact {
    if (!this.embeddingData || !this._inputSpace || !this._outputSpace || !this._info) {
      throw new LatentflowError("E_NOT_FITTED", `${KIND}: save before fit`, { hint: "call fit (or fitTransform) first" });
    }
    const d = this._outputSpace.dim;
    const n = this.embeddingData.length / d;
    const files: Record<string, Uint8Array> = {
      [EMBEDDING_FILE]: encodeNpy({ dtype: "float32", shape: [n, d], data: this.embeddingData }),
    };
    if (opts.trainingData !== false && this.trainData) {
      files[TRAIN_FILE] = encodeNpy({ dtype: "float32", shape: [n, this._inputSpace.dim], data: this.trainData });
    }
    return {
      kind: KIND,
      format: FORMAT,
      meta: { inputSpace: this._inputSpace, outputSpace: this._outputSpace, options: { ...this.options }, info: this._info, count: n },
      files,
    };
  }

  /** Reads a model written by `save()`. */
  static load(artifact: ModelArtifact): Tsne {
    if (artifact.kind !== KIND) {
      throw new LatentflowError("E_ARTIFACT_KIND", `expected a '${KIND}' model artifact, found '${artifact.kind}'`, { data: { expected: KIND, found: artifact.kind } });
    }
    if (artifact.format !== FORMAT) {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`, {
        hint: "the artifact was written by another version of @latentflow/reducers",
      });
    }
    const meta = artifact.meta as { inputSpace: Space; outputSpace: Space; options: Resolved; info: TsneFitInfo; count: number };
    const t = new Tsne(meta.options);
    t._inputSpace = defineSpace(meta.inputSpace);
    t._outputSpace = defineSpace(meta.outputSpace);
    t._info = meta.info;
    const emb = artifact.files[EMBEDDING_FILE];
    if (!emb) throw new LatentflowError("E_ARTIFACT_FORMAT", `${KIND} artifact: expected a file '${EMBEDDING_FILE}', found ${Object.keys(artifact.files).join(", ") || "no files"}`);
    const e = parseNpy(emb);
    if (e.dtype !== "float32" || e.shape.length !== 2 || e.shape[1] !== t._outputSpace.dim) {
      throw new LatentflowError("E_ARTIFACT_FORMAT", `${KIND} artifact: expected ${EMBEDDING_FILE} float32 [n, ${t._outputSpace.dim}], found ${e.dtype} [${e.shape}]`);
    }
    t.embeddingData = Float32Array.from(e.data as Float32Array);
    const tr = artifact.files[TRAIN_FILE];
    if (tr) {
      const x = parseNpy(tr);
      if (x.dtype !== "float32" || x.shape[0] !== e.shape[0] || x.shape[1] !== t._inputSpace.dim) {
        throw new LatentflowError("E_ARTIFACT_FORMAT", `${KIND} artifact: expected ${TRAIN_FILE} float32 [${e.shape[0]}, ${t._inputSpace.dim}], found ${x.dtype} [${x.shape}]`);
      }
      t.trainData = Float32Array.from(x.data as Float32Array);
    }
    return t;
  }
}

interface DescendOptions {
  iterations: number;
  start: number;
  momentum: number;
  exaggeration: number;
  learningRate: number;
  signal: AbortSignal | undefined;
  onIter: (iteration: number) => void;
}

const MIN_GAIN = 0.01;
const MIN_GRAD_NORM = 1e-7;
const CHECK_EVERY = 50;

/**
 * scikit-learn's _gradient_descent: momentum, per-coordinate gains (+0.2 when the gradient changes
 * sign against the update, ×0.8 otherwise, at least 0.01). Update and gains start afresh in each phase.
 */
async function descend(g: TsneGradient | ThreadedTsneGradient, y: Float64Array, o: DescendOptions): Promise<{ kl: number; klPlain: boolean; converged: boolean }> {
  const len = y.length;
  const grad = new Float64Array(len);
  const update = new Float64Array(len);
  const gains = new Float64Array(len).fill(1);
  let kl = Number.NaN;
  for (let it = 0; it < o.iterations; it++) {
    throwIfCancelled(o.signal, "t-SNE");
    const last = it === o.iterations - 1;
    // As scikit-learn, the KL is computed every 50 iterations and at the end only.
    const info = await g.evaluate(y, o.exaggeration, grad, last || (it + 1) % CHECK_EVERY === 0);
    if (!Number.isNaN(info.kl)) kl = info.kl;
    let norm = 0;
    for (let i = 0; i < len; i++) {
      const gi = grad[i];
      const u = update[i];
      let gain = gains[i];
      gain = u * gi < 0 ? gain + 0.2 : gain * 0.8;
      if (gain < MIN_GAIN) gain = MIN_GAIN;
      gains[i] = gain;
      const step = o.momentum * u - o.learningRate * gain * gi;
      update[i] = step;
      y[i] += step;
      norm += gi * gi;
    }
    o.onIter(o.start + it + 1);
    if ((it + 1) % CHECK_EVERY === 0 && Math.sqrt(norm) < MIN_GRAD_NORM) return { kl, klPlain: o.exaggeration === 1, converged: true };
    // Workers and the event loop get a turn: progress callbacks and abort signals are delivered.
    if (it % 10 === 9) await new Promise<void>((r) => setImmediate(r));
  }
  return { kl, klPlain: o.exaggeration === 1, converged: false };
}

/** Positions new points against a fixed map; see Tsne.transform. */
function placeNewPoints(
  yRef: Float64Array,
  n: number,
  d: number,
  nbr: Int32Array,
  cond: Float64Array,
  k: number,
  out: Float64Array,
  m: number,
  o: { nIter: number; lr: number; theta: number; signal?: AbortSignal; onProgress?: ReduceRunOptions["onProgress"] },
): void {
  // Median of the neighbours' positions, per coordinate.
  const buf = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    for (let a = 0; a < d; a++) {
      for (let j = 0; j < k; j++) buf[j] = yRef[nbr[i * k + j] * d + a];
      buf.sort();
      out[i * d + a] = k % 2 ? buf[(k - 1) / 2] : (buf[k / 2 - 1] + buf[k / 2]) / 2;
    }
  }
  const useTree = d === 2 && n >= EXACT_BELOW;
  let tree: QuadTree | undefined;
  if (useTree) {
    tree = new QuadTree(n);
    tree.build(yRef, n);
  }
  const stack = new Int32Array(STACK_SIZE);
  const rep = new Float64Array(m * d);
  const grad = new Float64Array(m * d);
  const update = new Float64Array(m * d);
  const gains = new Float64Array(m * d).fill(1);
  const diff = new Float64Array(d);
  const zi = new Float64Array(m);
  for (let it = 0; it < o.nIter; it++) {
    throwIfCancelled(o.signal, "t-SNE");
    // Repulsion from every training point, normalised per new point: q_j|i = w_ij / Σ_j w_ij.
    if (tree) {
      for (let i = 0; i < m; i++) {
        zi[i] = bhRepulsion(tree.node, tree.child, tree.point, out, o.theta, i, i + 1, rep, stack, false);
      }
    } else {
      rep.fill(0);
      for (let i = 0; i < m; i++) {
        let z = 0;
        for (let j = 0; j < n; j++) {
          let d2 = 0;
          for (let a = 0; a < d; a++) {
            diff[a] = out[i * d + a] - yRef[j * d + a];
            d2 += diff[a] * diff[a];
          }
          const w = 1 / (1 + d2);
          z += w;
          for (let a = 0; a < d; a++) rep[i * d + a] += w * w * diff[a];
        }
        zi[i] = z;
      }
    }
    for (let i = 0; i < m; i++) {
      for (let a = 0; a < d; a++) grad[i * d + a] = 0;
      for (let j = 0; j < k; j++) {
        const t = nbr[i * k + j];
        let d2 = 0;
        for (let a = 0; a < d; a++) {
          diff[a] = out[i * d + a] - yRef[t * d + a];
          d2 += diff[a] * diff[a];
        }
        const pw = cond[i * k + j] / (1 + d2);
        for (let a = 0; a < d; a++) grad[i * d + a] += pw * diff[a];
      }
      for (let a = 0; a < d; a++) grad[i * d + a] = 4 * (grad[i * d + a] - rep[i * d + a] / zi[i]);
    }
    for (let i = 0; i < m * d; i++) {
      const gi = grad[i];
      let gain = update[i] * gi < 0 ? gains[i] + 0.2 : gains[i] * 0.8;
      if (gain < MIN_GAIN) gain = MIN_GAIN;
      gains[i] = gain;
      update[i] = 0.8 * update[i] - o.lr * gain * gi;
      out[i] += update[i];
    }
    if (it % 10 === 9 || it === o.nIter - 1) o.onProgress?.(it + 1, o.nIter, "placing new points");
  }
}

export type { SparseP };
