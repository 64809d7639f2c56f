import { definePlugin } from "@latentflow/core";
import { onnxStep } from "./onnx/step.js";
import { evaluateStep } from "./eval/step.js";
import { gloveStep } from "./glove/step.js";
import { lsaStep } from "./lsa/step.js";
import { tfidfStep } from "./tfidf/step.js";
import { neighborTextsStep } from "./neighbor-texts/step.js";
import { useStep } from "./use/step.js";
import { word2vecStep } from "./word2vec/step.js";
import { VERSION } from "./version.js";

/** The `encoders-text` plugin: `uses: encoders-text/use | onnx | glove | word2vec | tfidf | lsa | evaluate`. */
export const plugin = definePlugin({
  name: "encoders-text",
  version: VERSION,
  description: "Sentence and word encoders (USE lite, ONNX sentence-transformers, GloVe, word2vec), TF-IDF/LSA, and word-vector evaluation.",
  steps: [onnxStep, gloveStep, evaluateStep, useStep, neighborTextsStep, word2vecStep, tfidfStep, lsaStep],
});
