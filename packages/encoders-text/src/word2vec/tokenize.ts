/** Splits a text into tokens. */
export type Tokenizer = (text: string) => string[];

const TOKEN = /[a-z]+(?:'[a-z]+)*/g;
const MARKS = /\p{M}+/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
const ASCII = /^[\x00-\x7f]*$/;

/**
 * The default word tokeniser: Unicode NFKD with the combining marks it splits off removed, lower case,
 * then tokens `[a-z]+('[a-z]+)*`: accents drop off ("crème" → "creme"), digits and punctuation
 * separate tokens, and "don't" stays one token.
 */
export function defaultTokenize(text: string): string[] {
  // NFKD leaves ASCII unchanged; skipping it there saves most of the tokeniser's time on English.
  const t = ASCII.test(text) ? text.toLowerCase() : text.normalize("NFKD").replace(MARKS, "").toLowerCase();
  return t.match(TOKEN) ?? [];
}
