import { LatentflowError } from "@latentflow/core";

type Ort = typeof import("onnxruntime-node");

/** How to install onnxruntime-node, said once for every error that needs it. */
export const ORT_INSTALL_HINT =
  "onnxruntime-node is an optional peer of the Latentflow encoders that run models on it (288 MB, prebuilt CPU binaries inside). Install it with its download of CUDA parts turned off: " +
  "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@^1.30.0 (pnpm and yarn skip its install script unless told to run it)";

let loading: Promise<Ort> | undefined;

/** onnxruntime-node, imported on first use: users who never run a model on it never load (or install) the native runtime. */
export function loadOnnxRuntime(where: string): Promise<Ort> {
  loading ??= import("onnxruntime-node");
  return loading.catch((cause: Error) => {
    loading = undefined;
    const missing = /Cannot find (package|module) 'onnxruntime-node'/.test(cause.message);
    throw new LatentflowError("E_RUNTIME_MISSING", `${where}: expected onnxruntime-node to be installed and loadable, found ${missing ? "it missing" : `it failing to load (${cause.message.split("\n")[0]})`}`, {
      hint: ORT_INSTALL_HINT,
      cause,
      data: { expected: "onnxruntime-node", where },
    });
  });
}
