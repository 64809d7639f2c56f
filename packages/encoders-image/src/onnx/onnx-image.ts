import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
import { LatentflowError, defineSpace, sha256, type EncodeOptions, type Encoder, type Space } from "@latentflow/core";
import type { InferenceSession } from "onnxruntime-node";
import sharp from "sharp";
import { z } from "zod";
import { DEFAULT_BACKGROUND, DEFAULT_LIMIT_INPUT_PIXELS, rgbOf, type ImageInput, type RgbImage } from "../decode/decode.js";
import { encodePrepared } from "../encode-items.js";
import { VERSION } from "../version.js";
import { loadOnnxRuntime } from "@latentflow/onnx-runtime";

const rgbTriple = z.tuple([z.number(), z.number(), z.number()]);

/**
 * How a user's ONNX image model wants its input and how its output becomes one vector. The file
 * `preprocess.json` beside `model.onnx` holds it, or it is passed as options (options win).
 */
export const onnxImageConfigSchema = z.strictObject({
  /** Input side length (square) or [height, width]. */
  size: z.union([z.number().int().min(1).max(4096), z.tuple([z.number().int().min(1).max(4096), z.number().int().min(1).max(4096)])]),
  /** `squash`: the whole image to size (aspect not kept); `crop`: scale the shorter side to fit, then cut the centre (torchvision's Resize + CenterCrop); `pad`: fit inside, pad with the background. */
  resize: z.enum(["squash", "crop", "pad"]).default("crop"),
  /** sharp's resampling kernel. */
  interpolation: z.enum(["nearest", "linear", "cubic", "lanczos3"]).default("linear"),
  /** Pixels are divided by this first (255 → [0, 1]; 1 keeps 0–255). */
  scale: z.number().positive().default(255),
  /** Subtracted per channel after scaling (ImageNet: [0.485, 0.456, 0.406]). */
  mean: rgbTriple.default([0, 0, 0]),
  /** Divided per channel after the mean (ImageNet: [0.229, 0.224, 0.225]). */
  std: rgbTriple.refine((s) => s.every((v) => v > 0), "std values must be positive").default([1, 1, 1]),
  channelOrder: z.enum(["RGB", "BGR"]).default("RGB"),
  layout: z.enum(["NCHW", "NHWC"]).default("NCHW"),
  /** The model input to feed (default: its first). */
  input: z.string().min(1).optional(),
  /** The model output to read (default: its first). */
  output: z.string().min(1).optional(),
  /** How the output becomes one vector: `none` ([n, d] as is), `mean` (over every axis between batch and the last, or H, W of [n, c, h, w]), `cls` (the first token of [n, t, d]). */
  pooling: z.enum(["none", "mean", "cls"]).default("none"),
  /** Divide each vector by its length. */
  normalize: z.boolean().default(false),
  /** The space's id (default: onnx-image/<file>:<first 12 hex of the model's sha256>/<dim>). */
  id: z.string().min(1).max(200).optional(),
  metric: z.enum(["cosine", "l2", "ip"]).default("cosine"),
});

export type OnnxImageConfig = z.input<typeof onnxImageConfigSchema>;
type Config = z.output<typeof onnxImageConfigSchema>;

export interface OnnxImageEncoderOptions {
  /** A folder holding `model.onnx` (and optionally `preprocess.json`), or the path of an `.onnx` file. */
  model: string;
  /** Preprocessing and pooling; merged over `preprocess.json`. */
  config?: Partial<OnnxImageConfig>;
  /** Intra-op threads. Default: every core. */
  threads?: number;
  limitInputPixels?: number;
  background?: readonly [number, number, number];
}

type Ort = typeof import("onnxruntime-node");

async function readConfig(path: string, overrides: Partial<OnnxImageConfig> | undefined): Promise<Config> {
  let fromFile: unknown = {};
  try {
    fromFile = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== "ENOENT") throw new LatentflowError("E_MODEL_CONFIG", `onnx image model: expected ${path} to hold JSON, found an error: ${err.message}`, { data: { where: path } });
    if (!overrides) throw new LatentflowError("E_MODEL_CONFIG", `onnx image model: expected a preprocessing config (${path} or the config option), found neither`, { hint: "give at least { size }, e.g. { size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }", data: { where: path } });
  }
  const parsed = onnxImageConfigSchema.safeParse({ ...(fromFile as object), ...overrides });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LatentflowError("E_MODEL_CONFIG", `onnx image model: preprocessing config: '${issue.path.join(".") || "(root)"}': ${issue.message}`, { data: { where: path, issues: parsed.error.issues.map((i) => i.message) } });
  }
  return parsed.data;
}

