export { describeArtifactStoreContract, type ArtifactStoreHarness } from "./artifact-store-suite.js";
export { describeExecutorContract, type ExecutorHarness } from "./executor-suite.js";
export { describeReducerContract, type ReducerHarness, type ReducerUnderTest } from "./reducer-suite.js";
export { describeIndexerContract, type IndexUnderTest, type IndexerHarness } from "./indexer-suite.js";
export { contractPlugin } from "./test-plugin.js";
export { ENCODER_SUITE_TEXTS, ENCODER_SUITE_UNICODE, describeTextEncoderContract, type TextEncoderHarness, type TextEncoderUnderTest } from "./encoder-suite.js";
