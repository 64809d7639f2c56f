export { describeArtifactStoreContract, type ArtifactStoreHarness } from "./artifact-store-suite.js";
export { describeExecutorContract, type ExecutorHarness } from "./executor-suite.js";
export { describeReducerContract, makeClusterSet, makeClusterSpace, type ReducerHarness } from "./reducer-suite.js";
export { describeIndexerContract, type IndexerHarness } from "./indexer-suite.js";
export { contractPlugin } from "./test-plugin.js";
export {
  ENCODER_SUITE_TEXTS,
  ENCODER_SUITE_UNICODE,
  describeEncoderContract,
  describeTextEncoderContract,
  type EncoderHarness,
  type RefusedInput,
  type TextEncoderHarness,
} from "./encoder-suite.js";
export { describeGeneratorContract, type GeneratorHarness } from "./generator-suite.js";
export { describeAlignerContract, type AlignerHarness } from "./aligner-suite.js";
