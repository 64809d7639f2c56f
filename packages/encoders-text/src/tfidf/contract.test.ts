import { describeTextEncoderContract } from "@latentflow/contract-tests";
import { brown } from "../test/corpora.js";
import { TfidfEncoder } from "./tfidf-encoder.js";

// Fitted on the Brown corpus (500 documents), 4096 most frequent terms: every suite text has known words.
const texts = brown().map((d) => d.text);

describeTextEncoderContract({ name: "TfidfEncoder (Brown, 4096 terms, l2)", create: async () => TfidfEncoder.fit(texts, { maxFeatures: 4096 }) });
describeTextEncoderContract({ name: "TfidfEncoder (Brown, words + bigrams, English stop words, sublinear tf, no norm)", create: async () => TfidfEncoder.fit(texts, { maxFeatures: 8192, ngramRange: [1, 2], stopWords: "english", sublinearTf: true, norm: "none" }) });
