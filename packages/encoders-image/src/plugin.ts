import { definePlugin } from "@latentflow/core";
import { decodeStep } from "./decode/step.js";
import { inceptionStep, mobilenetStep } from "./nsfwjs/step.js";
import { metricHeadStep } from "./metric-head/step.js";
import { onnxStep } from "./onnx/step.js";
import { thumbnailsStep } from "./thumbnails/step.js";
import { VERSION } from "./version.js";

/** The `encoders-image` plugin: `uses: encoders-image/decode | mobilenet | inception | onnx | thumbnails | metric-head`. */
export const plugin = definePlugin({
  name: "encoders-image",
  version: VERSION,
  description: "Image decoding (sharp), pretrained MobileNetV2 and InceptionV3 features from nsfwjs, your own ONNX image models, thumbnails, a trainable metric head.",
  steps: [decodeStep, mobilenetStep, inceptionStep, onnxStep, thumbnailsStep, metricHeadStep],
});
