import { LatentflowError } from "@latentflow/core";
import type * as TF from "@tensorflow/tfjs";
import { type Tf, resolveTfBackend, useTfBackend } from "@latentflow/tfjs-runtime";
import { readUseGraphFiles } from "./model-files.js";

/** `wasm`: tfjs-backend-wasm, one thread per worker. `tensorflow`: @tensorflow/tfjs-node, which must be installed. `auto`: tfjs-node when installed, wasm otherwise. */
export type UseBackend = "auto" | "wasm" | "tensorflow";

/** The backend `backend` resolves to here: `tensorflow` when asked for (or `auto`) and tfjs-node is installed, else `wasm`. */
export function resolveBackend(backend: UseBackend): Promise<"wasm" | "tensorflow"> {
  return resolveTfBackend(backend, "use");
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

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}
