import {
  fail,
  LatentflowError,
  assertFinite,
  assertSameSpace,
  createRng,
  defineSpace,
  sha256,
  type ModelArtifact,
  type Space,
  type VectorSet,
  reducedSpace,
  throwIfCancelled,
  type ReduceRunOptions,
  type Reducer,
} from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { withCentered, type CenteredData } from "../linalg/dense.js";
import { VERSION } from "../version.js";
import { subspaceIteration, symmetricEigen } from "@latentflow/linalg";
import { REDUCER_LIMITS, checkAtMost } from "../limits.js";

export type PcaSolver = "auto" | "exact" | "randomized";

/** Options of {@link Pca}. */
export interface PcaOptions {
  /** Number of principal components to keep. */
  components: number;
  /** Scale each component to unit variance in the output. Default false. */
  whiten?: boolean;
  /**
   * `exact`: covariance + symmetric eigendecomposition (O(n·d² + d³)). `randomized`: Halko et al.'s
   * randomized subspace iteration (O(n·d·(k + oversampling)) per power iteration). `auto` (default):
   * exact when max(n, d) ≤ 500 or components ≥ 0.8·min(n, d), randomized otherwise (as scikit-learn).
   */
  solver?: PcaSolver;
  /** Randomized solver: extra sampled directions beyond `components`. Default 10. */
  oversampling?: number;
  /** Randomized solver: power iterations. Default 4 (scikit-learn uses 7 when components < 0.1·min(n, d)). */
  powerIterations?: number;
  /** Seed of the randomized solver's Gaussian test matrix. Default 0. */
  seed?: string | number;
  /** Worker threads for the dense products; default all cores, 0 = the calling thread. */
  threads?: number;
}

export const PCA_KIND = "reducers/pca";
const FORMAT = "1";
/** Below this many multiply-adds the products run as float64 JavaScript loops, above in the wasm kernel. */
const SMALL_WORK = 2e7;


/** Column means in float64. */
function columnMeans(x: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  return mean;
}

/** Σ ‖x_i − mean‖² in float64. */
function totalSquares(x: Float32Array, n: number, d: number, mean: Float64Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]! - mean[j]!;
      s += v * v;
    }
  }
  return s;
}

/** Xcᵀ·Xc in float64 JavaScript (small inputs). */
function covarianceJs(x: Float32Array, n: number, d: number, mean: Float64Array): Float64Array {
  const c = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const va = row[a]!;
      if (va === 0) continue;
      for (let b = a; b < d; b++) c[a * d + b]! += va * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) c[a * d + b] = c[b * d + a]!;
  return c;
}

/** The products the randomized solver needs, over resident wasm data or plain JavaScript. */
interface Products {
  covTimes(z: Float64Array, p: number): Promise<Float64Array>;
}

function jsProducts(x: Float32Array, n: number, d: number, mean: Float64Array): Products {
  return {
    async covTimes(z, p) {
      const out = new Float64Array(d * p);
      const row = new Float64Array(d);
      const y = new Float64Array(p);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
        y.fill(0);
        for (let j = 0; j < d; j++) {
          const v = row[j]!;
          if (v !== 0) for (let c = 0; c < p; c++) y[c]! += v * z[j * p + c]!;
        }
        for (let j = 0; j < d; j++) {
          const v = row[j]!;
          if (v !== 0) for (let c = 0; c < p; c++) out[j * p + c]! += v * y[c]!;
        }
      }
      return out;
    },
  };
}

/** A fitted PCA's numbers: what `save` writes and `load` reads. */
interface PcaState {
  inputSpace: Space;
  outputSpace: Space;
  mean: Float64Array;
  /** k×d row-major, unit rows. */
  components: Float64Array;
  explainedVariance: Float64Array;
  explainedVarianceRatio: Float64Array;
  totalVariance: number;
  nSamples: number;
  solver: "exact" | "randomized";
}

/**
 * Principal component analysis: `fit` learns the mean and the top `components` directions of a vector
 * set, `transform` projects (optionally whitened), `inverseTransform` maps back to the input space.
 */
export class Pca implements Reducer {
  readonly options: Required<Omit<PcaOptions, "seed" | "threads">> & { seed: string | number; threads?: number };
  private state: PcaState | undefined;

