import { LatentflowError } from "@latentflow/core";
import { Tokenizer } from "@huggingface/tokenizers";

/**
 * A Hugging Face tokenizer.json (WordPiece, BPE, Unigram) with the truncation the tokenizers library
 * applies and the JavaScript port does not: the text's tokens are cut so that, with the special tokens
 * the post-processor adds ([CLS] … [SEP], <s> … </s>), a sequence holds at most `maxLength` ids.
 */
export class SentenceTokenizer {
  readonly maxLength: number;
  /** Id written into padded positions. */
  readonly padId: number;
  /** Special-token ids the post-processor puts before and after a single text. */
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  readonly #tok: Tokenizer;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, maxLength: number, where: string) {
    try {
      this.#tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new LatentflowError("E_MODEL_CONFIG", `${where}: expected a tokenizer.json the tokenizers library can load, found an error: ${(e as Error).message}`, {
        cause: e,
        data: { expected: "a Hugging Face tokenizers JSON (WordPiece, BPE or Unigram model)", found: (e as Error).message, where },
      });
    }
    // The post-processor's template is the same for every single text, so one probe finds it.
    const probe = "hello world";
    const full = this.#tok.encode(probe).ids;
    const bare = this.#tok.encode(probe, { add_special_tokens: false }).ids;
    const at = findRun(full, bare);
    if (at < 0) {
      throw new LatentflowError("E_MODEL_CONFIG", `${where}: expected the post-processor to wrap a text's tokens in special tokens, found ${JSON.stringify(full)} around ${JSON.stringify(bare)}`, {
        data: { expected: "special tokens before and after the text's tokens", found: full, where },
      });
    }
    this.prefix = full.slice(0, at);
    this.suffix = full.slice(at + bare.length);
    if (maxLength <= this.prefix.length + this.suffix.length) {
      throw new LatentflowError("E_PARAM", `maxLength ${maxLength} leaves no room for text beside the ${this.prefix.length + this.suffix.length} special tokens`, {
        data: { expected: `maxLength > ${this.prefix.length + this.suffix.length}`, found: maxLength, where },
      });
    }
    this.maxLength = maxLength;
    this.padId = padIdOf(this.#tok, tokenizerJson, tokenizerConfig);
  }

  /** Token ids of one text with its special tokens, at most maxLength of them. */
  encode(text: string): number[] {
    const ids = this.#tok.encode(text, { add_special_tokens: false }).ids;
    const room = this.maxLength - this.prefix.length - this.suffix.length;
    return [...this.prefix, ...(ids.length > room ? ids.slice(0, room) : ids), ...this.suffix];
  }

  /** Token strings of ids (for inspection). */
  tokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#tok.id_to_token(id) ?? `<${id}>`);
  }

  /** Id of a token, or undefined when it is not in the vocabulary. */
  idOf(token: string): number | undefined {
    return this.#tok.token_to_id(token);
  }
}

function findRun(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

function padIdOf(tok: Tokenizer, json: Record<string, unknown>, config: Record<string, unknown>): number {
  const padding = json.padding as { pad_id?: unknown } | null | undefined;
  if (typeof padding?.pad_id === "number") return padding.pad_id;
  for (const t of [tokenText(config.pad_token), "[PAD]", "<pad>"]) {
    const id = t === undefined ? undefined : tok.token_to_id(t);
    if (id !== undefined) return id;
  }
  // Padded positions are masked out of the attention and the pooling, so any id does.
  return 0;
}
