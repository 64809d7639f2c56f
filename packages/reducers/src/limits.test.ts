import { type LatentflowAggregateError, LatentflowError, PluginRegistry, corePlugin, loadPipelineText } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { Autoencoder } from "./autoencoder/autoencoder.js";
import { REDUCER_LIMITS } from "./limits.js";
import { Pca } from "./pca/pca.js";
import { plugin } from "./plugin.js";
import { irisSet } from "./test/data.js";
import { Tsne } from "./tsne/tsne.js";
import { Umap } from "./umap/umap.js";

const registry = new PluginRegistry([corePlugin, plugin]);

/** The problems validation reports for one reducer step fed by core/read-idx. */
function validate(uses: string, params: string): LatentflowError[] {
  const text = `version: 1\nsteps:\n  x: { uses: core/read-idx, with: { images: x.idx } }\n  r: { uses: ${uses}, in: { vectors: x }, with: ${params} }\n`;
  try {
    loadPipelineText(text, "/p/limits.yaml", registry, "/p");
    return [];
  } catch (e) {
    return (e as LatentflowAggregateError).errors;
  }
}

function thrown(fn: () => unknown): LatentflowError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LatentflowError) return e;
    throw e;
  }
  throw new Error("nothing was thrown");
}

async function rejected(p: Promise<unknown>): Promise<LatentflowError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (e instanceof LatentflowError) return e;
  throw new Error(`expected a LatentflowError, found ${String(e)}`);
}

/** The first `n` iris rows as a vector set. */
function iris(n: number) {
  const all = irisSet();
  return { space: all.space, ids: all.ids.slice(0, n), data: all.data.slice(0, n * 4) };
}

describe("bounds of the reducers' size-like params", () => {
  it("validation refuses the sizes that once exhausted memory, naming the param, its bound and the value, at its line", () => {
    for (const [uses, params, name, max] of [
      ["reducers/umap", "{ dimensions: 100000000 }", "dimensions", REDUCER_LIMITS.umapDimensions],
      ["reducers/tsne", "{ dimensions: 1000000 }", "dimensions", REDUCER_LIMITS.tsneDimensions],
      ["reducers/autoencoder", "{ layers: [100000000] }", "layers.0", REDUCER_LIMITS.layerWidth],
      ["reducers/umap", "{ nEpochs: 1e9 }", "nEpochs", REDUCER_LIMITS.iterations],
      ["reducers/tsne", "{ nIter: 1e9 }", "nIter", REDUCER_LIMITS.iterations],
      ["reducers/pca", "{ components: 2, powerIterations: 1e6 }", "powerIterations", REDUCER_LIMITS.powerIterations],
      ["reducers/evaluate", "{ k: 1e7 }", "k", REDUCER_LIMITS.neighbours],
    ] as const) {
      const errors = validate(uses, params).filter((e) => e.code === "E_PARAM");
      expect(errors, `${uses} ${params}`).toHaveLength(1);
      expect(errors[0]!.message).toContain(`param '${name}': expected number to be <=${max}, found`);
      expect(errors[0]!.location).toMatchObject({ file: "/p/limits.yaml", line: 4 });
    }
    expect(validate("reducers/autoencoder", `{ layers: [${Array(REDUCER_LIMITS.hiddenLayers + 1).fill(8).join(", ")}] }`)[0]!.message).toContain(`param 'layers': expected array to have <=${REDUCER_LIMITS.hiddenLayers} items`);
    // At the bounds: accepted.
    expect(validate("reducers/umap", `{ dimensions: ${REDUCER_LIMITS.umapDimensions}, nEpochs: ${REDUCER_LIMITS.iterations} }`)).toEqual([]);
  });

  it("the libraries hold the same bounds for callers without a pipeline", () => {
    expect(thrown(() => new Umap({ dimensions: 1e8 }))).toMatchObject({ code: "E_PARAM", message: `umap: expected dimensions ≤ ${REDUCER_LIMITS.umapDimensions}, found 100000000` });
    expect(thrown(() => new Tsne({ dimensions: 1e6 }))).toMatchObject({ code: "E_PARAM", data: { param: "dimensions", limit: REDUCER_LIMITS.tsneDimensions } });
    expect(thrown(() => new Autoencoder({ layers: [1e8] }))).toMatchObject({ code: "E_PARAM", message: /a layer width ≤ 16384, found 100000000/ });
    expect(thrown(() => new Pca({ components: 2, oversampling: 1e9 }))).toMatchObject({ code: "E_PARAM", data: { param: "oversampling" } });
  });

  it("checks at fit what the data decides: map dimensions below the number of points, the autoencoder's weight count", async () => {
    const ten = iris(10);
    const u = await rejected(new Umap({ dimensions: 10, nNeighbors: 3 }).fit(ten));
    expect(u).toMatchObject({ code: "E_PARAM", message: "umap fit: expected dimensions below the number of points (10), found 10", data: { limit: 9 } });
    const t = await rejected(new Tsne({ dimensions: 12, perplexity: 3, method: "exact" }).fit(ten));
    expect(t).toMatchObject({ code: "E_PARAM", message: "reducers/tsne fit: expected dimensions below the number of points (10), found 12" });
    // 4-d input, two 16,384-wide layers: 2 × (5·16384 + 16385·16384 + 16385·2) ≈ 537 M weights.
    const a = await rejected(new Autoencoder({ layers: [16_384, 16_384], epochs: 1 }).fit(ten));
    expect(a.code).toBe("E_PARAM");
    expect(a.message).toMatch(/^autoencoder fit: expected the number of weights for 4-d input and layers \[16384, 16384\] ≤ 100000000, found 537\d{6}$/);
    expect(a.hint).toMatch(/narrow the layers/);
    // Within the bounds the same data fits: a 3-D UMAP of 10 points.
    const map = await new Umap({ dimensions: 3, nNeighbors: 3, nEpochs: 20 }).fitTransform(ten);
    expect(map.space.dim).toBe(3);
    expect(map.ids).toHaveLength(10);
  });
});
