import { LatentflowError, createVectorSet, defineStep, type ModelArtifact, type RowMeta, type StepContext, type VectorSet } from "@latentflow/core";
import { z } from "zod";
import { textsFromRecords } from "../records.js";
import { TfidfEncoder } from "./tfidf-encoder.js";
import { TFIDF_KIND, TfidfVectorizer, type TfidfOptions } from "./tfidf.js";

/** The TF-IDF params of encoders-text/tfidf (and of encoders-text/lsa's `tfidf`): scikit-learn's names, camel-cased. */
export const tfidfParams = z.strictObject({
  lowercase: z.boolean().default(true).describe("lower-case texts before tokenising"),
  tokenPattern: z.string().min(1).optional().describe("token regex (JavaScript syntax, flags gu; one capture group = the token). Default scikit-learn's (?u)\\b\\w\\w+\\b"),
  stopWords: z.union([z.literal("english"), z.array(z.string()), z.null()]).default(null).describe('"english" (stdlib\'s 301-word list), a list of words, or null'),
  ngramRange: z.tuple([z.number().int().min(1).max(10), z.number().int().min(1).max(10)]).default([1, 1]).describe("smallest and largest word n-gram, e.g. [1, 2] for words and word pairs"),
  minDf: z.number().min(0).default(1).describe("drop terms in fewer documents: integer ≥ 1 = count, [0, 1) = fraction"),
  maxDf: z.number().min(0).default(1).describe("drop terms in more documents: [0, 1] = fraction, integer ≥ 2 = count"),
  maxFeatures: z.number().int().positive().max(10_000_000).optional().describe("keep the N terms most frequent in the corpus"),
  binary: z.boolean().default(false).describe("tf ∈ {0, 1}"),
  useIdf: z.boolean().default(true),
  smoothIdf: z.boolean().default(true).describe("idf = ln((1 + n) / (1 + df)) + 1; else ln(n / df) + 1"),
  sublinearTf: z.boolean().default(false).describe("tf → 1 + ln(tf)"),
  norm: z.enum(["l2", "l1", "none"]).default("l2"),
});

/** zod output of {@link tfidfParams} as library options. */
export function tfidfOptions(p: z.output<typeof tfidfParams>): TfidfOptions {
  return { ...p, ...(p.maxFeatures === undefined ? { maxFeatures: null } : {}) };
}

/** Checks that an input model is of `kind`, for the apply mode of the text-model steps. */
export function assertModelKind(model: ModelArtifact, kind: string, step: string): void {
  if (model.kind !== kind) {
    throw new LatentflowError("E_ARTIFACT_KIND", `${step}: expected the 'model' input to be a '${kind}' model, found '${model.kind}'`, {
      hint: `connect the model output of an earlier ${step} step`,
      data: { expected: kind, found: model.kind, where: `${step} input 'model'` },
    });
  }
}

/** Texts of the records (failures through onError), encoded; vectors keep the records as meta. */
export async function encodeRecords(
  ctx: StepContext,
  records: readonly RowMeta[],
  field: string,
  idField: string,
  encode: (texts: string[]) => Promise<{ data: Float32Array; space: VectorSet["space"] }>,
): Promise<VectorSet> {
  const rows = textsFromRecords(ctx, records, field, idField);
  const { data, space } = await encode(rows.texts);
  return createVectorSet({ space, data, ids: rows.ids, meta: rows.meta });
}

/**
 * `encoders-text/tfidf`: fit TF-IDF on the records' texts and output their dense TF-IDF vectors and the
 * model; or, with a `model` input, apply that fitted model to the records. Dense vectors need a vocabulary
 * of at most 16,384 terms (set maxFeatures), else the step fails with E_TOO_WIDE: use encoders-text/lsa.
 */
export const tfidfStep = defineStep({
  name: "tfidf",
  description:
    "TF-IDF bag of words (scikit-learn's TfidfVectorizer): fit on the records' texts, or apply a fitted model; dense vectors (one dimension per term, at most 16,384 — use maxFeatures or encoders-text/lsa) and the model.",
  inputs: {
    records: { type: "records", description: "records whose `field` holds a text" },
    model: { type: "model", optional: true, description: "a fitted encoders-text/tfidf model: apply it instead of fitting" },
  },
  outputs: {
    vectors: { type: "vectors", description: "one TF-IDF vector per record (records kept as meta)" },
    model: { type: "model", description: "the fitted vectorizer (kind encoders-text/tfidf): TfidfVectorizer.load(artifact); the input model when applying" },
  },
  params: tfidfParams.extend({
    field: z.string().min(1).default("text").describe("record field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { records, model }, p) {
    const { field, idField, ...rest } = p;
    let encoder: TfidfEncoder | undefined;
    const vectors = await encodeRecords(ctx, records, field, idField, async (texts) => {
      if (model) {
        assertModelKind(model, TFIDF_KIND, "encoders-text/tfidf");
        encoder = TfidfEncoder.load(model);
      } else {
        const v = new TfidfVectorizer(tfidfOptions(rest)).fit(texts, { signal: ctx.signal });
        ctx.log.info("tfidf fitted", { documents: texts.length, terms: v.vocabulary.length });
        encoder = new TfidfEncoder(v);
      }
      const data = await encoder.encode(texts, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, "texts") });
      return { data, space: encoder.space };
    });
    return { vectors, model: model ?? encoder!.save() };
  },
});
