import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { LatentflowError } from "@latentflow/core";
import type * as TF from "@tensorflow/tfjs";

export type Tf = typeof TF;
/** `wasm`: tfjs-backend-wasm, single-threaded. `tensorflow`: @tensorflow/tfjs-node, which must be installed. `auto`: tfjs-node when installed, wasm otherwise. */
export type TfBackend = "auto" | "wasm" | "tensorflow";

let tfPromise: Promise<Tf> | undefined;
let tfjsNode: Promise<boolean> | undefined;

/** How to install tfjs, said once for every error that needs it. */
export const TFJS_INSTALL_HINT =
  "@tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are optional peers (about 137 MB together, no install script), installed only by who uses a tfjs model: npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0";

async function importTfjs(): Promise<{ tf: Tf; wasm: typeof import("@tensorflow/tfjs-backend-wasm") }> {
  try {
    return { tf: await import("@tensorflow/tfjs"), wasm: await import("@tensorflow/tfjs-backend-wasm") };
  } catch (cause) {
    throw new LatentflowError("E_RUNTIME_MISSING", `expected @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm to be installed, found ${(cause as Error).message.split("\n")[0]}`, {
      hint: TFJS_INSTALL_HINT,
      cause,
      data: { expected: "@tensorflow/tfjs + @tensorflow/tfjs-backend-wasm" },
    });
  }
}

/** Whether tfjs and its wasm backend are installed here (they are optional peers). */
export async function tfjsInstalled(): Promise<boolean> {
  return loadTf().then(
    () => true,
    () => false,
  );
}

/** tfjs with the wasm backend registered, loaded on first use so importing a package does not load it. */
export function loadTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    const { tf, wasm } = await importTfjs();
    // The .wasm binaries from the package on disk: nothing is fetched.
    const pkg = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json");
    wasm.setWasmPaths(`${join(dirname(pkg), "dist")}/`);
    // Parallelism comes from the callers' own worker threads; one wasm thread each keeps results bit-reproducible.
    wasm.setThreadsCount(1);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return tf;
  })();
  // A failed load is not cached: the user may install the packages and retry in the same process.
  tfPromise.catch(() => {
    tfPromise = undefined;
  });
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
export async function resolveTfBackend(backend: TfBackend, where: string): Promise<"wasm" | "tensorflow"> {
  if (backend === "wasm") return "wasm";
  if (backend === "auto" && !(await tfjsInstalled())) return "wasm"; // its use then says what to install
  const tf = await loadTf();
  tfjsNode ??= tryTfjsNode(tf);
  if (await tfjsNode) return "tensorflow";
  if (backend === "tensorflow") {
    throw new LatentflowError("E_BACKEND", `${where}: backend 'tensorflow' needs @tensorflow/tfjs-node 4.22 installed, found it missing`, {
      hint: "install @tensorflow/tfjs-node, or use backend 'wasm'",
      data: { expected: "@tensorflow/tfjs-node", found: "not installed", where },
    });
  }
  return "wasm";
}

/** Makes `backend` (resolved as {@link resolveTfBackend}) the active tfjs backend of this thread; returns tfjs and the name in use. */
export async function useTfBackend(backend: TfBackend, where: string): Promise<{ tf: Tf; name: "wasm" | "tensorflow" }> {
  const tf = await loadTf();
  const name = await resolveTfBackend(backend, where);
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) {
    throw new LatentflowError("E_BACKEND", `${where}: could not start the tfjs '${name}' backend`, { data: { expected: name, found: tf.getBackend(), where } });
  }
  await tf.ready();
  return { tf, name };
}
