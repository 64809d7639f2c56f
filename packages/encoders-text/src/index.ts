// Public API of @latentflow/encoders-text.
export { assertTexts, textSpace, type EncodeOptions, type TextEncoder } from "./encoder.js";
export { textsFromRecords, type TextRows } from "./records.js";
export { WordVectors, type WordVectorsInit } from "./word-vectors/word-vectors.js";
export { readModelDir, type ModelDir, type OnnxPooling } from "./onnx/model-dir.js";
export { OnnxSentenceEncoder, type OnnxSentenceEncoderOptions } from "./onnx/onnx-encoder.js";
export { onnxStep } from "./onnx/step.js";
export { SentenceTokenizer } from "./onnx/tokenizer.js";
export { plugin } from "./plugin.js";
export { VERSION } from "./version.js";
