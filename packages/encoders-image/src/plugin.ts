import { definePlugin } from "@latentflow/core";
import { decodeStep } from "./decode/step.js";
import { inceptionStep, mobilenetStep } from "./nsfwjs/step.js";
import { thumbnailsStep } from "./thumbnails/step.js";
import { VERSION } from "./version.js";

/** The `encoders-image` plugin: `uses: encoders-image/decode | mobilenet | inception | thumbnails`. */
export const plugin = definePlugin({
  name: "encoders-image",
  version: VERSION,
  description: "Image decoding (sharp), pretrained MobileNetV2 and InceptionV3 features from nsfwjs, thumbnails.",
  steps: [decodeStep, mobilenetStep, inceptionStep, thumbnailsStep],
});
