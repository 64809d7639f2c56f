import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { LatentflowError, type Space, throwIfCancelled, type Encoder, type EncodeOptions } from "@latentflow/core";
import type { InferenceSession, Tensor } from "onnxruntime-node";
import { ThreadSession, type SessionLike } from "./session-thread.js";
import { assertLive, assertTexts, textSpace, } from "../encoder.js";
import { VERSION } from "../version.js";
import { readModelDir, type ModelDir, type OnnxPooling } from "./model-dir.js";
import { normalizeInPlace, poolRow } from "./pooling.js";
import { SentenceTokenizer } from "./tokenizer.js";
import { loadOnnxRuntime } from "@latentflow/onnx-runtime";

/** Options of {@link OnnxSentenceEncoder.load}. */
export interface OnnxSentenceEncoderOptions {
  /** Pooling of token vectors. Default: the graph's own `sentence_embedding` output, else the directory's 1_Pooling/config.json, else `mean`. */
  pooling?: OnnxPooling;
  /** Scale every sentence vector to unit length. Default true. */
  normalize?: boolean;
  /** Token limit per text (longer texts are truncated). Default: sentence_bert_config.json, tokenizer.json's truncation, tokenizer_config.json, else 512. */
  maxLength?: number;
  /** Texts per model call when encode() is not given one. Default 32. */
  batchSize?: number;
  /** ONNX Runtime intra-op threads. Default: ONNX Runtime's choice (one per physical core). */
  threads?: number;
  /**
   * Run the session on a worker thread (default true), so a batch never stalls this thread's event loop
   * (onnxruntime-node computes synchronously); false runs it on the calling thread.
   */
  thread?: boolean;
  /** The ONNX file inside the directory. Default model.onnx, else onnx/model.onnx. */
  modelFile?: string;
  /** Graph output to read. Default: sentence_embedding when the graph pools and no pooling is asked for, else last_hidden_state, token_embeddings, or the first output. */
  output?: string;
  /** Model name in the space id. Default: the directory's name (the repo name inside a Hugging Face cache). */
  name?: string;
}

type Ort = typeof import("onnxruntime-node");
type IntType = "int64" | "int32";

/** Inputs a sentence-transformer export may have, and how each is filled for a padded batch. */
const KNOWN_INPUTS = ["input_ids", "attention_mask", "token_type_ids", "position_ids"] as const;
type KnownInput = (typeof KNOWN_INPUTS)[number];

async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

function metaOf(session: SessionLike, name: string, which: "input" | "output"): InferenceSession.ValueMetadata | undefined {
  const list = which === "input" ? session.inputMetadata : session.outputMetadata;
  return list?.find((m) => m.name === name);
}

function describeValues(session: SessionLike, which: "input" | "output"): string {
  const names = which === "input" ? session.inputNames : session.outputNames;
  return names
    .map((n) => {
      const m = metaOf(session, n, which);
      return m?.isTensor ? `${n} (${m.type} [${m.shape.join(", ")}])` : n;
    })
    .join(", ");
}

/**
 * A sentence-transformer exported to ONNX (all-MiniLM-L6-v2, BGE, E5, …) run on onnxruntime-node: a
 * model directory with model.onnx (or onnx/model.onnx) and tokenizer.json. Texts are tokenized, sorted by
 * length and batched with padding to the longest in each batch; token vectors are pooled with the
 * attention mask (padding never changes a text's vector) and, by default, scaled to unit length.
 */
export class OnnxSentenceEncoder implements Encoder<string> {
  readonly space: Space;
  /** The pooling applied, or `model` when the graph's own sentence_embedding output is used. */
  readonly pooling: OnnxPooling | "model";
  readonly normalize: boolean;
  readonly batchSize: number;
  /** The graph output read. */
  readonly outputName: string;
  readonly tokenizer: SentenceTokenizer;
  readonly modelDir: ModelDir;
  #session: SessionLike;
  #ort: Ort;
  #inputs: Array<{ name: KnownInput; type: IntType }>;
  #disposed = false;
  /** The batch ONNX Runtime is computing, so dispose() waits for it before releasing the session. */
  #inflight: Promise<unknown> = Promise.resolve();

