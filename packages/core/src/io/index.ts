// Public API of @latentflow/core/io: readers and writers for the array, record and vector-set formats.
export {
  DTYPES,
  allocTypedArray,
  assertTensor,
  bytesPerElement,
  createTensor,
  dtypeOf,
  tensorSize,
  toFloat32,
  typedArrayConstructor,
  typedArrayFromBytes,
  type DType,
  type Tensor,
  type TypedArray,
} from "./tensor.js";
export { fileIsGzip, isGzip, readBoundedFile, type ReadBoundedOptions } from "./gzip.js";
export { encodeNpy, parseNpy, readNpyFile, writeNpyFile } from "./npy.js";
export { PARSE_IDX_MAX_BYTES, parseIdx, readIdxFile, readIdxItems, type IdxItems, type ReadIdxOptions } from "./idx.js";
export { DEFAULT_MAX_LINE_BYTES, encodeJsonl, parseJsonl, readJsonl, readLines, type ReadJsonlOptions, type TextLine } from "./jsonl.js";
export { DEFAULT_MAX_CSV_BYTES, MAX_CSV_BYTES, castCsvField, parseCsv, readCsvFile, readCsvText, type CsvOptions, type CsvValue } from "./csv.js";
export { encodeProjector, formatFloat32, writeProjector, type ProjectorFiles, type ProjectorOptions } from "./projector.js";
export {
  ROWS_FILE,
  SPACE_FILE,
  VECTORS_FILE,
  decodeVectorSetFiles,
  encodeVectorSetFiles,
  readVectorSet,
  writeVectorSet,
} from "./vector-set-fs.js";
export { DEFAULT_MAX_FILE_BYTES, listFiles, readFileItems, safeRelativePath, writeItemFiles, type ItemErrorHandler, type ListFilesOptions, type ReadFilesOptions, type WriteItemFilesOptions } from "./items-fs.js";
export { encodePng } from "../media/png.js";
export { encodeWav } from "../media/wav.js";