  constructor(options: PcaOptions) {
    const k = options.components;
    if (!Number.isInteger(k) || k < 1) fail("E_PARAM", `PCA: expected components a positive integer, found ${k}`);
    const oversampling = options.oversampling ?? 10;
    const powerIterations = options.powerIterations ?? 4;
    if (!Number.isInteger(oversampling) || oversampling < 0) fail("E_PARAM", `PCA: expected oversampling a non-negative integer, found ${oversampling}`);
    if (!Number.isInteger(powerIterations) || powerIterations < 0) fail("E_PARAM", `PCA: expected powerIterations a non-negative integer, found ${powerIterations}`);
    checkAtMost("PCA", "oversampling", oversampling, REDUCER_LIMITS.oversampling);
    checkAtMost("PCA", "powerIterations", powerIterations, REDUCER_LIMITS.powerIterations);
    this.options = {
      components: k,
      whiten: options.whiten ?? false,
      solver: options.solver ?? "auto",
      oversampling,
      powerIterations,
      seed: options.seed ?? 0,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    };
  }

  get inputSpace(): Space | undefined {
    return this.state?.inputSpace;
  }
  get outputSpace(): Space | undefined {
    return this.state?.outputSpace;
  }
  /** Variance along each kept component (divided by n − 1, as numpy/scikit-learn). */
  get explainedVariance(): Float64Array {
    return this.fitted("explainedVariance").explainedVariance;
  }
  /** Share of the total variance each kept component explains. */
  get explainedVarianceRatio(): Float64Array {
    return this.fitted("explainedVarianceRatio").explainedVarianceRatio;
  }
  /** k×d row-major unit vectors, largest variance first. */
  get components(): Float64Array {
    return this.fitted("components").components;
  }
  get mean(): Float64Array {
    return this.fitted("mean").mean;
  }
  /** The solver `auto` picked (after fit). */
  get solverUsed(): "exact" | "randomized" | undefined {
    return this.state?.solver;
  }

  private fitted(what: string): PcaState {
    if (!this.state) fail("E_NOT_FITTED", `PCA: ${what} needs a fitted model`, "call fit(vectors) first, or Pca.load(artifact)");
    return this.state;
  }

  async fit(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<this> {
    await this.fitInternal(vs, opts, false);
    return this;
  }

  async fitTransform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const y = await this.fitInternal(vs, opts, true);
    return this.output(vs, y!);
  }

  private pickSolver(n: number, d: number): "exact" | "randomized" {
    const s = this.options.solver;
    if (s !== "auto") return s;
    const k = this.options.components;
    return Math.max(n, d) <= 500 || k >= 0.8 * Math.min(n, d) ? "exact" : "randomized";
  }

  private async fitInternal(vs: VectorSet, opts: ReduceRunOptions, project: boolean): Promise<Float32Array | undefined> {
    const d = vs.space.dim;
    const n = vs.ids.length;
    const k = this.options.components;
    if (vs.data.length !== n * d) fail("E_DIM_MISMATCH", `PCA fit: expected ${n} × ${d} = ${n * d} values, found ${vs.data.length}`);
    if (n < 2) fail("E_TOO_FEW_POINTS", `PCA fit: expected at least 2 points, found ${n}`, "PCA needs several points to estimate a variance");
    if (k > Math.min(n, d)) {
      fail("E_TOO_FEW_POINTS", `PCA fit: expected components ≤ min(points, dimensions) = ${Math.min(n, d)}, found ${k}`, "lower 'components' or fit on more points", { points: n, dim: d, components: k });
    }
    assertFinite(vs.data, d, vs.ids, "PCA fit");
    throwIfCancelled(opts.signal, "PCA");
    const x = vs.data;
    const mean = columnMeans(x, n, d);
    const total = totalSquares(x, n, d, mean);
    const solver = this.pickSolver(n, d);
    const l = Math.min(k + this.options.oversampling, d, n);
    const small = n * d * Math.max(solver === "exact" ? d : l, 1) <= SMALL_WORK;
    const threads = this.options.threads;
    const run = async (c: CenteredData | undefined): Promise<{ comps: Float64Array; values: Float64Array; y?: Float32Array }> => {
      let comps: Float64Array;
      let values: Float64Array;
      if (solver === "exact") {
        opts.onProgress?.(0, 1, "covariance");
        const cov = c ? await c.gram() : covarianceJs(x, n, d, mean);
        const e = symmetricEigen(cov, d);
        comps = new Float64Array(k * d);
        for (let j = 0; j < k; j++) for (let r = 0; r < d; r++) comps[j * d + r] = e.vectors[r * d + j]!;
        values = e.values.slice(0, k);
        opts.onProgress?.(1, 1, "eigendecomposition");
      } else {
        ({ comps, values } = await this.randomized(c ?? jsProducts(x, n, d, mean), d, l, opts));
      }
      for (let j = 0; j < k; j++) {
        // A fixed sign (largest |coordinate| positive) makes runs and solvers comparable.
        let big = 0;
        for (let r = 0; r < d; r++) if (Math.abs(comps[j * d + r]!) > Math.abs(big)) big = comps[j * d + r]!;
        if (big < 0) for (let r = 0; r < d; r++) comps[j * d + r] = -comps[j * d + r]!;
      }
      const y = project && c ? await c.project(comps, k) : undefined;
      return { comps, values, ...(y ? { y } : {}) };
    };
    const r = small ? await run(undefined) : await withCentered(x, n, d, mean, Math.max(l, k), { ...(threads !== undefined ? { threads } : {}), gram: solver === "exact" }, run);
    const dof = n - 1;
    const explainedVariance = Float64Array.from(r.values, (v) => Math.max(0, v) / dof);
    const totalVariance = total / dof;
    const explainedVarianceRatio = Float64Array.from(explainedVariance, (v) => (totalVariance > 0 ? v / totalVariance : 0));
    // The output space names this very fit: two PCAs of different data are different spaces.
    const fitHash = sha256(new Uint8Array(r.comps.buffer, r.comps.byteOffset, r.comps.byteLength)).slice(0, 16);
    const outputSpace = reducedSpace(vs.space, PCA_KIND, VERSION, k, { whiten: this.options.whiten, solver, fit: fitHash });
    this.state = { inputSpace: vs.space, outputSpace, mean, components: r.comps, explainedVariance, explainedVarianceRatio, totalVariance, nSamples: n, solver };
    if (!project) return undefined;
    const y = r.y ?? this.projectJs(x, n);
    if (this.options.whiten) this.whitenInPlace(y);
    return y;
  }

