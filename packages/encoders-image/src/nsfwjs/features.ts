import { LatentflowError, defineSpace, type EncodeOptions, type Encoder, type Space } from "@latentflow/core";
import { availableParallelism } from "node:os";
import { resolveTfBackend, useTfBackend } from "@latentflow/tfjs-runtime";
import type * as TF from "@tensorflow/tfjs";
import type { InferenceSession } from "onnxruntime-node";
import { encodePrepared } from "../encode-items.js";
import { DEFAULT_BACKGROUND, DEFAULT_LIMIT_INPUT_PIXELS, rgbOf, type ImageInput, type RgbImage } from "../decode/decode.js";
import { VERSION } from "../version.js";
import { loadOnnxRuntime } from "@latentflow/onnx-runtime";
import { KERAS_ONNX_INPUT, KERAS_ONNX_OUTPUT, buildKerasOnnxModel } from "../onnx/keras-graph.js";
import { NSFWJS_MODELS, NSFWJS_PACKAGE, type NsfwjsModelName, readNsfwjsModel } from "./model-files.js";
import { resizeBilinearAlignCorners } from "./resize.js";

/** Images per model call unless told otherwise. */
export const NSFWJS_DEFAULT_BATCH_SIZE = 32;

/** The classes nsfwjs fine-tuned both backbones on: the features lean towards telling these apart. */
export const NSFWJS_CLASSES = ["drawing", "hentai", "neutral", "porn", "sexy"] as const;

/** Where the model runs. */
export type NsfwjsBackend = "auto" | "onnxruntime" | "wasm" | "tensorflow";

export interface NsfwjsFeaturesOptions {
  /**
   * `onnxruntime`: the same weights as an ONNX graph on onnxruntime-node (native kernels); `wasm`: tfjs
   * with its wasm backend, one thread; `tensorflow`: tfjs-node, which must be installed. Default `auto`:
   * tfjs-node when installed, else onnxruntime when installed, else wasm. tfjs (an optional peer) is
   * needed in every case: it reads the model files.
   */
  backend?: NsfwjsBackend;
  /** onnxruntime: intra-op threads. Default: every core. */
  threads?: number;
  /** Media inputs larger than this many pixels fail with E_IMAGE_TOO_LARGE. Default 50 MP. */
  limitInputPixels?: number;
  /** RGB that transparent pixels are flattened onto. Default white. Part of the space: it changes the features. */
  background?: readonly [number, number, number];
}

/**
 * The preprocessing nsfwjs itself applies (`NSFWJS.infer` in nsfwjs 4.4.0 src/core.ts): RGB pixels → float,
 * ÷ 255 → [0, 1], the whole image bilinearly resized to size × size with align-corners (no crop: the aspect
 * ratio is not kept), NHWC. Recorded in the space so that two recipes never share one.
 */
function preprocessing(size: number, background: readonly [number, number, number]) {
  return {
    decode: "sharp: EXIF orientation applied, first frame, CMYK/grey/16-bit → 8-bit sRGB",
    alphaBackground: [...background],
    channels: "RGB",
    range: [0, 1],
    scale: "x / 255",
    resize: { size: [size, size], mode: "squash (whole image, aspect not kept, no crop)", interpolation: "bilinear", alignCorners: true, order: "after scaling to [0, 1]" },
    layout: "NHWC",
  };
}

/**
 * Image features from a backbone of npm nsfwjs: the output of its `flatten_1` layer (global-average-pooled
 * last convolution). The backbones were ImageNet networks fine-tuned by nsfwjs to tell drawings, neutral
 * photos and three kinds of explicit images apart, so the features are not plain ImageNet features.
 * Inputs are decoded images or image files (media payloads); one that cannot be decoded is refused naming
 * its index, and nothing is encoded in that call.
 */
export class NsfwjsFeatures implements Encoder<ImageInput> {
  readonly space: Space;
  /** Where the model runs: `onnxruntime`, `wasm` or `tensorflow`. */
  readonly backendName: Runner["backend"];
  private disposed = false;

