import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { LatentflowError } from "@latentflow/core";

/** The npm package whose MobileNetV2 and InceptionV3 weights the features come from. */
export const NSFWJS_PACKAGE = "nsfwjs@4.4.0";

/** The backbones nsfwjs ships: folder, shard count, input size, the layer whose output is the feature. */
export const NSFWJS_MODELS = {
  mobilenet_v2: { dir: "mobilenet_v2", shards: 1, size: 224, layer: "flatten_1", dim: 1280 },
  inception_v3: { dir: "inception_v3", shards: 6, size: 299, layer: "flatten_1", dim: 2048 },
} as const;

export type NsfwjsModelName = keyof typeof NSFWJS_MODELS;

/** The parts of a tfjs layers model `tf.io.fromMemory` takes. */
export interface LayersModelFiles {
  modelTopology: { config?: { layers?: Array<{ name: string; class_name: string }> }; model_config?: { config?: { layers?: Array<{ name: string; class_name: string }> } } };
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string }>;
  weightData: ArrayBuffer;
}

interface ModelJson {
  modelTopology: LayersModelFiles["modelTopology"];
  weightsManifest: Array<{ paths: string[]; weights: LayersModelFiles["weightSpecs"] }>;
}

const require = createRequire(import.meta.url);

function modelsDir(): string {
  try {
    // nsfwjs exports no package.json; its CommonJS entry is dist/cjs/index.js.
    return join(dirname(require.resolve("nsfwjs")), "..", "models");
  } catch (e) {
    throw new LatentflowError("E_MODEL_MISSING", `nsfwjs: expected the model package ${NSFWJS_PACKAGE} to be installed, found it missing (${(e as Error).message})`, {
      hint: "nsfwjs is an optional peer of @latentflow/encoders-image: npm install nsfwjs@^4.4.0 @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0",
      data: { expected: NSFWJS_PACKAGE, found: "not resolvable", where: "nsfwjs" },
    });
  }
}

/**
 * A backbone's model.json and weights, read from the `.min.js` bundles nsfwjs ships (each a CommonJS
 * module whose value is the JSON, or a shard as base64). Nothing is fetched.
 */
export function readNsfwjsModel(name: NsfwjsModelName): LayersModelFiles {
  const m = NSFWJS_MODELS[name];
  const dir = join(modelsDir(), m.dir);
  const json = require(join(dir, "model.min.js")) as ModelJson;
  const parts: Buffer[] = [];
  for (let i = 1; i <= m.shards; i++) {
    const b64 = require(join(dir, `group1-shard${i}of${m.shards}.min.js`)) as unknown;
    if (typeof b64 !== "string") throw new LatentflowError("E_MODEL_FORMAT", `nsfwjs ${name}: expected shard ${i} of ${m.shards} to hold base64 text, found ${typeof b64}`);
    parts.push(Buffer.from(b64, "base64"));
  }
  const whole = Buffer.concat(parts);
  const weightData = whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength) as ArrayBuffer;
  return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData };
}