  /** Halko, Martinsson & Tropp (2011), algorithm 4.4 run on the d×d side: subspace iteration on XcᵀXc. */
  private async randomized(c: Products, d: number, l: number, opts: ReduceRunOptions): Promise<{ comps: Float64Array; values: Float64Array }> {
    const k = this.options.components;
    const q = this.options.powerIterations;
    const rng = createRng(`pca:${this.options.seed}`);
    // Randomized subspace iteration on the covariance; the Ritz vectors rotate Z onto the principal directions.
    const { y: z, ...e } = await subspaceIteration((b, cols) => c.covTimes(b, cols), d, l, {
      normal: () => rng.normal(),
      iterations: q,
      beforeProduct: () => throwIfCancelled(opts.signal, "PCA"),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    const comps = new Float64Array(k * d);
    for (let j = 0; j < k; j++) {
      for (let r = 0; r < d; r++) {
        let s = 0;
        for (let a = 0; a < l; a++) s += z[r * l + a]! * e.vectors[a * l + j]!;
        comps[j * d + r] = s;
      }
    }
    return { comps, values: e.values.slice(0, k) };
  }

  private projectJs(x: Float32Array, n: number): Float32Array {
    const { mean, components } = this.state!;
    const d = mean.length;
    const k = this.options.components;
    const y = new Float32Array(n * k);
    const row = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
      for (let c = 0; c < k; c++) {
        let s = 0;
        const off = c * d;
        for (let j = 0; j < d; j++) s += row[j]! * components[off + j]!;
        y[i * k + c] = s;
      }
    }
    return y;
  }

  private whitenInPlace(y: Float32Array): void {
    const ev = this.state!.explainedVariance;
    const k = ev.length;
    const inv = Float64Array.from(ev, (v) => (v > 0 ? 1 / Math.sqrt(v) : 0));
    for (let i = 0; i < y.length; i++) y[i] = y[i]! * inv[i % k]!;
  }

  private output(vs: VectorSet, data: Float32Array): VectorSet {
    return { space: this.state!.outputSpace, ids: vs.ids.slice(), data, ...(vs.meta ? { meta: vs.meta } : {}) };
  }

  /** Projects vectors of the fitted input space onto the components. */
  async transform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const s = this.fitted("transform");
    assertSameSpace(s.inputSpace, vs.space, "PCA transform");
    const d = s.inputSpace.dim;
    const n = vs.ids.length;
    if (vs.data.length !== n * d) fail("E_DIM_MISMATCH", `PCA transform: expected ${n} × ${d} = ${n * d} values, found ${vs.data.length}`);
    assertFinite(vs.data, d, vs.ids, "PCA transform");
    throwIfCancelled(opts.signal, "PCA");
    const k = this.options.components;
    const threads = this.options.threads;
    const y =
      n * d * k <= SMALL_WORK
        ? this.projectJs(vs.data, n)
        : await withCentered(vs.data, n, d, s.mean, k, threads !== undefined ? { threads } : {}, (c) => c.project(s.components, k));
    if (this.options.whiten) this.whitenInPlace(y);
    opts.onProgress?.(n, n);
    return this.output(vs, y);
  }

