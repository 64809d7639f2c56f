// A word is a run of letters or digits (marks allowed after the first), optionally joined to more such
// runs by an apostrophe or a hyphen: "don't", "mid-1990s", "rock'n'roll".
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:['’-][\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*/gu;
const PART = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

/**
 * Lower-cased word tokens of a text, the way word-vector vocabularies (GloVe, word2vec on lower-cased
 * text) spell them: Unicode NFC (so "é" typed either way is one letter), curly apostrophes as straight
 * ones, punctuation and symbols dropped.
 */
export function wordTokens(text: string): string[] {
  const t = text.normalize("NFC").toLowerCase();
  return t.match(WORD)?.map((w) => w.replace(/’/g, "'")) ?? [];
}

/**
 * Row indices of the words of a text: each token as a whole when the vocabulary has it, else its parts
 * around apostrophes and hyphens ("mother-in-law" → "mother", "in", "law" when only those are known).
 * Unknown words are left out.
 */
export function tokenIndices(tokens: readonly string[], indexOf: (w: string) => number): number[] {
  const out: number[] = [];
  for (const tok of tokens) {
    const i = indexOf(tok);
    if (i >= 0) {
      out.push(i);
      continue;
    }
    if (!/['-]/.test(tok)) continue;
    for (const part of tok.match(PART) ?? []) {
      const j = indexOf(part);
      if (j >= 0) out.push(j);
    }
  }
  return out;
}
