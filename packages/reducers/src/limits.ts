import { LatentflowError } from "@latentflow/core";

/**
 * Upper bounds of the reducers' size-like options, shared by the libraries and the step schemas: far above
 * any real use, far below what exhausts memory or runs for days (`umap dimensions: 1e8` on 10 points once
 * reached 3.9 GB). What depends on the data (dimensions below the number of points) is checked at fit.
 */
export const REDUCER_LIMITS = {
  /** Output dimensions of a UMAP map. */
  umapDimensions: 1000,
  /** Output dimensions of a t-SNE map (its exact gradient is O(n²·dimensions) per iteration). */
  tsneDimensions: 100,
  /** Neighbourhood sizes (nNeighbors, k). */
  neighbours: 1000,
  /** Epochs and iterations of an optimiser. */
  iterations: 100_000,
  /** Dimensions of an intermediate projection (UMAP's pcaDimensions). */
  projectionDimensions: 4096,
  /** Negative samples per positive edge. */
  negativeSampleRate: 100,
  /** Randomized SVD: extra directions and power iterations. */
  oversampling: 1000,
  powerIterations: 100,
  /** Autoencoder: code dimensions, the width of one layer, the number of hidden layers, the batch. */
  codeDimensions: 4096,
  layerWidth: 16_384,
  hiddenLayers: 32,
  batchSize: 65_536,
  /** Autoencoder: weights of encoder and decoder together, known once the input dimension is (400 MB of float32). */
  weights: 100_000_000,
  /** Worker threads. */
  threads: 256,
} as const;

/** Throws E_PARAM unless `value` ≤ `max`; `where` names the reducer ("umap"). */
export function checkAtMost(where: string, name: string, value: number, max: number, hint?: string): void {
  if (value > max) {
    throw new LatentflowError("E_PARAM", `${where}: expected ${name} ≤ ${max}, found ${value}`, {
      hint: hint ?? `${name} is bounded so that a typo cannot exhaust memory; ${max} is far above what ${where} needs`,
      data: { param: name, limit: max, found: value, where },
    });
  }
}
