import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { assertModelKind, encodeRecords, tfidfOptions, tfidfParams } from "../tfidf/step.js";
import { LSA_KIND, LsaEncoder } from "./lsa.js";

/**
 * `encoders-text/lsa`: fit TF-IDF + truncated SVD on the records' texts and output their LSA vectors (U·Σ)
 * and the model; or, with a `model` input, place the records in that fitted model's space.
 */
export const lsaStep = defineStep({
  name: "lsa",
  description:
    "Latent semantic analysis: TF-IDF then a randomized truncated SVD (Halko et al.) of the sparse document × term matrix; fit on the records' texts, or apply a fitted model; outputs `components`-d vectors and the model.",
  inputs: {
    records: { type: "records", description: "records whose `field` holds a text" },
    model: { type: "model", optional: true, description: "a fitted encoders-text/lsa model: apply it instead of fitting" },
  },
  outputs: {
    vectors: { type: "vectors", description: "one LSA vector per record (records kept as meta): U·Σ when fitting, TF-IDF × Vᵀ when applying" },
    model: { type: "model", description: "the fitted model (kind encoders-text/lsa): LsaEncoder.load(artifact); the input model when applying" },
  },
  params: z.strictObject({
    field: z.string().min(1).default("text").describe("record field holding the text"),
    idField: z.string().min(1).default("id").describe("record field holding the id (else the row number)"),
    components: z.number().int().positive().max(4096).default(100).describe("dimensions of the LSA space (≤ number of documents)"),
    powerIterations: z.number().int().min(0).max(100).default(5).describe("power iterations of the randomized SVD"),
    oversampling: z.number().int().min(0).max(1000).default(10).describe("extra sampled directions of the randomized SVD"),
    seed: z.union([z.string(), z.number()]).optional().describe("seed of the randomized SVD; default: the run's seed for this step (seed: in the pipeline and the step id)"),
    tfidf: tfidfParams.prefault({}).describe("TF-IDF options (as encoders-text/tfidf)"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { records, model }, p) {
    let encoder: LsaEncoder | undefined;
    const vectors = await encodeRecords(ctx, records, p.field, p.idField, async (texts) => {
      if (model) {
        assertModelKind(model, LSA_KIND, "encoders-text/lsa");
        encoder = LsaEncoder.load(model);
        const data = await encoder.encode(texts, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, "texts") });
        return { data, space: encoder.space };
      }
      const { components, powerIterations, oversampling, seed } = p;
      encoder = await LsaEncoder.fit(texts, { components, powerIterations, oversampling, seed, tfidf: tfidfOptions(p.tfidf) }, { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) });
      const ratio = encoder.explainedVarianceRatio;
      ctx.log.info("lsa fitted", {
        documents: texts.length,
        terms: encoder.vectorizer.vocabulary.length,
        explainedVariance: ratio.reduce((a, b) => a + b, 0),
        singularValues: Array.from(encoder.singularValues.slice(0, 5)),
      });
      return { data: encoder.documentVectors!, space: encoder.space };
    });
    return { vectors, model: model ?? encoder!.save() };
  },
});
