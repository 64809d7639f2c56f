// Writes data/emoji.jsonl: 300 Google emoji (30 from each of the 10 categories of emoji-datasource-google's
// emoji.json, in its sort order), one row each: id (short name), path of its 64 × 64 PNG, category, name.
//   node examples/emoji-features/make-index.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = dirname(createRequire(import.meta.url).resolve("emoji-datasource-google/package.json"));
const all = JSON.parse(readFileSync(join(pkg, "emoji.json"), "utf8")).filter((e) => e.has_img_google);
all.sort((a, b) => a.sort_order - b.sort_order);
const perCategory = new Map();
const rows = [];
for (const e of all) {
  const n = perCategory.get(e.category) ?? 0;
  if (n >= 30) continue;
  perCategory.set(e.category, n + 1);
  rows.push({ id: e.short_name, path: e.image, category: e.category, name: e.name.toLowerCase() });
}
writeFileSync(join(here, "data", "emoji.jsonl"), `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
console.log(`${rows.length} emoji in ${perCategory.size} categories → data/emoji.jsonl`);