  /** Maps reduced vectors back to the input space: mean + y·components (undoing whitening). */
  inverseTransform(vs: VectorSet): VectorSet {
    const s = this.fitted("inverseTransform");
    assertSameSpace(s.outputSpace, vs.space, "PCA inverseTransform");
    const k = this.options.components;
    const d = s.inputSpace.dim;
    const n = vs.ids.length;
    assertFinite(vs.data, k, vs.ids, "PCA inverseTransform");
    const scale = Float64Array.from(s.explainedVariance, (v) => (this.options.whiten ? Math.sqrt(v) : 1));
    const out = new Float32Array(n * d);
    const row = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      row.set(s.mean);
      for (let c = 0; c < k; c++) {
        const v = vs.data[i * k + c]! * scale[c]!;
        if (v === 0) continue;
        const off = c * d;
        for (let j = 0; j < d; j++) row[j]! += v * s.components[off + j]!;
      }
      for (let j = 0; j < d; j++) out[i * d + j] = row[j]!;
    }
    return { space: s.inputSpace, ids: vs.ids.slice(), data: out, ...(vs.meta ? { meta: vs.meta } : {}) };
  }

  /** Holds no threads or wasm memory of its own (the shared kernels' are freed by disposeDense); idempotent. */
  async dispose(): Promise<void> {}

  /** The fitted model as a `reducers/pca` artifact: components.npy (k×d float64), mean.npy, and the rest in meta. */
  save(): ModelArtifact {
    const s = this.fitted("save");
    const d = s.inputSpace.dim;
    const k = this.options.components;
    return {
      kind: PCA_KIND,
      format: FORMAT,
      meta: {
        inputSpace: s.inputSpace,
        outputSpace: s.outputSpace,
        options: { components: k, whiten: this.options.whiten, solver: this.options.solver, oversampling: this.options.oversampling, powerIterations: this.options.powerIterations, seed: this.options.seed },
        solver: s.solver,
        nSamples: s.nSamples,
        totalVariance: s.totalVariance,
        explainedVariance: Array.from(s.explainedVariance),
        explainedVarianceRatio: Array.from(s.explainedVarianceRatio),
      },
      files: {
        "components.npy": encodeNpy({ dtype: "float64", shape: [k, d], data: s.components }),
        "mean.npy": encodeNpy({ dtype: "float64", shape: [d], data: s.mean }),
      },
    };
  }

  /** Reads a model written by `save`. */
  static load(artifact: ModelArtifact): Pca {
    if (artifact.kind !== PCA_KIND) fail("E_ARTIFACT_KIND", `expected a '${PCA_KIND}' model artifact, found '${artifact.kind}'`, undefined, { expected: PCA_KIND, found: artifact.kind });
    if (artifact.format !== FORMAT) fail("E_ARTIFACT_FORMAT", `${PCA_KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`, "the artifact was written by another version of @latentflow/reducers");
    const file = (name: string) => artifact.files[name] ?? fail("E_ARTIFACT_FORMAT", `${PCA_KIND} artifact: expected a file '${name}', found ${Object.keys(artifact.files).join(", ") || "no files"}`);
    const m = artifact.meta as {
      inputSpace: Space;
      outputSpace: Space;
      options: PcaOptions & { seed: string | number };
      solver: "exact" | "randomized";
      nSamples: number;
      totalVariance: number;
      explainedVariance: number[];
      explainedVarianceRatio: number[];
    };
    const pca = new Pca(m.options);
    const comps = parseNpy(file("components.npy"));
    const mean = parseNpy(file("mean.npy"));
    const inputSpace = defineSpace(m.inputSpace);
    const k = pca.options.components;
    if (comps.data.length !== k * inputSpace.dim || mean.data.length !== inputSpace.dim) {
      fail("E_ARTIFACT_FORMAT", `${PCA_KIND} artifact: expected components ${k}×${inputSpace.dim} and mean ${inputSpace.dim}, found shapes [${comps.shape}] and [${mean.shape}]`);
    }
    pca.state = {
      inputSpace,
      outputSpace: defineSpace(m.outputSpace),
      mean: Float64Array.from(mean.data as Float64Array),
      components: Float64Array.from(comps.data as Float64Array),
      explainedVariance: Float64Array.from(m.explainedVariance),
      explainedVarianceRatio: Float64Array.from(m.explainedVarianceRatio),
      totalVariance: m.totalVariance,
      nSamples: m.nSamples,
      solver: m.solver,
    };
    return pca;
  }
}
