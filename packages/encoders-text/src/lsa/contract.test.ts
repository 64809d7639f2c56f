import { describeTextEncoderContract } from "@latentflow/contract-tests";
import { brown } from "../test/corpora.js";
import { LsaEncoder } from "./lsa.js";

// One 100-d LSA of the Brown corpus per harness: each create() fits anew with the same seed, so the
// suite's "deterministic across instances" check covers the seeded randomized SVD too.
const texts = brown().map((d) => d.text);

describeTextEncoderContract({ name: "LsaEncoder (Brown, 100-d)", create: () => LsaEncoder.fit(texts, { components: 100, tfidf: { stopWords: "english", sublinearTf: true, minDf: 2 } }) });
