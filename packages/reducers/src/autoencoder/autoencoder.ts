import {
  fail,
  LatentflowError,
  assertFinite,
  assertSameSpace,
  canonicalJson,
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
import type * as TF from "@tensorflow/tfjs";
import { useTfBackend } from "@latentflow/tfjs-runtime";
import { VERSION } from "../version.js";
import { REDUCER_LIMITS, checkAtMost } from "../limits.js";

export type AutoencoderScaling = "standard" | "minmax" | "none";
export type AutoencoderOutput = "sigmoid" | "linear";
/** `wasm`: tfjs-backend-wasm, single-threaded (bit-reproducible). `tensorflow`: @tensorflow/tfjs-node, which must be installed. `auto`: tfjs-node when installed, wasm otherwise. */
export type AutoencoderBackend = "auto" | "wasm" | "tensorflow";

/** Options of {@link Autoencoder}. */
export interface AutoencoderOptions {
  /** Latent (code) dimensions. Default 2. */
  dimensions?: number;
  /** Hidden widths of the encoder, outermost first; the decoder mirrors them. Default [256, 64]. */
  layers?: number[];
  /** Input scaling learnt at fit and stored in the model: per-feature z-score, per-feature [0, 1], or none. Default `minmax`. */
  scaling?: AutoencoderScaling;
  /** Activation of the reconstruction layer. Default `sigmoid` with minmax scaling, `linear` otherwise. */
  output?: AutoencoderOutput;
  /** Passes over the data. Default 20. */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Adam learning rate. Default 0.001. */
  learningRate?: number;
  /** Seed of the weight initialisers and of the shuffling. Default 0. */
  seed?: string | number;
  /** Default `auto`. Bit-for-bit reproducibility is promised on `wasm` only. */
  backend?: AutoencoderBackend;
}

export const AUTOENCODER_KIND = "reducers/autoencoder";
const FORMAT = "1";
const PREDICT_BATCH = 1024;

type Tf = typeof TF;


/** Makes `backend` the active tfjs backend; returns tfjs. */
async function useBackend(backend: AutoencoderBackend): Promise<Tf> {
  return (await useTfBackend(backend, "autoencoder")).tf;
}

/** One dense layer of the stored spec. */
interface LayerSpec {
  units: number;
  activation: "relu" | "linear" | "sigmoid";
}

/** A fitted autoencoder's numbers: what `save` writes and `load` reads. */
interface AeState {
  inputSpace: Space;
  outputSpace: Space;
  offset: Float64Array;
  scale: Float64Array;
  /** Kernel and bias of each encoder layer, then each decoder layer (model.getWeights() order). */
  weights: Float32Array[];
  shapes: number[][];
  history: number[];
  nSamples: number;
}

interface Nets {
  encoder: TF.Sequential;
  decoder: TF.Sequential;
}

/**
 * A dense autoencoder on TensorFlow.js: the encoder (ReLU hidden layers, linear code layer of
 * `dimensions` units) and its mirror decoder are trained with Adam on the mean squared reconstruction
 * error of the scaled inputs. `transform` encodes, `inverseTransform` decodes back to the input space.
 */
export class Autoencoder implements Reducer {
  readonly options: Required<AutoencoderOptions>;
  private state: AeState | undefined;
  private nets: Nets | undefined;

  constructor(options: AutoencoderOptions = {}) {
    const dimensions = options.dimensions ?? 2;
    const layers = options.layers ?? [256, 64];
    const epochs = options.epochs ?? 20;
    const batchSize = options.batchSize ?? 64;
    const learningRate = options.learningRate ?? 0.001;
    const scaling = options.scaling ?? "minmax";
    const posInt = (v: number) => Number.isInteger(v) && v >= 1;
    if (!posInt(dimensions)) fail("E_PARAM", `autoencoder: expected dimensions a positive integer, found ${dimensions}`);
    if (!Array.isArray(layers) || !layers.every(posInt)) fail("E_PARAM", `autoencoder: expected layers a list of positive integers, found ${JSON.stringify(layers)}`);
    if (!Number.isInteger(epochs) || epochs < 0) fail("E_PARAM", `autoencoder: expected epochs a non-negative integer, found ${epochs}`);
    if (!posInt(batchSize)) fail("E_PARAM", `autoencoder: expected batchSize a positive integer, found ${batchSize}`);
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) fail("E_PARAM", `autoencoder: expected learningRate > 0, found ${learningRate}`);
    if (!["standard", "minmax", "none"].includes(scaling)) fail("E_PARAM", `autoencoder: expected scaling standard | minmax | none, found ${scaling}`);
    const output = options.output ?? (scaling === "minmax" ? "sigmoid" : "linear");
    if (output !== "sigmoid" && output !== "linear") fail("E_PARAM", `autoencoder: expected output sigmoid | linear, found ${output}`);
    const backend = options.backend ?? "auto";
    if (!["auto", "wasm", "tensorflow"].includes(backend)) fail("E_PARAM", `autoencoder: expected backend auto | wasm | tensorflow, found ${backend}`);
    const L = REDUCER_LIMITS;
    checkAtMost("autoencoder", "dimensions", dimensions, L.codeDimensions);
    checkAtMost("autoencoder", "the number of layers", layers.length, L.hiddenLayers);
    for (const w of layers) checkAtMost("autoencoder", "a layer width", w, L.layerWidth);
    checkAtMost("autoencoder", "epochs", epochs, L.iterations);
    checkAtMost("autoencoder", "batchSize", batchSize, L.batchSize);
    this.options = { dimensions, layers: layers.slice(), scaling, output, epochs, batchSize, learningRate, seed: options.seed ?? 0, backend };
  }

  get inputSpace(): Space | undefined {
    return this.state?.inputSpace;
  }
  get outputSpace(): Space | undefined {
    return this.state?.outputSpace;
  }
  /** Mean squared reconstruction error (of the scaled inputs) over each training epoch. */
  get history(): number[] {
    return this.fitted("history").history.slice();
  }

  private fitted(what: string): AeState {
    if (!this.state) fail("E_NOT_FITTED", `autoencoder: ${what} needs a fitted model`, "call fit(vectors) first, or Autoencoder.load(artifact)");
    return this.state;
  }

  private specs(d: number): { encoder: LayerSpec[]; decoder: LayerSpec[] } {
    const hidden = this.options.layers;
    const encoder: LayerSpec[] = [...hidden.map((units) => ({ units, activation: "relu" as const })), { units: this.options.dimensions, activation: "linear" }];
    const decoder: LayerSpec[] = [...hidden.slice().reverse().map((units) => ({ units, activation: "relu" as const })), { units: d, activation: this.options.output }];
    return { encoder, decoder };
  }

  private build(tf: Tf, d: number, seeds?: number[]): Nets {
    const { encoder: es, decoder: ds } = this.specs(d);
    let s = 0;
    const stack = (specs: LayerSpec[], inDim: number): TF.Sequential =>
      tf.sequential({
        layers: specs.map((l, i) =>
          tf.layers.dense({
            units: l.units,
            activation: l.activation,
            ...(i === 0 ? { inputShape: [inDim] } : {}),
            kernelInitializer: seeds ? tf.initializers.glorotUniform({ seed: seeds[s++]! }) : "zeros",
            biasInitializer: "zeros",
          }),
        ),
      });
    return { encoder: stack(es, d), decoder: stack(ds, this.options.dimensions) };
  }

  /** The tfjs models of the fitted state, built on first use after load. */
  private async ensureNets(): Promise<{ tf: Tf; nets: Nets }> {
    const s = this.state!;
    const tf = await useBackend(this.options.backend);
    if (!this.nets) {
      const nets = this.build(tf, s.inputSpace.dim);
      const ts = s.weights.map((w, i) => tf.tensor(w, s.shapes[i]!, "float32"));
      const ne = nets.encoder.getWeights().length;
      nets.encoder.setWeights(ts.slice(0, ne));
      nets.decoder.setWeights(ts.slice(ne));
      tf.dispose(ts);
      this.nets = nets;
    }
    return { tf, nets: this.nets };
  }

  private scaled(x: Float32Array, n: number, d: number, offset: Float64Array, scale: Float64Array): Float32Array {
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j]! - offset[j]!) * scale[j]!;
    return out;
  }

  private scalingOf(x: Float32Array, n: number, d: number): { offset: Float64Array; scale: Float64Array } {
    const offset = new Float64Array(d);
    const scale = new Float64Array(d).fill(1);
    const mode = this.options.scaling;
    if (mode === "standard") {
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) offset[j]! += x[i * d + j]!;
      for (let j = 0; j < d; j++) offset[j]! /= n;
      const v = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) v[j]! += (x[i * d + j]! - offset[j]!) ** 2;
      for (let j = 0; j < d; j++) {
        const sd = Math.sqrt(v[j]! / n);
        scale[j] = sd > 1e-8 ? 1 / sd : 1;
      }
    } else if (mode === "minmax") {
      const hi = new Float64Array(d).fill(-Infinity);
      offset.fill(Infinity);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) {
          const v = x[i * d + j]!;
          if (v < offset[j]!) offset[j] = v;
          if (v > hi[j]!) hi[j] = v;
        }
      }
      for (let j = 0; j < d; j++) {
        const r = hi[j]! - offset[j]!;
        scale[j] = r > 1e-12 ? 1 / r : 1;
      }
    }
    return { offset, scale };
  }

  async fit(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<this> {
    const d = vs.space.dim;
    const n = vs.ids.length;
    if (vs.data.length !== n * d) fail("E_DIM_MISMATCH", `autoencoder fit: expected ${n} × ${d} = ${n * d} values, found ${vs.data.length}`);
    if (n < 2) fail("E_TOO_FEW_POINTS", `autoencoder fit: expected at least 2 points, found ${n}`, "an autoencoder needs several points to learn from");
    assertFinite(vs.data, d, vs.ids, "autoencoder fit");
    // Known only now: the input dimension sets the size of the first and last layers.
    const widths = [d, ...this.options.layers, this.options.dimensions];
    let weightCount = 0;
    for (let i = 1; i < widths.length; i++) weightCount += 2 * (widths[i - 1]! + 1) * widths[i]!; // encoder and mirrored decoder
    checkAtMost("autoencoder fit", `the number of weights for ${d}-d input and layers [${this.options.layers.join(", ")}]`, weightCount, REDUCER_LIMITS.weights, "narrow the layers (or reduce the input with reducers/pca first)");
    throwIfCancelled(opts.signal, "autoencoder");
    const { epochs, batchSize, learningRate, seed } = this.options;
    const tf = await useBackend(this.options.backend);
    const { offset, scale } = this.scalingOf(vs.data, n, d);
    const rng = createRng(`autoencoder:${seed}`);
    const init = rng.fork("init");
    const nLayers = this.options.layers.length * 2 + 2;
    const seeds = Array.from({ length: nLayers }, () => init.int(2 ** 31 - 1));
    const shuffle = rng.fork("shuffle");
    this.freeNets();
    const nets = this.build(tf, d, seeds);
    const optimizer = tf.train.adam(learningRate);
    const xAll = tf.tensor2d(this.scaled(vs.data, n, d, offset, scale), [n, d]);
    const history: number[] = [];
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    const batches = Math.ceil(n / batchSize);
    try {
      for (let e = 0; e < epochs; e++) {
        for (let i = n - 1; i > 0; i--) {
          const j = shuffle.int(i + 1);
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
        }
        let sum = 0;
        for (let b = 0; b < batches; b++) {
          throwIfCancelled(opts.signal, "autoencoder");
          const idx = perm.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
          const loss = tf.tidy(() => {
            const xb = tf.gather(xAll, tf.tensor1d(idx, "int32"));
            return optimizer.minimize(() => {
              const code = nets.encoder.apply(xb, { training: true }) as TF.Tensor;
              const rec = nets.decoder.apply(code, { training: true }) as TF.Tensor;
              return tf.losses.meanSquaredError(xb, rec) as TF.Scalar;
            }, true)!;
          });
          sum += loss.dataSync()[0]! * idx.length;
          loss.dispose();
          // Let an abort (or other work) get in between batches.
          if (opts.signal) await new Promise<void>((r) => setImmediate(r));
        }
        history.push(sum / n);
        opts.onProgress?.(e + 1, epochs, `epoch ${e + 1}/${epochs}: loss ${(sum / n).toPrecision(4)}`);
      }
    } catch (err) {
      nets.encoder.dispose();
      nets.decoder.dispose();
      throw err;
    } finally {
      xAll.dispose();
      optimizer.dispose();
    }
    const all = [...nets.encoder.getWeights(), ...nets.decoder.getWeights()];
    const weights = all.map((w) => Float32Array.from(w.dataSync() as Float32Array));
    const shapes = all.map((w) => w.shape.slice());
    const h = sha256(concatBytes(weights)).slice(0, 16);
    const o = this.options;
    const outputSpace = reducedSpace(vs.space, AUTOENCODER_KIND, VERSION, o.dimensions, {
      layers: o.layers,
      scaling: o.scaling,
      output: o.output,
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      seed: o.seed,
      fit: h,
    });
    this.nets = nets;
    this.state = { inputSpace: vs.space, outputSpace, offset, scale, weights, shapes, history, nSamples: n };
    return this;
  }

  async fitTransform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    await this.fit(vs, opts);
    return this.transform(vs, { ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  private async run(net: "encoder" | "decoder", x: Float32Array, n: number, inDim: number, outDim: number, signal?: AbortSignal): Promise<Float32Array> {
    const { tf, nets } = await this.ensureNets();
    const out = new Float32Array(n * outDim);
    for (let start = 0; start < n; start += PREDICT_BATCH) {
      throwIfCancelled(signal, "autoencoder");
      const m = Math.min(PREDICT_BATCH, n - start);
      const y = tf.tidy(() => (nets[net].predict(tf.tensor2d(x.subarray(start * inDim, (start + m) * inDim), [m, inDim])) as TF.Tensor).dataSync());
      out.set(y, start * outDim);
    }
    return out;
  }

  /** Encodes vectors of the fitted input space: their codes in the output space. */
  async transform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const s = this.fitted("transform");
    assertSameSpace(s.inputSpace, vs.space, "autoencoder transform");
    const d = s.inputSpace.dim;
    const n = vs.ids.length;
    if (vs.data.length !== n * d) fail("E_DIM_MISMATCH", `autoencoder transform: expected ${n} × ${d} = ${n * d} values, found ${vs.data.length}`);
    assertFinite(vs.data, d, vs.ids, "autoencoder transform");
    throwIfCancelled(opts.signal, "autoencoder");
    const k = this.options.dimensions;
    const y = await this.run("encoder", this.scaled(vs.data, n, d, s.offset, s.scale), n, d, k, opts.signal);
    opts.onProgress?.(n, n);
    return { space: s.outputSpace, ids: vs.ids.slice(), data: y, ...(vs.meta ? { meta: vs.meta } : {}) };
  }

  /** Decodes codes (vectors of the output space) back to the input space, scaling undone. */
  async inverseTransform(vs: VectorSet, opts: ReduceRunOptions = {}): Promise<VectorSet> {
    const s = this.fitted("inverseTransform");
    assertSameSpace(s.outputSpace, vs.space, "autoencoder inverseTransform");
    const k = this.options.dimensions;
    const d = s.inputSpace.dim;
    const n = vs.ids.length;
    if (vs.data.length !== n * k) fail("E_DIM_MISMATCH", `autoencoder inverseTransform: expected ${n} × ${k} = ${n * k} values, found ${vs.data.length}`);
    assertFinite(vs.data, k, vs.ids, "autoencoder inverseTransform");
    const r = await this.run("decoder", vs.data, n, k, d, opts.signal);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) r[i * d + j] = r[i * d + j]! / s.scale[j]! + s.offset[j]!;
    opts.onProgress?.(n, n);
    return { space: s.inputSpace, ids: vs.ids.slice(), data: r, ...(vs.meta ? { meta: vs.meta } : {}) };
  }

  /** Frees the tfjs models (the fitted weights stay: transform rebuilds them on demand); idempotent. */
  async dispose(): Promise<void> {
    this.freeNets();
  }

  private freeNets(): void {
    if (this.nets) {
      this.nets.encoder.dispose();
      this.nets.decoder.dispose();
      this.nets = undefined;
    }
  }

  /**
   * The fitted model as a `reducers/autoencoder` artifact: model.json (layer spec and weight manifest),
   * weights.bin (float32 little-endian, in model.getWeights() order: encoder then decoder), and
   * scaling.npy (2×d float64: offset, then scale; scaled = (x − offset) · scale).
   */
  save(): ModelArtifact {
    const s = this.fitted("save");
    const d = s.inputSpace.dim;
    const o = this.options;
    const { encoder, decoder } = this.specs(d);
    let offset = 0;
    const manifest = s.weights.map((w, i) => {
      const layer = Math.floor(i / 2);
      const part = layer < encoder.length ? `encoder/${layer}` : `decoder/${layer - encoder.length}`;
      const entry = { name: `${part}/${i % 2 === 0 ? "kernel" : "bias"}`, shape: s.shapes[i]!, offset };
      offset += w.length * 4;
      return entry;
    });
    const spec = { inputDim: d, encoder, decoder, dtype: "float32", byteOrder: "little-endian", weights: manifest };
    const scaling = new Float64Array(2 * d);
    scaling.set(s.offset, 0);
    scaling.set(s.scale, d);
    return {
      kind: AUTOENCODER_KIND,
      format: FORMAT,
      meta: {
        inputSpace: s.inputSpace,
        outputSpace: s.outputSpace,
        options: { dimensions: o.dimensions, layers: o.layers, scaling: o.scaling, output: o.output, epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, seed: o.seed },
        history: s.history,
        nSamples: s.nSamples,
      },
      files: {
        "model.json": new TextEncoder().encode(canonicalJson(spec)),
        "weights.bin": concatBytes(s.weights),
        "scaling.npy": encodeNpy({ dtype: "float64", shape: [2, d], data: scaling }),
      },
    };
  }

  /** Reads a model written by `save` (the tfjs models are built on first use). */
  static load(artifact: ModelArtifact, options: Pick<AutoencoderOptions, "backend"> = {}): Autoencoder {
    if (artifact.kind !== AUTOENCODER_KIND) fail("E_ARTIFACT_KIND", `expected a '${AUTOENCODER_KIND}' model artifact, found '${artifact.kind}'`, undefined, { expected: AUTOENCODER_KIND, found: artifact.kind });
    if (artifact.format !== FORMAT) fail("E_ARTIFACT_FORMAT", `${AUTOENCODER_KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`, "the artifact was written by another version of @latentflow/reducers");
    const file = (name: string) => artifact.files[name] ?? fail("E_ARTIFACT_FORMAT", `${AUTOENCODER_KIND} artifact: expected a file '${name}', found ${Object.keys(artifact.files).join(", ") || "no files"}`);
    const m = artifact.meta as { inputSpace: Space; outputSpace: Space; options: AutoencoderOptions; history: number[]; nSamples: number };
    const ae = new Autoencoder({ ...m.options, ...options });
    const inputSpace = defineSpace(m.inputSpace);
    const d = inputSpace.dim;
    const spec = JSON.parse(new TextDecoder().decode(file("model.json"))) as { inputDim: number; weights: { name: string; shape: number[]; offset: number }[] };
    const bytes = file("weights.bin");
    const expected = ae.specs(d);
    const nW = (expected.encoder.length + expected.decoder.length) * 2;
    if (spec.inputDim !== d || !Array.isArray(spec.weights) || spec.weights.length !== nW) {
      fail("E_ARTIFACT_FORMAT", `${AUTOENCODER_KIND} artifact: model.json does not match the options (expected ${nW} weight tensors for input dimension ${d})`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const weights = spec.weights.map((w) => {
      const len = w.shape.reduce((a, b) => a * b, 1);
      if (w.offset + len * 4 > bytes.byteLength) fail("E_ARTIFACT_FORMAT", `${AUTOENCODER_KIND} artifact: weights.bin is too short for ${w.name}`);
      const a = new Float32Array(len);
      for (let i = 0; i < len; i++) a[i] = dv.getFloat32(w.offset + i * 4, true);
      return a;
    });
    const sc = parseNpy(file("scaling.npy"));
    if (sc.data.length !== 2 * d) fail("E_ARTIFACT_FORMAT", `${AUTOENCODER_KIND} artifact: expected scaling 2×${d}, found shape [${sc.shape}]`);
    const scData = Float64Array.from(sc.data as Float64Array);
    ae.state = {
      inputSpace,
      outputSpace: defineSpace(m.outputSpace),
      offset: scData.slice(0, d),
      scale: scData.slice(d),
      weights,
      shapes: spec.weights.map((w) => w.shape.slice()),
      history: (m.history ?? []).slice(),
      nSamples: m.nSamples,
    };
    return ae;
  }
}

/** Float32 arrays as one little-endian byte string. */
function concatBytes(arrays: Float32Array[]): Uint8Array {
  const total = arrays.reduce((s, a) => s + a.length, 0);
  const out = new Uint8Array(total * 4);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++, o += 4) dv.setFloat32(o, a[i]!, true);
  }
  return out;
}
