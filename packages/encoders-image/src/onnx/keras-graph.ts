import { LatentflowError } from "@latentflow/core";
import type * as TF from "@tensorflow/tfjs";
import { ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, encodeOnnxModel, floatTensor, int64Tensor, onnxNode, valueInfo, type OnnxAttribute, type OnnxNode, type OnnxTensor } from "@latentflow/onnx-runtime";

// A Keras (tfjs layers) convolutional network rewritten as an ONNX graph over the weights tfjs loaded
// (already dequantized), so it runs on ONNX Runtime's native kernels. Layer by layer, in the model's
// topological order, up to the layer asked for; the graph computes in NCHW (ONNX's layout), converting
// the NHWC input once at the start and the output back before Flatten. "same" padding is TensorFlow's:
// the odd pixel goes at the end (bottom/right), written as explicit pads from the static shapes.

/** Input and output names of the built graph. */
export const KERAS_ONNX_INPUT = "pixels";
export const KERAS_ONNX_OUTPUT = "features";

interface KerasLayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<Array<[string, number, number, unknown]>>;
}

interface Value {
  name: string;
  c: number;
  h: number;
  w: number;
  /** Set once Flatten made it a vector. */
  flat?: boolean;
}

const int = (name: string, i: number): OnnxAttribute => ({ name, type: ATTR_INT, i });
const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: ATTR_INTS, ints: values });
const float = (name: string, f: number): OnnxAttribute => ({ name, type: ATTR_FLOAT, f });

function unsupported(where: string, what: string): never {
  throw new LatentflowError("E_MODEL_FORMAT", `${where}: expected a layer the ONNX route supports, found ${what}`, {
    hint: "use backend 'wasm' (tfjs) for this model",
    data: { where, found: what },
  });
}

/** TensorFlow's padding of one spatial axis: output size and the pads before and after. */
function tfPad(size: number, k: number, s: number, d: number, mode: string): { out: number; before: number; after: number } {
  const ke = (k - 1) * d + 1;
  if (mode === "valid") return { out: Math.floor((size - ke) / s) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + ke - size, 0);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === "number") return [v, v];
  return [fallback, fallback];
}

/** [kh, kw, in, out] (TF) → [out, in, kh, kw] (ONNX). */
function convKernel(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o]!;
  return out;
}

/**
 * The serialized ONNX model (opset 13) of `model` from its input up to layer `output`: `pixels` float
 * [batch, size, size, channels] (NHWC, as the tfjs model takes it) in, `features` [batch, dim] out.
 * Supports the layers of Keras MobileNetV2 and InceptionV3: Conv2D, DepthwiseConv2D, BatchNormalization,
 * ReLU (with max_value), Activation (relu, linear), ZeroPadding2D, Add, Concatenate, Max/AveragePooling2D,
 * GlobalAveragePooling2D, Flatten.
 */
