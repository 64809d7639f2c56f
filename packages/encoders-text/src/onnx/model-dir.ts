import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { LatentflowError } from "@latentflow/core";

/** How token vectors become one sentence vector; `model` when the ONNX graph pools itself (a `sentence_embedding` output). */
export type OnnxPooling = "mean" | "cls" | "max";

/** What a model directory says about itself, read the way sentence-transformers reads it. */
export interface ModelDir {
  /** Absolute path of the directory. */
  dir: string;
  /** Absolute path of the ONNX file (model.onnx, or onnx/model.onnx as Hugging Face repos lay it out). */
  modelPath: string;
  /** Model name for the space id: the Hugging Face cache's repo name, else the directory name. */
  name: string;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** Pooling named by the Pooling module's config (1_Pooling/config.json), if any. */
  pooling?: OnnxPooling;
  /** Token limit and where it came from. */
  maxLength: number;
  maxLengthSource: string;
  /** Largest token count the model's position table takes (config.json), if known. */
  maxPositions?: number;
}

const MODEL_CANDIDATES = ["model.onnx", join("onnx", "model.onnx")];
/** Models whose position ids start after the padding index, so two rows of the table are never used for tokens. */
const OFFSET_POSITIONS = new Set(["roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "data2vec-text"]);

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function listing(dir: string): Promise<string> {
  try {
    const names = (await readdir(dir)).sort();
    return names.length === 0 ? "an empty directory" : names.slice(0, 20).join(", ") + (names.length > 20 ? `, … (${names.length} entries)` : "");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : `an unreadable directory (${(e as Error).message})`;
  }
}

async function readJson(path: string, what: string, shape: "object" | "array" = "object"): Promise<any> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LatentflowError("E_MODEL_FILES", `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e, data: { expected: `a readable ${what}`, found: (e as Error).message, where: path } });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v) !== (shape === "array")) throw new Error(`expected a JSON ${shape}, found ${Array.isArray(v) ? "an array" : typeof v}`);
    return v;
  } catch (e) {
    throw new LatentflowError("E_MODEL_CONFIG", `${path}: expected ${what} as a JSON ${shape}, found ${(e as Error).message}`, {
      hint: "the file may be truncated or a Git LFS pointer: download it again",
      data: { expected: `${what} (JSON ${shape})`, found: (e as Error).message, where: path },
    });
  }
}

/** Hugging Face's cache keeps `models--org--name/snapshots/<commit>/`; anything else is named after its directory. */
function modelName(dir: string): string {
  const m = /models--([^/\\]+)[/\\]snapshots[/\\][^/\\]+$/.exec(dir);
  if (m) return m[1]!.split("--").join("/");
  return basename(dir) || dir;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** The pooling of a sentence-transformers Pooling config, or an error for the modes this loader does not implement. */
function poolingFromConfig(cfg: Record<string, unknown>, path: string): OnnxPooling {
  const on = Object.entries(cfg)
    .filter(([k, v]) => k.startsWith("pooling_mode_") && v === true)
    .map(([k]) => k.slice("pooling_mode_".length));
  const modes: Record<string, OnnxPooling> = { cls_token: "cls", mean_tokens: "mean", max_tokens: "max" };
  if (on.length === 1 && modes[on[0]!]) return modes[on[0]!]!;
  throw new LatentflowError(
    "E_MODEL_CONFIG",
    `${path}: expected exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens to be true, found ${on.length === 0 ? "none" : on.join(" + ")}`,
    { hint: "pass pooling: mean | cls | max to choose one yourself", data: { expected: "one of cls_token, mean_tokens, max_tokens", found: on, where: path } },
  );
}

/** The Pooling module's folder: the one modules.json names, else 1_Pooling (what sentence-transformers writes). */
async function poolingDirOf(dir: string): Promise<string> {
  let poolingDir = "1_Pooling";
  const modules = ((await readJson(join(dir, "modules.json"), "modules.json", "array")) ?? []) as Array<{ type?: unknown; path?: unknown }>;
  for (const m of modules) {
    if (typeof m?.type === "string" && m.type.endsWith("models.Pooling") && typeof m.path === "string") poolingDir = m.path;
  }
  return poolingDir;
}

/**
 * Reads a model directory: finds the ONNX file and tokenizer.json (refusing with the path and what was
 * expected when either is missing), the Pooling module's config, and the token limit in the order
 * sentence-transformers uses: sentence_bert_config.json's max_seq_length, tokenizer.json's truncation,
 * tokenizer_config.json's model_max_length, else 512 — never beyond config.json's position table.
 */
export async function readModelDir(dirIn: string, opts: { modelFile?: string; maxLength?: number } = {}): Promise<ModelDir> {
  const dir = resolve(dirIn);
  const candidates = opts.modelFile ? [opts.modelFile] : MODEL_CANDIDATES;
  let modelPath: string | undefined;
  for (const c of candidates) {
    if (await exists(join(dir, c))) {
      modelPath = join(dir, c);
      break;
    }
  }
  if (!modelPath) {
    const expected = candidates.join(" or ");
    throw new LatentflowError("E_MODEL_FILES", `model directory ${dir}: expected the ONNX model ${expected}, found ${await listing(dir)}`, {
      hint: "point at a directory exported for ONNX (e.g. a sentence-transformers repo with onnx/model.onnx, or `optimum-cli export onnx` output)",
      data: { expected, found: await listing(dir), where: dir },
    });
  }
  const tokenizerPath = join(dir, "tokenizer.json");
  const tokenizerJson: Record<string, unknown> | undefined = await readJson(tokenizerPath, "tokenizer.json");
  if (!tokenizerJson) {
    throw new LatentflowError("E_MODEL_FILES", `model directory ${dir}: expected tokenizer.json (Hugging Face tokenizers format) at ${tokenizerPath}, found ${await listing(dir)}`, {
      hint: "download tokenizer.json from the model's repository into the same directory (vocab.txt alone is not enough)",
      data: { expected: "tokenizer.json", found: await listing(dir), where: tokenizerPath },
    });
  }
  const tokenizerConfig: Record<string, unknown> = (await readJson(join(dir, "tokenizer_config.json"), "tokenizer_config.json")) ?? {};
  const config: Record<string, unknown> = (await readJson(join(dir, "config.json"), "config.json")) ?? {};
  const sbert: Record<string, unknown> | undefined = await readJson(join(dir, "sentence_bert_config.json"), "sentence_bert_config.json");

  const poolingPath = join(dir, await poolingDirOf(dir), "config.json");
  const poolingCfg: Record<string, unknown> | undefined = await readJson(poolingPath, "pooling config");

  const maxPositionsRaw = positiveInt(config.max_position_embeddings);
  const maxPositions = maxPositionsRaw !== undefined && OFFSET_POSITIONS.has(String(config.model_type)) ? maxPositionsRaw - 2 : maxPositionsRaw;
  const truncation = tokenizerJson.truncation as { max_length?: unknown } | null | undefined;
  const modelMax = positiveInt(tokenizerConfig.model_max_length);
  const sources: Array<[number | undefined, string]> = [
    [opts.maxLength, "option maxLength"],
    [positiveInt(sbert?.max_seq_length), "sentence_bert_config.json max_seq_length"],
    [positiveInt(truncation?.max_length), "tokenizer.json truncation.max_length"],
    // Tokenizers without a limit store a huge sentinel (1e30) here.
    [modelMax !== undefined && modelMax < 1e6 ? modelMax : undefined, "tokenizer_config.json model_max_length"],
    [512, "default"],
  ];
  const [chosen, source] = sources.find(([v]) => v !== undefined) as [number, string];
  let maxLength = chosen;
  let maxLengthSource = source;
  if (maxPositions !== undefined && maxLength > maxPositions) {
    if (opts.maxLength !== undefined) {
      throw new LatentflowError("E_PARAM", `maxLength ${opts.maxLength} exceeds the ${maxPositions} positions of the model (config.json max_position_embeddings)`, {
        hint: `use maxLength ≤ ${maxPositions}`,
        data: { expected: `maxLength ≤ ${maxPositions}`, found: opts.maxLength, where: join(dir, "config.json") },
      });
    }
    maxLength = maxPositions;
    maxLengthSource = `${source}, capped by config.json max_position_embeddings`;
  }
  return {
    dir,
    modelPath,
    name: modelName(dir),
    tokenizerJson,
    tokenizerConfig,
    ...(poolingCfg ? { pooling: poolingFromConfig(poolingCfg, poolingPath) } : {}),
    maxLength,
    maxLengthSource,
    ...(maxPositions !== undefined ? { maxPositions } : {}),
  };
}

/** The files whose content decides what a model directory computes (for cache keys). */
export async function modelDirFiles(dirIn: string, modelFile?: string): Promise<string[]> {
  const dir = resolve(dirIn);
  const names = [...(modelFile ? [modelFile] : MODEL_CANDIDATES), "tokenizer.json", "tokenizer_config.json", "config.json", "sentence_bert_config.json", "modules.json", join(await poolingDirOf(dir), "config.json")];
  const out: string[] = [];
  for (const n of names) if (await exists(join(dir, n))) out.push(join(dir, n));
  // Large exports keep their weights beside the graph (ONNX external data, as optimum writes it).
  for (const n of modelFile ? [modelFile] : MODEL_CANDIDATES) {
    for (const ext of [`${n}_data`, `${n}.data`]) if (await exists(join(dir, ext))) out.push(join(dir, ext));
  }
  return out;
}
