import { LatentflowError, assertFinite, assertSameSpace, createRng, defineSpace, throwIfCancelled, type ModelArtifact, type ReduceRunOptions, type Reducer, type Space, type VectorSet } from "@latentflow/core";
import { VERSION } from "../version.js";

export const METRIC_HEAD_KIND = "encoders-image/metric-head";
const FORMAT = "metric-head-v1";

export interface MetricHeadOptions {
  /** Output dimensions. Default 64. */
  dimensions?: number;
  /** The meta field holding each point's label. Default `label`. */
  labelField?: string;
  /** Triplet margin on squared distances between unit vectors (0–4). Default 0.2. */
  margin?: number;
  /** Optimiser steps. Default 1000. */
  steps?: number;
  /** Triplets per step. Default 64. */
  batchSize?: number;
  /** Adam learning rate. Default 0.003. */
  learningRate?: number;
  /** Negatives drawn per anchor; the hardest is used (semi-hard mining). Default 8. */
  negatives?: number;
  seed?: string | number;
}

type Options = Required<MetricHeadOptions>;

interface State {
  inputSpace: Space;
  outputSpace: Space;
  /** Per input dimension: mean and 1 / std of the fit data (standardisation before the projection). */
  mean: Float32Array;
  invStd: Float32Array;
  /** dimensions × input dim, row-major. */
  w: Float32Array;
  loss: number;
}

