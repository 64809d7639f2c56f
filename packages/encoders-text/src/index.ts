// Public API of @latentflow/encoders-text.
export { assertTexts, textSpace, type EncodeOptions, type TextEncoder } from "./encoder.js";
export { textsFromRecords, type TextRows } from "./records.js";
export { WordVectors, type WordVectorsInit } from "./word-vectors/word-vectors.js";
export { plugin } from "./plugin.js";
export { VERSION } from "./version.js";