export function buildKerasOnnxModel(model: TF.LayersModel, topology: { layers: KerasLayerJson[] }, output: string, producer: string): Uint8Array {
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const values = new Map<string, Value>();
  let n = 0;
  const op = (type: string, inputs: string[], attrs: OnnxAttribute[] = []): string => {
    const name = `${type.toLowerCase()}_${n++}`;
    nodes.push(onnxNode(type, inputs, [name], attrs));
    return name;
  };
  const weights = (layer: string): Map<string, Float32Array> => {
    const l = model.getLayer(layer);
    const m = new Map<string, Float32Array>();
    const tensors = l.getWeights();
    l.weights.forEach((v, i) => {
      const key = (v.originalName ?? v.name).split("/").pop()!.replace(/:\d+$/, "").replace(/_\d+$/, "");
      m.set(key, tensors[i]!.dataSync() as Float32Array);
    });
    return m;
  };

  let input: Value | undefined;
  let done = false;
  for (const layer of topology.layers) {
    const cfg = layer.config;
    const where = `onnx ${producer}: layer '${layer.name}' (${layer.class_name})`;
    const ins = (layer.inbound_nodes[0] ?? []).map(([name]) => {
      const v = values.get(name);
      if (!v) unsupported(where, `an input '${name}' that is not computed before it`);
      return v;
    });
    const one = ins[0]!;
    let out: Value;
    switch (layer.class_name) {
      case "InputLayer": {
        const shape = cfg.batch_input_shape as number[];
        if (shape.length !== 4 || !shape[1] || !shape[2] || !shape[3]) unsupported(where, `input shape [${shape.join(", ")}]`);
        input = { name: KERAS_ONNX_INPUT, h: shape[1], w: shape[2], c: shape[3] };
        out = { ...input, name: op("Transpose", [KERAS_ONNX_INPUT], [ints("perm", [0, 3, 1, 2])]) };
        break;
      }
      case "Conv2D":
      case "DepthwiseConv2D": {
        const depthwise = layer.class_name === "DepthwiseConv2D";
        const [kh, kw] = pair(cfg.kernel_size, 1);
        const [sh, sw] = pair(cfg.strides, 1);
        const [dh, dw] = pair(cfg.dilation_rate, 1);
        const mode = String(cfg.padding);
        if (cfg.data_format !== undefined && cfg.data_format !== "channels_last") unsupported(where, `data_format ${cfg.data_format}`);
        const w = weights(layer.name);
        const kernel = w.get(depthwise ? "depthwise_kernel" : "kernel");
        if (!kernel) unsupported(where, "no kernel weight");
        const mult = depthwise ? Number(cfg.depth_multiplier ?? 1) : 1;
        const cout = depthwise ? one.c * mult : Number(cfg.filters);
        const W = depthwise ? convKernel(kernel, kh, kw, 1, one.c * mult) : convKernel(kernel, kh, kw, one.c, cout);
        const wName = `${layer.name}/W`;
        inits.push(floatTensor(wName, [cout, depthwise ? 1 : one.c, kh, kw], W));
        const convIns = [one.name, wName];
        const bias = cfg.use_bias ? w.get("bias") : undefined;
        if (bias) {
          inits.push(floatTensor(`${layer.name}/B`, [cout], bias));
          convIns.push(`${layer.name}/B`);
        }
        const ph = tfPad(one.h, kh, sh, dh, mode);
        const pw = tfPad(one.w, kw, sw, dw, mode);
        let y = op("Conv", convIns, [
          ints("kernel_shape", [kh, kw]),
          ints("strides", [sh, sw]),
          ints("dilations", [dh, dw]),
          ints("pads", [ph.before, pw.before, ph.after, pw.after]),
          int("group", depthwise ? one.c : 1),
        ]);
        const act = String(cfg.activation ?? "linear");
        if (act === "relu") y = op("Relu", [y]);
        else if (act !== "linear") unsupported(where, `activation ${act}`);
        out = { name: y, c: cout, h: ph.out, w: pw.out };
        break;
      }
      case "BatchNormalization": {
        const w = weights(layer.name);
        const c = one.c;
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== 3) unsupported(where, `axis ${axis}`);
        const gamma = cfg.scale === false ? new Float32Array(c).fill(1) : w.get("gamma");
        const beta = cfg.center === false ? new Float32Array(c) : w.get("beta");
        const mean = w.get("moving_mean");
        const variance = w.get("moving_variance");
        if (!gamma || !beta || !mean || !variance) unsupported(where, `weights ${[...w.keys()].join(", ")}`);
        const names = ["scale", "bias", "mean", "var"].map((s) => `${layer.name}/${s}`);
        inits.push(...[gamma, beta, mean, variance].map((d, i) => floatTensor(names[i]!, [c], d)));
        out = { ...one, name: op("BatchNormalization", [one.name, ...names], [float("epsilon", Number(cfg.epsilon ?? 1e-3))]) };
        break;
      }
      case "ReLU": {
        if (Number(cfg.negative_slope ?? 0) !== 0 || Number(cfg.threshold ?? 0) !== 0) unsupported(where, "a leaky or thresholded ReLU");
        const max = cfg.max_value;
        if (max === null || max === undefined) out = { ...one, name: op("Relu", [one.name]) };
        else {
          inits.push(floatTensor(`${layer.name}/min`, [], new Float32Array([0])), floatTensor(`${layer.name}/max`, [], new Float32Array([Number(max)])));
          out = { ...one, name: op("Clip", [one.name, `${layer.name}/min`, `${layer.name}/max`]) };
        }
        break;
      }
      case "Activation": {
        const act = String(cfg.activation);
        if (act === "relu") out = { ...one, name: op("Relu", [one.name]) };
        else if (act === "linear") out = one;
        else unsupported(where, `activation ${act}`);
        break;
      }
      case "ZeroPadding2D": {
        const p = cfg.padding as number[][] | number[] | number;
        const rows: number[][] = Array.isArray(p) ? (p as unknown[]).map((v) => (Array.isArray(v) ? v.map(Number) : [Number(v), Number(v)])) : [[p, p], [p, p]];
        const [t = 0, b = 0] = rows[0] ?? [];
        const [l = 0, r = 0] = rows[1] ?? [];
        inits.push(int64Tensor(`${layer.name}/pads`, [8], [0, 0, t, l, 0, 0, b, r]));
        out = { name: op("Pad", [one.name, `${layer.name}/pads`]), c: one.c, h: one.h + t + b, w: one.w + l + r };
        break;
      }
      case "Add": {
        let y = ins[0]!.name;
        for (const v of ins.slice(1)) y = op("Add", [y, v.name]);
        out = { ...one, name: y };
        break;
      }
      case "Concatenate": {
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== 3) unsupported(where, `axis ${axis}`);
        out = { name: op("Concat", ins.map((v) => v.name), [int("axis", 1)]), c: ins.reduce((s, v) => s + v.c, 0), h: one.h, w: one.w };
        break;
      }
      case "MaxPooling2D":
      case "AveragePooling2D": {
        const [kh, kw] = pair(cfg.pool_size, 2);
        const [sh, sw] = pair(cfg.strides ?? cfg.pool_size, 2);
        const ph = tfPad(one.h, kh, sh, 1, String(cfg.padding));
        const pw = tfPad(one.w, kw, sw, 1, String(cfg.padding));
        // count_include_pad 0: TensorFlow averages over the pixels inside the image only.
        const attrs = [ints("kernel_shape", [kh, kw]), ints("strides", [sh, sw]), ints("pads", [ph.before, pw.before, ph.after, pw.after])];
        out = { name: op(layer.class_name === "MaxPooling2D" ? "MaxPool" : "AveragePool", [one.name], attrs), c: one.c, h: ph.out, w: pw.out };
        break;
      }
      case "GlobalAveragePooling2D": {
        const y = op("GlobalAveragePool", [one.name]);
        out = { name: op("Flatten", [y], [int("axis", 1)]), c: one.c, h: 1, w: 1, flat: true };
        break;
      }
      case "Flatten": {
        // Keras flattens NHWC: back to that order first (a no-op reshape when h = w = 1).
        const nhwc = op("Transpose", [one.name], [ints("perm", [0, 2, 3, 1])]);
        out = { name: op("Flatten", [nhwc], [int("axis", 1)]), c: one.c * one.h * one.w, h: 1, w: 1, flat: true };
        break;
      }
      default:
        unsupported(where, `layer class ${layer.class_name}`);
    }
    values.set(layer.name, out);
    if (layer.name === output) {
      done = true;
      break;
    }
  }
  if (!done || !input) unsupported(`onnx ${producer}`, `no layer '${output}' reachable from an input`);
  const last = values.get(output)!;
  if (!last.flat) unsupported(`onnx ${producer}: layer '${output}'`, "an output that is not a vector (end at a Flatten or global pooling layer)");
  nodes.push(onnxNode("Identity", [last.name], [KERAS_ONNX_OUTPUT]));
  return encodeOnnxModel(
    {
      name: producer,
      node: nodes,
      initializer: inits,
      input: [valueInfo(KERAS_ONNX_INPUT, ONNX_FLOAT, ["batch", input.h, input.w, input.c])],
      output: [valueInfo(KERAS_ONNX_OUTPUT, ONNX_FLOAT, ["batch", last.c])],
    },
    { opset: 13, producer },
  );
}