/**
 * A user's ONNX image model (a ResNet, a DINO or CLIP image tower, …) as an image encoder: images are
 * decoded with sharp, resized and normalised as the config says, fed as one float32 batch, and a named
 * output is pooled into one vector per image. The space's producer records the model's hash and the whole
 * config, so two recipes never share a space.
 */
export class OnnxImageEncoder implements Encoder<ImageInput> {
  readonly space: Space;
  private inflight: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly ort: Ort,
    private session: InferenceSession | undefined,
    private readonly config: Config,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly opts: { limitInputPixels: number; background: readonly [number, number, number] },
    space: Space,
  ) {
    this.space = space;
  }

  static async load(options: OnnxImageEncoderOptions): Promise<OnnxImageEncoder> {
    const isFile = options.model.endsWith(".onnx");
    const modelPath = isFile ? options.model : join(options.model, "model.onnx");
    const configPath = isFile ? options.model.replace(/\.onnx$/, ".preprocess.json") : join(options.model, "preprocess.json");
    const bytes = await readFile(modelPath).catch((e: NodeJS.ErrnoException) => {
      throw new LatentflowError("E_MODEL_MISSING", `onnx image model: expected an ONNX file at ${modelPath}, found ${e.code === "ENOENT" ? "nothing" : e.message}`, { data: { where: modelPath } });
    });
    const config = await readConfig(configPath, options.config);
    const ort: Ort = await loadOnnxRuntime(`onnx image model ${modelPath}`);
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(new Uint8Array(bytes), { intraOpNumThreads: options.threads ?? availableParallelism(), interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", logSeverityLevel: 3 });
    } catch (e) {
      throw new LatentflowError("E_MODEL_LOAD", `onnx image model: expected onnxruntime-node to load ${modelPath}, found an error: ${(e as Error).message}`, { cause: e, data: { where: modelPath } });
    }
    const pick = (names: readonly string[], want: string | undefined, what: string) => {
      if (want === undefined) return names[0]!;
      if (!names.includes(want)) {
        void session.release();
        throw new LatentflowError("E_MODEL_CONFIG", `onnx image model: expected an ${what} named '${want}' in ${modelPath}, found ${names.join(", ")}`, { data: { expected: want, found: names } });
      }
      return want;
    };
    const inputName = pick(session.inputNames, config.input, "input");
    const outputName = pick(session.outputNames, config.output, "output");
    const hash = sha256(new Uint8Array(bytes)).slice(0, 12);
    const enc = new OnnxImageEncoder(ort, session, config, inputName, outputName, { limitInputPixels: options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS, background: options.background ?? DEFAULT_BACKGROUND }, defineSpace({ id: "pending", dim: 1, metric: "cosine", normalized: false, modality: "image", producer: { name: "", version: "" } }));
    // The output's width comes from one run on a blank image.
    const [h, w] = enc.hw;
    const probe = await enc.run(new Float32Array(h * w * 3), 1).catch(async (e: unknown) => {
      await session.release();
      throw new LatentflowError("E_MODEL_CONFIG", `onnx image model: ${modelPath} did not run on one ${config.layout} image of ${h} × ${w} × 3 (${(e as Error).message})`, { cause: e, hint: "check size, layout, input and output in the config", data: { where: modelPath } });
    });
    const dim = probe.length;
    const file = basename(isFile ? modelPath : options.model);
    (enc as { space: Space }).space = defineSpace({
      id: config.id ?? `onnx-image/${file}:${hash}/${dim}`,
      dim,
      metric: config.metric,
      normalized: config.normalize,
      modality: "image",
      producer: { name: "@latentflow/encoders-image/onnx", version: VERSION, params: { model: `${file}@sha256:${hash}`, ...config, input: inputName, output: outputName, alphaBackground: [...enc.opts.background] } },
    });
    return enc;
  }

  private get hw(): [number, number] {
    const s = this.config.size;
    return typeof s === "number" ? [s, s] : s;
  }

  /** One decoded image → the model's input values for it (layout, channel order, normalisation). */
  async preprocess(img: RgbImage): Promise<Float32Array> {
    const [h, w] = this.hw;
    const c = this.config;
    const [br, bg, bb] = this.opts.background;
    const fit = c.resize === "squash" ? "fill" : c.resize === "crop" ? "cover" : "contain";
    const kernel = c.interpolation === "linear" ? "linear" : c.interpolation === "cubic" ? "cubic" : c.interpolation;
    const resized =
      img.width === w && img.height === h
        ? img.data
        : new Uint8Array(await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(w, h, { fit, position: "centre", kernel, background: { r: br, g: bg, b: bb } }).removeAlpha().raw().toBuffer());
    const out = new Float32Array(h * w * 3);
    const order = c.channelOrder === "RGB" ? [0, 1, 2] : [2, 1, 0];
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) {
        const src = order[k]!;
        const v = (resized[p * 3 + src]! / c.scale - c.mean[src]!) / c.std[src]!;
        out[c.layout === "NHWC" ? p * 3 + k : k * h * w + p] = v;
      }
    }
    return out;
  }

  /** Decode + preprocess of one input. */
  async prepare(input: unknown, where = this.space.id): Promise<Float32Array> {
    return this.preprocess(await rgbOf(input, { limitInputPixels: this.opts.limitInputPixels, background: this.opts.background, where }));
  }

  private async run(values: Float32Array, n: number): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new LatentflowError("E_DISPOSED", `${this.space.id}: the encoder was disposed`);
    const [h, w] = this.hw;
    const dims = this.config.layout === "NHWC" ? [n, h, w, 3] : [n, 3, h, w];
    const running = session.run({ [this.inputName]: new this.ort.Tensor("float32", values, dims) });
    this.inflight = running.catch(() => undefined);
    const t = (await running)[this.outputName]!;
    return this.pool(t.data as Float32Array, t.dims as readonly number[], n);
  }

  private pool(data: Float32Array, dims: readonly number[], n: number): Float32Array {
    const where = `onnx image model output '${this.outputName}'`;
    if (dims[0] !== n) throw new LatentflowError("E_MODEL_OUTPUT", `${where}: expected ${n} rows first, found dims [${dims.join(", ")}]`);
    const per = data.length / n;
    let out: Float32Array;
    const p = this.config.pooling;
    if (p === "none") {
      if (dims.length !== 2) throw new LatentflowError("E_MODEL_OUTPUT", `${where}: expected [batch, dim] with pooling 'none', found [${dims.join(", ")}]`, { hint: "set pooling: mean or cls" });
      out = data;
    } else if (p === "cls") {
      if (dims.length !== 3) throw new LatentflowError("E_MODEL_OUTPUT", `${where}: expected [batch, tokens, dim] for pooling 'cls', found [${dims.join(", ")}]`);
      const d = dims[2]!;
      out = new Float32Array(n * d);
      for (let i = 0; i < n; i++) out.set(data.subarray(i * per, i * per + d), i * d);
    } else {
      if (dims.length < 3) throw new LatentflowError("E_MODEL_OUTPUT", `${where}: expected at least 3 axes for pooling 'mean', found [${dims.join(", ")}]`);
      // [n, c, h, w] (a CNN's feature map) averages h × w per channel; [n, t, d] averages the tokens.
      const channelsFirst = dims.length === 4;
      const d = channelsFirst ? dims[1]! : dims[dims.length - 1]!;
      const m = per / d;
      out = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        const row = data.subarray(i * per, (i + 1) * per);
        for (let j = 0; j < d; j++) {
          let s = 0;
          if (channelsFirst) for (let q = 0; q < m; q++) s += row[j * m + q]!;
          else for (let q = 0; q < m; q++) s += row[q * d + j]!;
          out[i * d + j] = s / m;
        }
      }
    }
    if (this.config.normalize) {
      const d = out.length / n;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += out[i * d + j]! ** 2;
        const inv = 1 / Math.sqrt(Math.max(s, 1e-24));
        for (let j = 0; j < d; j++) out[i * d + j]! *= inv;
      }
    }
    return out === data ? data.slice() : out;
  }

  /** Prepared inputs → n × dim, in one model call. */
  async embed(batch: readonly Float32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new LatentflowError("E_DISPOSED", `${this.space.id}: the encoder was disposed`, { hint: "load a new encoder" });
    if (batch.length === 0) return new Float32Array(0);
    const per = batch[0]!.length;
    const flat = new Float32Array(batch.length * per);
    for (const [i, b] of batch.entries()) flat.set(b, i * per);
    return this.run(flat, batch.length);
  }

  async encode(inputs: readonly ImageInput[], opts: EncodeOptions = {}): Promise<Float32Array> {
    if (this.disposed) throw new LatentflowError("E_DISPOSED", `${this.space.id}: the encoder was disposed`, { hint: "load a new encoder" });
    return encodePrepared(this, inputs, opts, 32);
  }


  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const session = this.session;
    this.session = undefined;
    await this.inflight;
    await session?.release();
  }
}