  private constructor(init: {
    space: Space;
    pooling: OnnxPooling | "model";
    normalize: boolean;
    batchSize: number;
    outputName: string;
    tokenizer: SentenceTokenizer;
    modelDir: ModelDir;
    session: SessionLike;
    ort: Ort;
    inputs: Array<{ name: KnownInput; type: IntType }>;
  }) {
    this.space = init.space;
    this.pooling = init.pooling;
    this.normalize = init.normalize;
    this.batchSize = init.batchSize;
    this.outputName = init.outputName;
    this.tokenizer = init.tokenizer;
    this.modelDir = init.modelDir;
    this.#session = init.session;
    this.#ort = init.ort;
    this.#inputs = init.inputs;
  }

  /** Loads a model directory (model.onnx + tokenizer.json, plus sentence-transformers' configs when present). */
  static async load(dir: string, opts: OnnxSentenceEncoderOptions = {}): Promise<OnnxSentenceEncoder> {
    const where = `ONNX model ${dir}`;
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new LatentflowError("E_PARAM", `${where}: expected batchSize a positive integer, found ${batchSize}`, { data: { expected: "a positive integer", found: batchSize, where: "batchSize" } });
    if (opts.maxLength !== undefined && (!Number.isInteger(opts.maxLength) || opts.maxLength < 1)) {
      throw new LatentflowError("E_PARAM", `${where}: expected maxLength a positive integer, found ${opts.maxLength}`, { data: { expected: "a positive integer", found: opts.maxLength, where: "maxLength" } });
    }
    const md = await readModelDir(dir, opts);
    const tokenizer = new SentenceTokenizer(md.tokenizerJson, md.tokenizerConfig, md.maxLength, `${md.dir}/tokenizer.json`);
    // Loaded here, not at import: users of the other encoders never load the native runtime.
    const ort: Ort = await loadOnnxRuntime("onnx");
    let session: SessionLike;
    const sessionOptions: InferenceSession.SessionOptions = {
      ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
    try {
      // On a worker thread unless asked not to: onnxruntime-node computes a run synchronously, which on
      // this thread would stall its event loop for every batch.
      session = opts.thread === false ? (await ort.InferenceSession.create(md.modelPath, sessionOptions) as unknown as SessionLike) : await ThreadSession.create(md.modelPath, sessionOptions);
    } catch (e) {
      throw new LatentflowError("E_MODEL_LOAD", `${md.modelPath}: expected an ONNX model onnxruntime-node can load, found an error: ${(e as Error).message}`, {
        cause: e,
        hint: "the file may be truncated or a Git LFS pointer; models with external data need their .onnx_data file beside them",
        data: { expected: "a loadable ONNX model", found: (e as Error).message, where: md.modelPath },
      });
    }
    try {
      const inputs = OnnxSentenceEncoder.#inputsOf(session, md.modelPath);
      const { outputName, pooling } = OnnxSentenceEncoder.#outputOf(session, md, opts);
      const normalize = opts.normalize ?? true;
      const sha = (await fileSha256(md.modelPath)).slice(0, 16);
      const encoderInit = { pooling, normalize, batchSize, outputName, tokenizer, modelDir: md, session, ort, inputs };
      // The dimension comes from the graph's declared output shape, or from one run when it is symbolic.
      const declared = metaOf(session, outputName, "output");
      let dim = declared?.isTensor ? declared.shape.at(-1) : undefined;
      if (typeof dim !== "number" || dim <= 0) {
        const probe = new OnnxSentenceEncoder({ ...encoderInit, space: textSpace({ id: "probe", dim: 1, normalized: normalize, producer: "probe", version: VERSION }) });
        dim = (await probe.#run([tokenizer.encode("hello")])).dim;
      }
      const name = opts.name ?? md.name;
      const space = textSpace({
        id: `${name}/${pooling}`,
        dim,
        normalized: normalize,
        producer: "encoders-text/onnx",
        version: VERSION,
        params: { model: name, modelSha256: sha, pooling, normalize, maxLength: md.maxLength, output: outputName },
      });
      return new OnnxSentenceEncoder({ ...encoderInit, space });
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  static #inputsOf(session: SessionLike, modelPath: string): Array<{ name: KnownInput; type: IntType }> {
    const unknown: string[] = [];
    const inputs: Array<{ name: KnownInput; type: IntType }> = [];
    for (const n of session.inputNames) {
      const m = metaOf(session, n, "input");
      const type = m?.isTensor ? m.type : "int64";
      if (!(KNOWN_INPUTS as readonly string[]).includes(n)) unknown.push(n);
      else if (type !== "int64" && type !== "int32") unknown.push(`${n} (${type})`);
      else inputs.push({ name: n as KnownInput, type });
    }
    if (unknown.length > 0 || !session.inputNames.includes("input_ids")) {
      const found = describeValues(session, "input");
      throw new LatentflowError("E_ONNX_INPUTS", `${modelPath}: expected inputs input_ids and optionally attention_mask, token_type_ids, position_ids (int64 or int32), found ${found}`, {
        hint: "export the model as a feature extractor (e.g. `optimum-cli export onnx --task feature-extraction`)",
        data: { expected: ["input_ids", "attention_mask?", "token_type_ids?", "position_ids?"], found: session.inputNames, unrecognised: unknown, where: modelPath },
      });
    }
    return inputs;
  }

  static #outputOf(session: SessionLike, md: ModelDir, opts: OnnxSentenceEncoderOptions): { outputName: string; pooling: OnnxPooling | "model" } {
    const outs = session.outputNames;
    const rank = (n: string) => {
      const m = metaOf(session, n, "output");
      return m?.isTensor && m.shape.length > 0 ? m.shape.length : undefined;
    };
    let outputName: string;
    if (opts.output !== undefined) {
      if (!outs.includes(opts.output)) {
        throw new LatentflowError("E_ONNX_OUTPUT", `${md.modelPath}: expected an output named '${opts.output}', found ${describeValues(session, "output")}`, {
          data: { expected: opts.output, found: outs, where: md.modelPath },
        });
      }
      outputName = opts.output;
    } else if (opts.pooling === undefined && outs.includes("sentence_embedding")) {
      outputName = "sentence_embedding";
    } else {
      outputName = outs.find((n) => n === "last_hidden_state") ?? outs.find((n) => n === "token_embeddings") ?? outs.find((n) => rank(n) === 3) ?? outs[0]!;
    }
    const r = rank(outputName);
    if (r === 2) {
      if (opts.pooling !== undefined) {
        throw new LatentflowError("E_ONNX_OUTPUT", `${md.modelPath}: output '${outputName}' is already pooled ([batch, dim]), so pooling '${opts.pooling}' cannot be applied`, {
          hint: "leave pooling unset to use the model's own pooling, or choose a [batch, tokens, dim] output",
          data: { expected: "a [batch, tokens, dim] output", found: describeValues(session, "output"), where: md.modelPath },
        });
      }
      return { outputName, pooling: "model" };
    }
    if (r !== undefined && r !== 3) {
      throw new LatentflowError("E_ONNX_OUTPUT", `${md.modelPath}: expected output '${outputName}' of rank 3 (token vectors) or 2 (sentence vectors), found ${describeValues(session, "output")}`, {
        data: { expected: "[batch, tokens, dim] or [batch, dim]", found: outs, where: md.modelPath },
      });
    }
    return { outputName, pooling: opts.pooling ?? md.pooling ?? "mean" };
  }

  /** Token ids of a text as the model sees them: special tokens added, truncated at maxLength. */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /** Encodes texts to an n×dim row-major Float32Array, in the order given. */
  async encode(texts: readonly string[], opts: EncodeOptions = {}): Promise<Float32Array> {
    const where = `encoders-text/onnx (${this.space.id})`;
    assertLive(this.#disposed, where);
    assertTexts(texts, where);
    throwIfCancelled(opts.signal, where);
    const n = texts.length;
    const dim = this.space.dim;
    const out = new Float32Array(n * dim);
    if (n === 0) return out;
    const batchSize = opts.batchSize ?? this.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new LatentflowError("E_PARAM", `${where}: expected batchSize a positive integer, found ${batchSize}`, { data: { expected: "a positive integer", found: batchSize, where: "batchSize" } });
    const ids = texts.map((t) => this.tokenizer.encode(t));
    // Longest first: texts of similar length share a batch, so little compute goes to padding.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[b]!.length - ids[a]!.length || a - b);
    let done = 0;
    for (let s = 0; s < n; s += batchSize) {
      throwIfCancelled(opts.signal, where);
      assertLive(this.#disposed, where);
      const rows = order.slice(s, s + batchSize);
      const { vectors, dim: got } = await this.#run(rows.map((i) => ids[i]!));
      if (got !== dim) {
        throw new LatentflowError("E_DIM_MISMATCH", `${where}: expected ${dim}-dimensional vectors from output '${this.outputName}', found ${got}`, { data: { expected: dim, found: got, where } });
      }
      for (let j = 0; j < rows.length; j++) out.set(vectors.subarray(j * dim, (j + 1) * dim), rows[j]! * dim);
      done += rows.length;
      opts.onProgress?.(done, n);
    }
    return out;
  }

  /** One padded batch through the graph; returns the pooled (and normalised) vectors in batch order. */
  async #run(batch: number[][]): Promise<{ vectors: Float32Array; dim: number }> {
    const b = batch.length;
    const t = Math.max(...batch.map((r) => r.length));
    const mask = new Uint8Array(b * t);
    const feeds: Record<string, Tensor> = {};
    const padId = this.tokenizer.padId;
    for (const { name, type } of this.#inputs) {
      const data = type === "int64" ? new BigInt64Array(b * t) : new Int32Array(b * t);
      const put = (k: number, v: number) => {
        if (type === "int64") (data as BigInt64Array)[k] = BigInt(v);
        else (data as Int32Array)[k] = v;
      };
      for (let r = 0; r < b; r++) {
        const row = batch[r]!;
        for (let i = 0; i < t; i++) {
          const k = r * t + i;
          const real = i < row.length;
          mask[k] = real ? 1 : 0;
          if (name === "input_ids") put(k, real ? row[i]! : padId);
          else if (name === "attention_mask") put(k, real ? 1 : 0);
          else if (name === "position_ids") put(k, i);
          // token_type_ids: a single text is segment 0 everywhere.
        }
      }
      feeds[name] = new this.#ort.Tensor(type, data, [b, t]);
    }
    const running = this.#session.run(feeds, [this.outputName]);
    this.#inflight = running.catch(() => undefined);
    const result = await running;
    const tensor = result[this.outputName]!;
    try {
      if (tensor.type !== "float32") {
        throw new LatentflowError("E_ONNX_OUTPUT", `output '${this.outputName}': expected float32 values, found ${tensor.type}`, { data: { expected: "float32", found: tensor.type, where: this.modelDir.modelPath } });
      }
      const data = tensor.data as Float32Array;
      const dims = tensor.dims;
      const dim = dims[dims.length - 1]!;
      const vectors = new Float32Array(b * dim);
      for (let r = 0; r < b; r++) {
        const v = vectors.subarray(r * dim, (r + 1) * dim);
        if (dims.length === 3 && this.pooling !== "model") poolRow(data, r * t * dim, t, dim, mask, r * t, this.pooling, v);
        else if (dims.length === 2) v.set(data.subarray(r * dim, (r + 1) * dim));
        else {
          throw new LatentflowError("E_ONNX_OUTPUT", `output '${this.outputName}': expected [batch, tokens, dim] or [batch, dim], found [${dims.join(", ")}]`, {
            data: { expected: "rank 3 or 2", found: dims, where: this.modelDir.modelPath },
          });
        }
        if (this.normalize) normalizeInPlace(v);
      }
      return { vectors, dim };
    } finally {
      for (const v of Object.values(feeds)) v.dispose();
      tensor.dispose();
    }
  }

  /** Releases the ONNX Runtime session; idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#inflight;
    await this.#session.release();
  }
}
