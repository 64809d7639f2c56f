import { definePlugin } from "@latentflow/core";
import { evaluateStep } from "./evaluate/step.js";
import { exactStep } from "./exact/step.js";
import { hnswStep } from "./hnsw/step.js";
import { queryStep } from "./query/step.js";
import { VERSION } from "./version.js";

/** The `indexers` plugin: build exact and HNSW indexes, query them, measure them. */
export const plugin = definePlugin({
  name: "indexers",
  version: VERSION,
  description: "Exact and HNSW vector indexes: build, query (with metadata filters), evaluate recall@k and QPS.",
  steps: [exactStep, hnswStep, queryStep, evaluateStep],
});
