import { definePlugin } from "@latentflow/core";
import { decodeStep } from "./decode/step.js";
import { inceptionStep, mobilenetStep } from "./nsfwjs/step.js";
import { onnxStep } from "./onnx/step.js";
import { thumbnailsStep } from "./thumbnails/step.js";
import { VERSION } from "./version.js";

/** The `encoders-image` plugin: `uses: encoders-image/decode | mobilenet | inception | onnx | thumbnails`. */
export const plugin = definePlugin({
  name: "encoders-image",
  version: VERSION,
  description: "Image decoding (sharp), pretrained MobileNetV2 and InceptionV3 features from nsfwjs, your own ONNX image models, thumbnails.",
  steps: [decodeStep, mobilenetStep, inceptionStep, onnxStep, thumbnailsStep],
});
