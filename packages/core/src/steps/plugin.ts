import { definePlugin } from "../plugin.js";
import { VERSION } from "../version.js";
import { readIdxStep } from "./read-idx.js";
import { readCsvStep, readJsonlStep } from "./read-records.js";
import { accuracyStep, knnClassifyStep, knnStep } from "./knn.js";

/** The `core` plugin: generic IO and exact-kNN steps; always loaded. */
export const corePlugin = definePlugin({
  name: "core",
  version: VERSION,
  description: "Generic IO (IDX, JSONL, CSV) and exact k-nearest-neighbour steps.",
  steps: [readIdxStep, readJsonlStep, readCsvStep, knnStep, knnClassifyStep, accuracyStep],
});
