import {
  LatentflowError,
  createRng,
  throwIfCancelled,
  type GenerateOptions,
  type Generator,
  type ModelArtifact,
  type SampleOptions,
  type Space,
  type VectorSet,
} from "@latentflow/core";
import { Pca } from "./pca.js";

/**
 * A fitted PCA as a generator: `decode` is its inverse transform (mean + y·components), `sample` draws
 * latents from the Gaussian the components describe — independent, with the variance each component
 * explains (unit variance when whitened): probabilistic PCA's prior without its isotropic noise term
 * (Tipping & Bishop 1999). Decoded samples are points of the space PCA was fitted on, e.g. MNIST pixels.
 */
export class PcaGenerator implements Generator {
  constructor(readonly pca: Pca) {
    if (!pca.outputSpace) throw new LatentflowError("E_NOT_FITTED", "PCA generator: needs a fitted PCA", { hint: "call fit(vectors) first, or Pca.load(artifact)" });
  }

  /** Reads a PCA model artifact (`reducers/pca`) as a generator. */
  static load(artifact: ModelArtifact): PcaGenerator {
    return new PcaGenerator(Pca.load(artifact));
  }

  get latentSpace(): Space {
    return this.pca.outputSpace!;
  }

  get outputSpace(): Space {
    return this.pca.inputSpace!;
  }

  async decode(latents: VectorSet, opts: GenerateOptions = {}): Promise<VectorSet> {
    throwIfCancelled(opts.signal, "PCA decode");
    return this.pca.inverseTransform(latents);
  }

  async sample(n: number, opts: SampleOptions): Promise<VectorSet> {
    if (!Number.isInteger(n) || n < 0) {
      throw new LatentflowError("E_PARAM", `PCA sample: expected a non-negative integer count, found ${n}`, { data: { expected: "integer ≥ 0", found: n } });
    }
    const scale = opts.scale ?? 1;
    if (!(scale >= 0) || !Number.isFinite(scale)) throw new LatentflowError("E_PARAM", `PCA sample: expected scale a finite number ≥ 0, found ${scale}`);
    throwIfCancelled(opts.signal, "PCA sample");
    const k = this.latentSpace.dim;
    const std = Float64Array.from(this.pca.explainedVariance, (v) => (this.pca.options.whiten ? 1 : Math.sqrt(v)) * scale);
    const rng = createRng(`pca-generator:${opts.seed}`);
    const data = new Float32Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) data[i * k + c] = rng.normal() * std[c]!;
    return { space: this.latentSpace, ids: Array.from({ length: n }, (_, i) => `sample-${i}`), data };
  }

  save(): ModelArtifact {
    return this.pca.save();
  }

  async dispose(): Promise<void> {
    await this.pca.dispose();
  }
}
