import { definePlugin } from "../plugin.js";
import { VERSION } from "../version.js";
import { readIdxStep } from "./read-idx.js";
import { readCsvStep, readJsonlStep } from "./read-records.js";
import { accuracyStep, knnClassifyStep, knnStep } from "./knn.js";
import { loadModelStep, loadVectorsStep } from "./load-artifact.js";
import { readNpyStep, readVectorsStep } from "./read-arrays.js";
import { readFilesStep, readIdxItemsStep, readItemsStep } from "./read-items.js";

/** The `core` plugin: generic IO and exact-kNN steps; always loaded. */
export const corePlugin = definePlugin({
  name: "core",
  version: VERSION,
  description: "Generic IO (IDX, NPY, vector sets, JSONL, CSV; folders, tables and IDX as items), artifacts of earlier runs, and exact k-nearest-neighbour steps.",
  steps: [readIdxStep, readIdxItemsStep, readFilesStep, readItemsStep, readNpyStep, readVectorsStep, readJsonlStep, readCsvStep, knnStep, knnClassifyStep, accuracyStep, loadModelStep, loadVectorsStep],
});
