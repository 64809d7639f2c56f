import { LatentflowError, type ModelArtifact } from "@latentflow/core";
import { ExactIndex } from "./exact/exact.js";
import { HnswIndex } from "./hnsw/hnsw.js";
import type { VectorIndex } from "@latentflow/core";

const LOADERS: Record<string, (a: ModelArtifact) => VectorIndex> = {
  [ExactIndex.kind]: (a) => ExactIndex.load(a),
  [HnswIndex.kind]: (a) => HnswIndex.load(a),
};

/** Loads any index artifact of this package, choosing the class by `artifact.kind`. */
export function loadIndex(artifact: ModelArtifact): VectorIndex {
  const load = LOADERS[artifact.kind];
  if (!load) {
    throw new LatentflowError("E_ARTIFACT_KIND", `expected an index artifact (${Object.keys(LOADERS).join(", ")}), found '${artifact.kind}'`, {
      hint: "connect the output of indexers/hnsw or indexers/exact (or core/load-model of one)",
      data: { expected: Object.keys(LOADERS), found: artifact.kind },
    });
  }
  return load(artifact);
}
