// Public API of @latentflow/encoders-text.
export { assertTexts, textSpace, type EncodeOptions, type Encoder } from "./encoder.js";
export { textsFromRecords, type TextRows } from "./records.js";
export {
  WORD_VECTORS_KIND,
  WordVectors,
  type AnalogyOptions,
  type MostSimilarOptions,
  type OovPolicy,
  type SentenceVectorOptions,
  type WordNeighbour,
  type WordVectorsInit,
} from "./word-vectors/word-vectors.js";
export { readWordVectorsFile, writeWordVectorsFile } from "./word-vectors/binary-file.js";
export { WordVectorsEncoder, type WordVectorsEncoderOptions } from "./word-vectors/encoder.js";
export { tokenIndices, wordTokens } from "./word-vectors/tokenize.js";
export { defaultCacheDir, gloveCachePath, gloveSpace, loadGlove, type LoadGloveOptions } from "./glove/glove.js";
export { gloveStep } from "./glove/step.js";
export {
  evaluateAnalogies,
  evaluateWordPairs,
  type AnalogyEvalOptions,
  type AnalogyReport,
  type AnalogySectionResult,
  type WordPairsEvalOptions,
  type WordPairsReport,
} from "./eval/words.js";
export { evaluateStep } from "./eval/step.js";
export { readModelDir, type ModelDir, type OnnxPooling } from "./onnx/model-dir.js";
export { OnnxSentenceEncoder, type OnnxSentenceEncoderOptions } from "./onnx/onnx-encoder.js";
export { onnxStep } from "./onnx/step.js";
export { SentenceTokenizer } from "./onnx/tokenizer.js";
export {
  UniversalSentenceEncoder,
  USE_DEFAULT_BATCH_SIZE,
  USE_MAX_TOKENS,
  USE_SPACE_ID,
  useSpace,
  type UniversalSentenceEncoderOptions,
} from "./use/use.js";
export type { UseBackend } from "./use/graph.js";
export { UseTokenizer, type UseVocabulary } from "./use/tokenizer.js";
export { readUseVocabulary, USE_MODEL_PACKAGE } from "./use/model-files.js";
export { useStep } from "./use/step.js";
export { neighborTextsStep } from "./neighbor-texts/step.js";
export {
  trainWord2Vec,
  type TrainOptions as Word2VecTrainOptions,
  type Word2VecOptions,
  type Word2VecResult,
  type Word2VecStats,
} from "./word2vec/word2vec.js";
export { jsonlCorpus, textFileCorpus, textsCorpus, type Corpus, type FileCorpusOptions } from "./word2vec/corpus.js";
export { defaultTokenize, type Tokenizer } from "./word2vec/tokenize.js";
export {
  encodeWord2VecFormat,
  loadWord2VecFormat,
  saveWord2VecFormat,
  type LoadWord2VecOptions,
  type SaveWord2VecOptions,
} from "./word2vec/format.js";
export { word2vecStep } from "./word2vec/step.js";
export { Analyzer, SKLEARN_TOKEN_PATTERN, englishStopWords, type AnalyzerOptions } from "./tfidf/analyzer.js";
export { DENSE_MAX_VALUES, csrRow, csrToDense, csrTranspose, type CsrMatrix } from "./tfidf/csr.js";
export { TFIDF_KIND, TfidfVectorizer, type TfidfOptions, type TfidfRunOptions } from "./tfidf/tfidf.js";
export { TFIDF_DENSE_LIMIT, TfidfEncoder } from "./tfidf/tfidf-encoder.js";
export { tfidfStep } from "./tfidf/step.js";
export { TruncatedSvd, type SvdRunOptions, type TruncatedSvdOptions, type TruncatedSvdState } from "./lsa/truncated-svd.js";
export { LSA_KIND, LsaEncoder, type LsaOptions } from "./lsa/lsa.js";
export { lsaStep } from "./lsa/step.js";
export { plugin } from "./plugin.js";
export { VERSION } from "./version.js";
