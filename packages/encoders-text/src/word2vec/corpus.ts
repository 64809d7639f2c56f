import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { LatentflowError } from "@latentflow/core";

/**
 * A re-readable stream of sentences (raw text, one sentence per item). The trainer reads it once to
 * count the vocabulary and once per epoch to train, so a corpus never needs to fit in memory.
 */
export interface Corpus {
  /** Where the sentences come from, for messages. */
  readonly where: string;
  /** A fresh pass over the sentences, in order. */
  sentences(signal?: AbortSignal): AsyncIterable<string>;
}

/** Options of the file corpora. */
export interface FileCorpusOptions {
  /** Bytes read at a time (default 1 MiB); lines may span reads. */
  bufferSize?: number;
}

async function assertFile(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile()) {
    throw new LatentflowError("E_CORPUS", `word2vec corpus: expected a readable file at '${path}', found ${s ? "a directory" : "nothing"}`, {
      hint: "give the path of a text file (one sentence per line) or a JSONL file",
      data: { expected: "a file", found: s ? "a directory" : "no such file", where: path },
    });
  }
}

async function* lines(path: string, bufferSize: number, signal?: AbortSignal): AsyncGenerator<{ line: string; n: number }> {
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: bufferSize });
  let rest = "";
  let n = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      if (signal?.aborted) throw new LatentflowError("E_CANCELLED", `word2vec corpus ${path}: cancelled`);
      let text = rest + chunk;
      let start = 0;
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", start)) {
        n++;
        yield { line: text.charCodeAt(i - 1) === 13 ? text.slice(start, i - 1) : text.slice(start, i), n };
        start = i + 1;
      }
      rest = text.slice(start);
      text = "";
    }
    if (rest !== "") yield { line: rest.endsWith("\r") ? rest.slice(0, -1) : rest, n: n + 1 };
  } finally {
    stream.destroy();
  }
}

/** A text file with one sentence per line (UTF-8), read as a stream. */
export function textFileCorpus(path: string, opts: FileCorpusOptions = {}): Corpus {
  const bufferSize = opts.bufferSize ?? 1 << 20;
  return {
    where: path,
    async *sentences(signal) {
      await assertFile(path);
      for await (const { line } of lines(path, bufferSize, signal)) yield line;
    },
  };
}

/** A JSON Lines file whose records hold one sentence (or paragraph) in `field`; blank lines are skipped. */
export function jsonlCorpus(path: string, field: string, opts: FileCorpusOptions = {}): Corpus {
  const bufferSize = opts.bufferSize ?? 1 << 20;
  return {
    where: `${path} (field '${field}')`,
    async *sentences(signal) {
      await assertFile(path);
      for await (const { line, n } of lines(path, bufferSize, signal)) {
        if (line.trim() === "") continue;
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch (err) {
          throw new LatentflowError("E_CORPUS", `word2vec corpus ${path}:${n}: expected a JSON object, found invalid JSON (${(err as Error).message})`, {
            data: { expected: "a JSON object per line", found: line.slice(0, 80), where: `${path}:${n}` },
          });
        }
        const v = rec !== null && typeof rec === "object" ? (rec as Record<string, unknown>)[field] : undefined;
        if (typeof v !== "string") {
          const found = v === undefined ? `no field '${field}'` : v === null ? "null" : typeof v;
          throw new LatentflowError("E_CORPUS", `word2vec corpus ${path}:${n}: expected a string in field '${field}', found ${found}`, {
            hint: "set `field` to the record field that holds the text",
            data: { expected: `a string in '${field}'`, found, where: `${path}:${n}` },
          });
        }
        yield v;
      }
    },
  };
}

/** Sentences held in memory (an array, or anything iterable more than once). */
export function textsCorpus(texts: Iterable<string>, where = "texts"): Corpus {
  return {
    where,
    async *sentences() {
      let i = 0;
      for (const t of texts) {
        if (typeof t !== "string") {
          throw new LatentflowError("E_CORPUS", `word2vec corpus ${where}: expected sentence ${i} to be a string, found ${t === null ? "null" : typeof t}`, {
            data: { expected: "string", found: t === null ? "null" : typeof t, where: `${where}[${i}]` },
          });
        }
        i++;
        yield t;
      }
    },
  };
}
