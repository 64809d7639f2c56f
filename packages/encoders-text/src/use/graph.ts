import { LatentflowError } from "@latentflow/core";
import type * as TF from "@tensorflow/tfjs";
import { type Tf, resolveTfBackend, tfjsInstalled, useTfBackend } from "@latentflow/tfjs-runtime";
import { ORT_INSTALL_HINT, loadOnnxRuntime } from "@latentflow/onnx-runtime";
import { readUseGraphFiles } from "./model-files.js";

/**
 * `onnxruntime`: the same weights as an ONNX graph on onnxruntime-node (native kernels). `wasm`:
 * tfjs-backend-wasm, one thread per worker. `tensorflow`: @tensorflow/tfjs-node, which must be installed.
 * `auto`: tfjs-node when installed, else onnxruntime, else wasm.
 */
export type UseBackend = "auto" | "onnxruntime" | "wasm" | "tensorflow";
/** The backends `auto` chooses from. */
export type ResolvedUseBackend = Exclude<UseBackend, "auto">;
export const USE_BACKENDS: readonly UseBackend[] = ["auto", "onnxruntime", "wasm", "tensorflow"];

let ortLoads: Promise<string | undefined> | undefined;

/** Undefined when onnxruntime-node loads here, else why it does not. */
function ortFailure(): Promise<string | undefined> {
  ortLoads ??= loadOnnxRuntime("use").then(
    () => undefined,
    (e: Error) => e.message,
  );
  return ortLoads;
}

/** The backend `backend` resolves to here: `auto` is tfjs-node when installed, else onnxruntime when it loads, else wasm; a named backend that cannot load throws E_BACKEND. */
export async function resolveBackend(backend: UseBackend): Promise<ResolvedUseBackend> {
  if (backend === "wasm") return "wasm";
  if (backend === "tensorflow") return resolveTfBackend("tensorflow", "use");
  if (backend === "auto" && (await resolveTfBackend("auto", "use")) === "tensorflow") return "tensorflow";
  const failure = await ortFailure();
  if (failure === undefined) return "onnxruntime";
  if (backend === "onnxruntime") {
    throw new LatentflowError("E_BACKEND", `use: backend 'onnxruntime' needs onnxruntime-node, which failed to load: ${failure}`, {
      hint: `${ORT_INSTALL_HINT}; or use backend 'wasm'`,
      data: { expected: "onnxruntime-node", found: failure, where: "use" },
    });
  }
  if (!(await tfjsInstalled())) {
    throw new LatentflowError("E_RUNTIME_MISSING", "use: expected a runtime for the model — onnxruntime-node, or @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm — found neither installed", {
      hint: `install one (they are optional peers, so only USE users pay for them). ${ORT_INSTALL_HINT}. Or, with no install script at all: npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0 (137 MB, slower)`,
      data: { expected: "onnxruntime-node or @tensorflow/tfjs + @tensorflow/tfjs-backend-wasm", found: failure, where: "use" },
    });
  }
  return "wasm";
}

/** The sparse model input of a batch given as its texts' pieces one after another and each text's length. */
export function sparseInput(pieces: Int32Array, lengths: Int32Array): { indices: Int32Array; values: Int32Array } {
  const indices = new Int32Array(2 * pieces.length);
  for (let row = 0, at = 0; row < lengths.length; row++) {
    for (let pos = 0; pos < lengths[row]!; pos++, at++) {
      indices[2 * at] = row;
      indices[2 * at + 1] = pos;
    }
  }
  return { indices, values: pieces };
}

/** The USE lite graph model on one tfjs backend: sparse piece ids in, unit 512-d vectors out. */
export class UseGraph {
  private constructor(
    private readonly tf: Tf,
    private model: TF.GraphModel | undefined,
  ) {}

  /** Loads the model from the npm package's files on `backend` (made the active tfjs backend of this thread). */
  static async load(backend: "wasm" | "tensorflow"): Promise<UseGraph> {
    const { tf } = await useTfBackend(backend, "use");
    const files = await readUseGraphFiles();
    const model = await tf.loadGraphModel(tf.io.fromMemory(files));
    return new UseGraph(tf, model);
  }

  /**
   * Embeds `rows` texts given as a sparse matrix: `indices` (row, position) pairs flattened, `values`
   * their piece ids. Returns rows × 512 float32.
   */
  async embed(indices: Int32Array, values: Int32Array, rows: number): Promise<Float32Array> {
    const model = this.model;
    if (!model) throw new LatentflowError("E_DISPOSED", "use: the model was disposed");
    const tf = this.tf;
    const i = tf.tensor2d(indices, [values.length, 2], "int32");
    const v = tf.tensor1d(values, "int32");
    try {
      // executeAsync: the graph clips to 128 positions with a dynamic-shape op (Where).
      const out = (await model.executeAsync({ indices: i, values: v })) as TF.Tensor;
      try {
        if (out.shape[0] !== rows) throw new LatentflowError("E_SHAPE", `use: expected ${rows} embeddings from the model, found ${out.shape[0]}`);
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    } finally {
      i.dispose();
      v.dispose();
    }
  }

  /** {@link embed} of a batch given as its texts' pieces one after another and each text's length (≥ 1). */
  embedPieces(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array> {
    const { indices, values } = sparseInput(pieces, lengths);
    return this.embed(indices, values, lengths.length);
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}
