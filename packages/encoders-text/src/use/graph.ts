import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { LatentflowError } from "@latentflow/core";
import type * as TF from "@tensorflow/tfjs";
import { readUseGraphFiles } from "./model-files.js";

type Tf = typeof TF;

/** `wasm`: tfjs-backend-wasm, one thread per worker. `tensorflow`: @tensorflow/tfjs-node, which must be installed. `auto`: tfjs-node when installed, wasm otherwise. */
export type UseBackend = "auto" | "wasm" | "tensorflow";

let tfPromise: Promise<Tf> | undefined;
let tfjsNode: Promise<boolean> | undefined;

/** tfjs with the wasm backend registered, loaded on first use so importing the package does not load it. */
export function loadTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    const tf = await import("@tensorflow/tfjs");
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // The .wasm binaries from the package on disk: nothing is fetched.
    const pkg = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json");
    wasm.setWasmPaths(`${join(dirname(pkg), "dist")}/`);
    // Parallelism comes from our worker threads, one model each.
    wasm.setThreadsCount(1);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return tf;
  })();
  return tfPromise;
}

async function tryTfjsNode(tf: Tf): Promise<boolean> {
  try {
    // A variable keeps bundlers and tsc from resolving the optional package.
    const name = "@tensorflow/tfjs-node";
    await import(name);
  } catch {
    return false;
  }
  // tfjs-node registers its backend with its own tfjs-core: usable only if that is ours.
  return tf.findBackendFactory("tensorflow") != null;
}

/** The backend `backend` resolves to here: `tensorflow` when asked for (or `auto`) and tfjs-node is installed, else `wasm`. */
export async function resolveBackend(backend: UseBackend): Promise<"wasm" | "tensorflow"> {
  if (backend === "wasm") return "wasm";
  const tf = await loadTf();
  tfjsNode ??= tryTfjsNode(tf);
  if (await tfjsNode) return "tensorflow";
  if (backend === "tensorflow") {
    throw new LatentflowError("E_BACKEND", "use: backend 'tensorflow' needs @tensorflow/tfjs-node 4.22 installed, found it missing", {
      hint: "install @tensorflow/tfjs-node, or use backend 'wasm'",
      data: { expected: "@tensorflow/tfjs-node", found: "not installed", where: "use" },
    });
  }
  return "wasm";
}

/** The USE lite graph model on one tfjs backend: sparse piece ids in, unit 512-d vectors out. */
export class UseGraph {
  private constructor(
    private readonly tf: Tf,
    private model: TF.GraphModel | undefined,
  ) {}

  /** Loads the model from the npm package's files on `backend` (made the active tfjs backend of this thread). */
  static async load(backend: "wasm" | "tensorflow"): Promise<UseGraph> {
    const tf = await loadTf();
    if (backend === "tensorflow") await resolveBackend("tensorflow");
    if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
      throw new LatentflowError("E_BACKEND", `use: could not start the tfjs '${backend}' backend`);
    }
    await tf.ready();
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
