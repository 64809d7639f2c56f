import { describe, expect, it } from "vitest";
import { tokenIndices, wordTokens } from "./tokenize.js";

describe("wordTokens", () => {
  it("lower-cases, keeps apostrophes and hyphens inside words, drops punctuation", () => {
    expect(wordTokens("Don’t STOP—the mid-1990s rock'n'roll, O'Brien!")).toEqual(["don't", "stop", "the", "mid-1990s", "rock'n'roll", "o'brien"]);
    expect(wordTokens("  ... 🚀🔥 ")).toEqual([]);
  });
  it("treats composed and decomposed accents alike", () => {
    expect(wordTokens("Café")).toEqual(wordTokens("Cafe\u0301"));
    expect(wordTokens("Café")).toEqual(["café"]);
  });
  it("falls back to the parts of an unknown compound", () => {
    const vocab = new Map([["mother", 0], ["in", 1], ["law", 2], ["e-mail", 3]]);
    const ix = (w: string) => vocab.get(w) ?? -1;
    expect(tokenIndices(["mother-in-law", "e-mail", "unknown"], ix)).toEqual([0, 1, 2, 3]);
  });
});