function labelsOf(vs: VectorSet, field: string): string[] {
  const n = vs.ids.length;
  return Array.from({ length: n }, (_, i) => {
    const v = vs.meta?.[i]?.[field];
    if (v === undefined || v === null || (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")) {
      throw new LatentflowError("E_LABELS", `metric head: expected a label in meta.${field} of every point, found ${v === undefined ? "none" : JSON.stringify(v)} at point ${i} (id '${vs.ids[i]}')`, {
        hint: "the head learns from labels: read them with the data (meta.label), or set labelField",
        data: { index: i, field },
      });
    }
    return String(v);
  });
}

/**
 * A trainable metric head on frozen features (the Siamese/triplet idea): x ↦ normalize(W · (x − μ)/σ),
 * trained with a triplet loss so that points of one label end up near each other and others at least
 * `margin` further. A reducer in core's sense: fit on labelled vectors, transform new ones, save/load;
 * deterministic for a seed (plain float64 arithmetic on one thread). The output space is cosine, unit norm.
 */
export class MetricHead implements Reducer {
  private readonly options: Options;
  private state: State | undefined;

  constructor(options: MetricHeadOptions = {}) {
    this.options = {
      dimensions: options.dimensions ?? 64,
      labelField: options.labelField ?? "label",
      margin: options.margin ?? 0.2,
      steps: options.steps ?? 1000,
      batchSize: options.batchSize ?? 64,
      learningRate: options.learningRate ?? 0.003,
      negatives: options.negatives ?? 8,
      seed: options.seed ?? 0,
    };
    const o = this.options;
    if (!Number.isInteger(o.dimensions) || o.dimensions < 1) throw new LatentflowError("E_PARAM", `metric head: expected dimensions a positive integer, found ${o.dimensions}`);
    if (!(o.margin > 0 && o.margin <= 4)) throw new LatentflowError("E_PARAM", `metric head: expected margin in (0, 4], found ${o.margin}`);
  }

  get inputSpace(): Space | undefined {
    return this.state?.inputSpace;
  }

  get outputSpace(): Space | undefined {
    return this.state?.outputSpace;
  }

  /** Mean triplet loss of the last 10 % of steps. */
  get finalLoss(): number | undefined {
    return this.state?.loss;
  }

  async fit(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<this> {
    const o = this.options;
    throwIfCancelled(opts.signal, "metric head fit");
    const d = vs.space.dim;
    const n = vs.ids.length;
    if (n < 2) throw new LatentflowError("E_TOO_FEW_POINTS", `metric head: expected at least 2 labelled points, found ${n}`);
    assertFinite(vs.data, d, vs.ids, "metric head fit");
    const labels = labelsOf(vs, o.labelField);
    const byLabel = new Map<string, number[]>();
    labels.forEach((l, i) => {
      const list = byLabel.get(l) ?? [];
      list.push(i);
      byLabel.set(l, list);
    });
    const usable = [...byLabel.values()].filter((l) => l.length >= 2);
    if (byLabel.size < 2 || usable.length === 0) {
      throw new LatentflowError("E_LABELS", `metric head: expected at least 2 labels and one with 2 or more points, found ${byLabel.size} label(s)`, { hint: "a triplet needs a positive of the anchor's label and a negative of another" });
    }
    const anchors = usable.flat();

    // Standardise each input dimension (features differ in scale by orders of magnitude).
    const mean = new Float64Array(d);
    const sq = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += vs.data[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j] /= n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sq[j] += (vs.data[i * d + j]! - mean[j]!) ** 2;
    // A floor of 1 % of the average variance: near-constant inputs (a border pixel) are not blown up into noise.
    const floor = 0.01 * (sq.reduce((a, b) => a + b, 0) / (n * d)) + 1e-12;
    const invStd = Float64Array.from(sq, (s) => 1 / Math.sqrt(s / n + floor));
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = (vs.data[i * d + j]! - mean[j]!) * invStd[j]!;

    const k = o.dimensions;
    const rng = createRng(`metric-head:${o.seed}`);
    const w = new Float64Array(k * d);
    const scale = 1 / Math.sqrt(d);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * scale;
    const m1 = new Float64Array(w.length);
    const m2 = new Float64Array(w.length);
    const grad = new Float64Array(w.length);
    const z = [new Float64Array(k), new Float64Array(k), new Float64Array(k)];
    const f = [new Float64Array(k), new Float64Array(k), new Float64Array(k)];
    const norms = [0, 0, 0];
    const gf = [new Float64Array(k), new Float64Array(k), new Float64Array(k)];
    const embed = (row: number, out: Float64Array, unit: Float64Array): number => {
      let s = 0;
      for (let r = 0; r < k; r++) {
        let v = 0;
        const wr = r * d;
        const xr = row * d;
        for (let j = 0; j < d; j++) v += w[wr + j]! * x[xr + j]!;
        out[r] = v;
        s += v * v;
      }
      const len = Math.sqrt(Math.max(s, 1e-24));
      for (let r = 0; r < k; r++) unit[r] = out[r]! / len;
      return len;
    };
    const sqDist = (a: Float64Array, b: Float64Array) => {
      let s = 0;
      for (let r = 0; r < k; r++) s += (a[r]! - b[r]!) ** 2;
      return s;
    };
    const tmp = new Float64Array(k);
    const tmpUnit = new Float64Array(k);
    const tail = Math.max(1, Math.floor(o.steps / 10));
    let tailLoss = 0;
    const b1 = 0.9;
    const b2 = 0.999;
    for (let step = 1; step <= o.steps; step++) {
      if (step % 20 === 0) {
        throwIfCancelled(opts.signal, "metric head fit");
        opts.onProgress?.(step, o.steps, "steps");
      }
      grad.fill(0);
      let loss = 0;
      for (let t = 0; t < o.batchSize; t++) {
        const a = anchors[rng.int(anchors.length)]!;
        const same = byLabel.get(labels[a]!)!;
        let p = same[rng.int(same.length)]!;
        if (p === a) p = same[(same.indexOf(a) + 1) % same.length]!;
        norms[0] = embed(a, z[0]!, f[0]!);
        norms[1] = embed(p, z[1]!, f[1]!);
        const dap = sqDist(f[0]!, f[1]!);
        // Semi-hard mining: the closest of a few random negatives.
        let neg = -1;
        let dan = Infinity;
        for (let q = 0; q < o.negatives; q++) {
          const c = rng.int(n);
          if (labels[c] === labels[a]) continue;
          embed(c, tmp, tmpUnit);
          const dist = sqDist(f[0]!, tmpUnit);
          if (dist < dan) {
            dan = dist;
            neg = c;
          }
        }
        if (neg < 0) continue;
        const l = o.margin + dap - dan;
        if (l <= 0) continue;
        loss += l;
        norms[2] = embed(neg, z[2]!, f[2]!);
        // dL/df: a: 2(fa − fp) − 2(fa − fn) = 2(fn − fp); p: −2(fa − fp); n: 2(fa − fn).
        for (let r = 0; r < k; r++) {
          gf[0]![r] = 2 * (f[2]![r]! - f[1]![r]!);
          gf[1]![r] = -2 * (f[0]![r]! - f[1]![r]!);
          gf[2]![r] = 2 * (f[0]![r]! - f[2]![r]!);
        }
        const rows = [a, p, neg];
        for (let s = 0; s < 3; s++) {
          // Through f = z / |z|: dL/dz = (g − f (f·g)) / |z|.
          const fs = f[s]!;
          const g = gf[s]!;
          let dot = 0;
          for (let r = 0; r < k; r++) dot += fs[r]! * g[r]!;
          const xr = rows[s]! * d;
          for (let r = 0; r < k; r++) {
            const gz = (g[r]! - fs[r]! * dot) / norms[s]!;
            if (gz === 0) continue;
            const wr = r * d;
            for (let j = 0; j < d; j++) grad[wr + j] += gz * x[xr + j]!;
          }
        }
      }
      loss /= o.batchSize;
      if (step > o.steps - tail) tailLoss += loss / tail;
      // Adam.
      const c1 = 1 - b1 ** step;
      const c2 = 1 - b2 ** step;
      for (let i = 0; i < w.length; i++) {
        const g = grad[i]! / o.batchSize;
        m1[i] = b1 * m1[i]! + (1 - b1) * g;
        m2[i] = b2 * m2[i]! + (1 - b2) * g * g;
        w[i] -= (o.learningRate * (m1[i]! / c1)) / (Math.sqrt(m2[i]! / c2) + 1e-8);
      }
    }
    opts.onProgress?.(o.steps, o.steps, "steps");
    this.state = {
      inputSpace: vs.space,
      outputSpace: this.space(vs.space),
      mean: Float32Array.from(mean),
      invStd: Float32Array.from(invStd),
      w: Float32Array.from(w),
      loss: tailLoss,
    };
    return this;
  }

  private space(input: Space): Space {
    const { seed, ...params } = this.options;
    return defineSpace({
      id: `${input.id}/metric-head-${this.options.dimensions}d`,
      dim: this.options.dimensions,
      metric: "cosine",
      normalized: true,
      modality: input.modality,
      producer: { name: "@latentflow/encoders-image/metric-head", version: VERSION, params: { ...params, seed, input: input.id } },
    });
  }

  async transform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const s = this.fitted("transform");
    throwIfCancelled(opts.signal, "metric head transform");
    assertSameSpace(s.inputSpace, vs.space, "metric head transform");
    const d = s.inputSpace.dim;
    const k = this.options.dimensions;
    assertFinite(vs.data, d, vs.ids, "metric head transform");
    const n = vs.ids.length;
    const out = new Float32Array(n * k);
    const x = new Float64Array(d);
    const z = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      if (i % 1000 === 999) throwIfCancelled(opts.signal, "metric head transform");
      for (let j = 0; j < d; j++) x[j] = (vs.data[i * d + j]! - s.mean[j]!) * s.invStd[j]!;
      let sum = 0;
      for (let r = 0; r < k; r++) {
        let v = 0;
        for (let j = 0; j < d; j++) v += s.w[r * d + j]! * x[j]!;
        z[r] = v;
        sum += v * v;
      }
      const inv = 1 / Math.sqrt(Math.max(sum, 1e-24));
      for (let r = 0; r < k; r++) out[i * k + r] = z[r]! * inv;
    }
    opts.onProgress?.(n, n, "points");
    return { space: s.outputSpace, ids: vs.ids, data: out, ...(vs.meta ? { meta: vs.meta } : {}) };
  }

  async fitTransform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    await this.fit(vs, opts);
    return this.transform(vs, opts);
  }

  save(): ModelArtifact {
    const s = this.fitted("save");
    const bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
    return {
      kind: METRIC_HEAD_KIND,
      format: FORMAT,
      meta: { inputSpace: s.inputSpace, outputSpace: s.outputSpace, options: this.options, loss: s.loss },
      files: { "weights.f32": bytes(s.w), "mean.f32": bytes(s.mean), "inv-std.f32": bytes(s.invStd) },
    };
  }

  static load(artifact: ModelArtifact): MetricHead {
    if (artifact.kind !== METRIC_HEAD_KIND) throw new LatentflowError("E_ARTIFACT_KIND", `expected a '${METRIC_HEAD_KIND}' model artifact, found '${artifact.kind}'`, { data: { expected: METRIC_HEAD_KIND, found: artifact.kind } });
    if (artifact.format !== FORMAT) throw new LatentflowError("E_ARTIFACT_FORMAT", `${METRIC_HEAD_KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`);
    const m = artifact.meta as { inputSpace: Space; outputSpace: Space; options: Options; loss: number };
    const d = m.inputSpace.dim;
    const floats = (name: string, count: number) => {
      const b = artifact.files[name];
      if (!b || b.byteLength !== count * 4) throw new LatentflowError("E_ARTIFACT_FORMAT", `${METRIC_HEAD_KIND} artifact: expected ${name} of ${count * 4} bytes, found ${b ? b.byteLength : "none"}`);
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    const head = new MetricHead(m.options);
    head.state = { inputSpace: m.inputSpace, outputSpace: m.outputSpace, w: floats("weights.f32", m.options.dimensions * d), mean: floats("mean.f32", d), invStd: floats("inv-std.f32", d), loss: m.loss };
    return head;
  }

  async dispose(): Promise<void> {}

  private fitted(what: string): State {
    if (!this.state) throw new LatentflowError("E_NOT_FITTED", `metric head: ${what} before fit`, { hint: "call fit (or load a saved head) first" });
    return this.state;
  }
}
