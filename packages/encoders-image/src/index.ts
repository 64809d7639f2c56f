// Public API of @latentflow/encoders-image.
export { DEFAULT_BACKGROUND, DEFAULT_LIMIT_INPUT_PIXELS, decodeImage, rgbOf, toRgb, type DecodeOptions, type ImageInput, type RgbImage } from "./decode/decode.js";
export { decodeStep } from "./decode/step.js";
export {
  InceptionV3Features,
  MobileNetV2Features,
  NSFWJS_CLASSES,
  NSFWJS_DEFAULT_BATCH_SIZE,
  NsfwjsFeatures,
  type NsfwjsFeaturesOptions,
} from "./nsfwjs/features.js";
export { NSFWJS_MODELS, NSFWJS_PACKAGE, readNsfwjsModel, type LayersModelFiles, type NsfwjsModelName } from "./nsfwjs/model-files.js";
export { inceptionStep, mobilenetStep } from "./nsfwjs/step.js";
export { OnnxImageEncoder, onnxImageConfigSchema, type OnnxImageConfig, type OnnxImageEncoderOptions } from "./onnx/onnx-image.js";
export { onnxStep } from "./onnx/step.js";
export { makeThumbnail, type Thumbnail, type ThumbnailOptions } from "./thumbnails/thumbnail.js";
export { thumbnailsStep } from "./thumbnails/step.js";
export { METRIC_HEAD_KIND, MetricHead, type MetricHeadOptions } from "./metric-head/metric-head.js";
export { metricHeadStep } from "./metric-head/step.js";
export { plugin } from "./plugin.js";
export { VERSION } from "./version.js";
