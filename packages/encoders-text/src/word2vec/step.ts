import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { LatentflowError, createVectorSet, defineStep, inputFile } from "@latentflow/core";
import { z } from "zod";
import { textsFromRecords, type TextRows } from "../records.js";
import { WordVectorsEncoder } from "../word-vectors/encoder.js";
import { tokenIndices, wordTokens } from "../word-vectors/tokenize.js";
import { jsonlCorpus, textFileCorpus, textsCorpus, type Corpus } from "./corpus.js";
import { trainWord2Vec } from "./word2vec.js";

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * `encoders-text/word2vec`: trains word2vec on the input records' texts or on a corpus file (text, one
 * sentence per line, or JSONL). Outputs the word table (id = word) and the model; `vectors` are the SIF
 * sentence vectors of the records trained on, or the word table when trained on a file.
 */
export const word2vecStep = defineStep({
  name: "word2vec",
  description:
    "Trains word2vec (CBOW or skip-gram with negative sampling, gensim's defaults) on the records' texts or on a corpus file streamed from disk; outputs one vector per word, the word table as a model and, for records, their SIF sentence vectors.",
  inputs: { records: { type: "records", optional: true, description: "records whose `field` holds a sentence or passage; or leave unconnected and set `corpus`" } },
  outputs: {
    vectors: { type: "vectors", description: "with records: one SIF vector per record (records kept as meta); with a corpus file: the word table" },
    words: { type: "vectors", description: "one vector per vocabulary word, most frequent first (id = the word; meta: word, rank)" },
    model: { type: "model", description: "the word table with corpus counts (kind encoders-text/word-vectors): WordVectors.load(artifact)" },
  },
  params: z.strictObject({
    corpus: inputFile(z.string().min(1)).optional().describe("corpus file (one sentence per line, or JSONL with `field`), streamed: it need not fit in memory"),
    format: z.enum(["auto", "text", "jsonl"]).default("auto").describe("corpus file format; auto: .jsonl/.ndjson are JSONL"),
    field: z.string().min(1).default("text").describe("record / JSONL field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
    a: z.number().positive().default(1e-3).describe("SIF smoothing a in a / (a + p(w)) of the records' sentence vectors"),
    model: z.enum(["cbow", "skipgram"]).default("cbow"),
    vectorSize: z.number().int().positive().max(4096).default(100),
    window: z.number().int().positive().max(100).default(5),
    minCount: z.number().int().positive().default(5),
    negative: z.number().int().positive().max(100).default(5),
    sample: z.number().min(0).lt(1).default(1e-3).describe("frequent-word subsampling threshold (0: off)"),
    epochs: z.number().int().positive().max(10_000).default(5),
    alpha: z.number().positive().default(0.025),
    minAlpha: z.number().min(0).default(0.0001),
    seed: z.union([z.string(), z.number()]).optional().describe("seed of the initial vectors and the sampling; default: the run's seed for this step (seed: in the pipeline and the step id)"),
    threads: z.number().int().positive().max(256).default(1).describe("training threads: 1 (default) gives the same vectors on any machine; more train lock-free (as word2vec.c and gensim), faster and not reproducible, and the space says so (producer params threads, deterministic: false)"),
  }),
  resources: { cpuBound: true },
  async fingerprint(p, env) {
    return p.corpus ? sha256File(env.resolvePath(p.corpus)) : "";
  },
  async run(ctx, { records }, p) {
    let corpus: Corpus;
    let rows: TextRows | undefined;
    if (records && p.corpus) {
      throw new LatentflowError("E_PARAM", "encoders-text/word2vec: expected either a records input or a `corpus` file, found both", {
        hint: "train on one of them: remove the input or the corpus param",
        data: { expected: "records or corpus", found: "both", where: "encoders-text/word2vec" },
      });
    }
    if (records) {
      rows = textsFromRecords(ctx, records, p.field, p.idField);
      corpus = textsCorpus(rows.texts, "records");
    } else if (p.corpus) {
      const path = ctx.resolvePath(p.corpus);
      const jsonl = p.format === "jsonl" || (p.format === "auto" && /\.(jsonl|ndjson)$/i.test(path));
      corpus = jsonl ? jsonlCorpus(path, p.field) : textFileCorpus(path);
    } else {
      throw new LatentflowError("E_PARAM", "encoders-text/word2vec: expected a records input or a `corpus` file to train on, found neither", {
        hint: "connect a records input (in: { records: … }) or set with: { corpus: path/to/sentences.txt }",
        data: { expected: "records or corpus", found: "neither", where: "encoders-text/word2vec" },
      });
    }
    const { wordVectors, stats } = await trainWord2Vec(
      corpus,
      {
        model: p.model, vectorSize: p.vectorSize, window: p.window, minCount: p.minCount, negative: p.negative, sample: p.sample,
        epochs: p.epochs, alpha: p.alpha, minAlpha: p.minAlpha, seed: p.seed, ...(p.threads ? { threads: p.threads } : {}),
      },
      { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) },
    );
    ctx.log.info("word2vec trained", { words: wordVectors.size, ...stats, effectiveWordsPerSecond: Math.round(stats.effectiveWords / stats.trainSeconds) });
    const words = wordVectors.toVectorSet();
    const model = wordVectors.save();
    if (!rows) return { vectors: words, words, model };

    // Sentence vectors of the records trained on; a text none of whose words made the vocabulary
    // (all rarer than minCount) goes through onError.
    const keep: number[] = [];
    for (let i = 0; i < rows.texts.length; i++) {
      if (tokenIndices(wordTokens(rows.texts[i]!), (w) => wordVectors.indexOf(w)).length > 0) keep.push(i);
      else {
        const id = rows.ids[i]!;
        ctx.itemFailed(
          { index: rows.indices[i]!, id },
          new LatentflowError("E_OOV", `record id ${id}: expected a text with at least one word of the trained vocabulary (minCount ${p.minCount}), found none in ${JSON.stringify(rows.texts[i]!.slice(0, 80))}`, {
            hint: "lower minCount, or onError: skip leaves such records out",
            data: { id, expected: "at least one vocabulary word", found: rows.texts[i]!.slice(0, 200), where: `record id ${id}` },
          }),
        );
      }
    }
    const enc = new WordVectorsEncoder(wordVectors, { a: p.a, normalize: true });
    const data = await enc.encode(keep.map((i) => rows.texts[i]!), { signal: ctx.signal });
    await enc.dispose();
    const vectors = createVectorSet({ space: enc.space, data, ids: keep.map((i) => rows.ids[i]!), meta: keep.map((i) => rows.meta[i]!) });
    return { vectors, words, model };
  },
});