  /** @internal Use `MobileNetV2Features.load()`, `InceptionV3Features.load()` or `NsfwjsFeatures.loadBackbone(name)`. */
  constructor(
    private readonly runner: Runner,
    readonly model: NsfwjsModelName,
    private readonly opts: Required<Pick<NsfwjsFeaturesOptions, "limitInputPixels" | "background">>,
  ) {
    const m = NSFWJS_MODELS[model];
    this.backendName = runner.backend;
    this.space = defineSpace({
      id: `nsfwjs-${model.replace("_", "-")}/${m.dim}`,
      dim: m.dim,
      metric: "cosine",
      normalized: false,
      modality: "image",
      producer: {
        name: `@latentflow/encoders-image/${model === "mobilenet_v2" ? "mobilenet" : "inception"}`,
        version: VERSION,
        params: {
          model: `${NSFWJS_PACKAGE}/${m.dir}`,
          layer: m.layer,
          finetunedOn: `nsfwjs classes (${NSFWJS_CLASSES.join(", ")}), not ImageNet alone`,
          preprocessing: preprocessing(m.size, opts.background),
        },
      },
    });
  }

  /** Loads one of nsfwjs's backbones from the installed package, cut at `flatten_1`. */
  static loadBackbone(model: NsfwjsModelName, opts: NsfwjsFeaturesOptions = {}): Promise<NsfwjsFeatures> {
    return loadNsfwjs(NsfwjsFeatures, model, opts);
  }


  /** Input side length (224 for MobileNetV2, 299 for InceptionV3). */
  get size(): number {
    return NSFWJS_MODELS[this.model].size;
  }

  /** Decodes one input to 8-bit RGB (sharp for files), with this encoder's pixel limit and background. */
  decode(input: unknown, where = this.space.id): Promise<RgbImage> {
    return rgbOf(input, { limitInputPixels: this.opts.limitInputPixels, background: this.opts.background, where });
  }

  /** An RGB image → the model's input: size × size × 3 float32 in [0, 1], exactly as nsfwjs prepares it. */
  preprocess(img: RgbImage): Float32Array {
    return resizeBilinearAlignCorners(img, this.size);
  }

  /** Decode + preprocess of one input. */
  async prepare(input: unknown, where?: string): Promise<Float32Array> {
    return this.preprocess(await this.decode(input, where));
  }

  /** Prepared inputs (see `prepare`) → n × dim features, in one model call. */
  async embed(batch: readonly Float32Array[]): Promise<Float32Array> {
    this.assertLive();
    const size = this.size;
    const per = size * size * 3;
    const flat = new Float32Array(batch.length * per);
    batch.forEach((b, i) => {
      if (b.length !== per) throw new LatentflowError("E_SHAPE", `${this.space.id}: expected prepared input ${i} of ${per} values (${size} × ${size} × 3), found ${b.length}`, { data: { index: i } });
      flat.set(b, i * per);
    });
    if (batch.length === 0) return new Float32Array(0);
    return this.runner.run(flat, batch.length, size);
  }

  async encode(inputs: readonly ImageInput[], opts: EncodeOptions = {}): Promise<Float32Array> {
    this.assertLive();
    return encodePrepared(this, inputs, opts, NSFWJS_DEFAULT_BATCH_SIZE);
  }


  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runner.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new LatentflowError("E_DISPOSED", `${this.space.id}: the encoder was disposed`, { hint: "load a new encoder" });
  }
}



type FeaturesClass<T extends NsfwjsFeatures> = new (...args: ConstructorParameters<typeof NsfwjsFeatures>) => T;

async function loadNsfwjs<T extends NsfwjsFeatures>(Cls: FeaturesClass<T>, model: NsfwjsModelName, opts: NsfwjsFeaturesOptions): Promise<T> {
  const where = `encoders-image/${model}`;
  const backend = opts.backend ?? "auto";
  let runner: Runner;
  if (backend === "onnxruntime" || (backend === "auto" && (await resolveTfBackend("auto", where)) === "wasm")) {
    try {
      runner = await OrtRunner.load(model, opts.threads ?? availableParallelism(), where);
    } catch (e) {
      // auto without onnxruntime-node installed: tfjs wasm still runs the model.
      if (backend !== "auto" || (e as LatentflowError).code !== "E_RUNTIME_MISSING" || (e as LatentflowError).data?.expected !== "onnxruntime-node") throw e;
      runner = await TfRunner.load(model, "wasm", where);
    }
  } else runner = await TfRunner.load(model, backend === "auto" ? "tensorflow" : backend, where);
  const enc = new Cls(runner, model, { limitInputPixels: opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS, background: opts.background ?? DEFAULT_BACKGROUND });
  // One call at load time compiles the kernels, as nsfwjs does; later timings are steady.
  const m = NSFWJS_MODELS[model];
  await enc.embed([new Float32Array(m.size * m.size * 3)]);
  return enc;
}

