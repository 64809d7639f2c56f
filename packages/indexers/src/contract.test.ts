import { describeIndexerContract } from "@latentflow/contract-tests";
import { ExactIndex } from "./exact/exact.js";
import { HnswIndex } from "./hnsw/hnsw.js";

describeIndexerContract("ExactIndex", {
  create: (space) => new ExactIndex(space),
  load: (artifact) => ExactIndex.load(artifact),
  exact: true,
});

// Small capacity on purpose: the suite's adds must grow the graph by resizing.
describeIndexerContract("HnswIndex", {
  create: (space) => new HnswIndex(space, { capacity: 64 }),
  load: (artifact) => HnswIndex.load(artifact),
  exact: false,
  ef: 200,
});