/** A model cut at its feature layer, on one runtime: n × size × size × 3 (NHWC) in, n × dim out. */
interface Runner {
  readonly backend: "onnxruntime" | "wasm" | "tensorflow";
  run(pixels: Float32Array, n: number, size: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The tfjs layers model of nsfwjs, with its layers up to the feature layer. */
async function loadLayers(model: NsfwjsModelName, backend: "wasm" | "tensorflow", where: string) {
  const { tf, name } = await useTfBackend(backend, where);
  const files = readNsfwjsModel(model);
  const base = await tf.loadLayersModel(tf.io.fromMemory(files as never));
  const m = NSFWJS_MODELS[model];
  let layer: TF.layers.Layer;
  try {
    layer = base.getLayer(m.layer);
  } catch (e) {
    base.dispose();
    throw new LatentflowError("E_MODEL_FORMAT", `${where}: expected a layer '${m.layer}' in ${NSFWJS_PACKAGE}/${m.dir}, found none (${(e as Error).message})`);
  }
  return { tf, name, base, files, layer };
}

class TfRunner implements Runner {
  private constructor(
    readonly backend: "wasm" | "tensorflow",
    private readonly tf: typeof TF,
    private readonly base: TF.LayersModel,
    private readonly features: TF.LayersModel,
  ) {}

  static async load(model: NsfwjsModelName, backend: "wasm" | "tensorflow", where: string): Promise<TfRunner> {
    const { tf, name, base, layer } = await loadLayers(model, backend, where);
    return new TfRunner(name, tf as typeof TF, base, tf.model({ inputs: base.inputs, outputs: layer.output as TF.SymbolicTensor }));
  }

  async run(pixels: Float32Array, n: number, size: number): Promise<Float32Array> {
    const out = this.tf.tidy(() => this.features.predict(this.tf.tensor4d(pixels, [n, size, size, 3])) as TF.Tensor);
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    // The feature model shares the base model's layers: disposing the base frees every weight once.
    this.base.dispose();
  }
}

type Ort = typeof import("onnxruntime-node");

class OrtRunner implements Runner {
  readonly backend = "onnxruntime" as const;
  /** The batch in progress, so dispose() waits for it before releasing the session. */
  private inflight: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ort: Ort,
    private session: InferenceSession | undefined,
  ) {}

  /** tfjs reads (and dequantizes) the weights once; they are written into an ONNX graph and tfjs lets go of them. */
  static async load(model: NsfwjsModelName, threads: number, where: string): Promise<OrtRunner> {
    const ort: Ort = await loadOnnxRuntime(where);
    const { base, files } = await loadLayers(model, "wasm", where);
    let bytes: Uint8Array;
    try {
      const topology = files.modelTopology.model_config?.config ?? files.modelTopology.config;
      bytes = buildKerasOnnxModel(base, topology as never, NSFWJS_MODELS[model].layer, `nsfwjs-${model}`);
    } finally {
      base.dispose();
    }
    try {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", logSeverityLevel: 3 });
      return new OrtRunner(ort, session);
    } catch (e) {
      throw new LatentflowError("E_MODEL_LOAD", `${where}: expected onnxruntime-node to load the ONNX graph of ${NSFWJS_PACKAGE}/${model}, found an error: ${(e as Error).message}`, {
        cause: e,
        hint: "use backend 'wasm' meanwhile, and report the error",
        data: { where },
      });
    }
  }

  async run(pixels: Float32Array, n: number, size: number): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new LatentflowError("E_DISPOSED", "onnxruntime session: the model was disposed");
    const running = session.run({ [KERAS_ONNX_INPUT]: new this.ort.Tensor("float32", pixels, [n, size, size, 3]) });
    this.inflight = running.catch(() => undefined);
    return (await running)[KERAS_ONNX_OUTPUT]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await this.inflight;
    await session?.release();
  }
}

/** MobileNetV2 of nsfwjs at 224 × 224 → 1280-d features (layer `flatten_1`); ~14 MB of weights. */
export class MobileNetV2Features extends NsfwjsFeatures {
  static load(opts: NsfwjsFeaturesOptions = {}): Promise<MobileNetV2Features> {
    return loadNsfwjs(MobileNetV2Features, "mobilenet_v2", opts);
  }
}

/** InceptionV3 of nsfwjs at 299 × 299 → 2048-d features (layer `flatten_1`); ~85 MB of weights, ~5× slower. */
export class InceptionV3Features extends NsfwjsFeatures {
  static load(opts: NsfwjsFeaturesOptions = {}): Promise<InceptionV3Features> {
    return loadNsfwjs(InceptionV3Features, "inception_v3", opts);
  }
}
