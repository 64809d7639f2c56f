import { type LatentflowAggregateError, type LatentflowError, PluginRegistry, corePlugin, loadPipelineText } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { plugin } from "./plugin.js";

const registry = new PluginRegistry([corePlugin, plugin]);

/** The E_PARAM problems validation reports for `step` (its line is the last of the file). */
function paramErrors(step: string): LatentflowError[] {
  const text = `version: 1\nsteps:\n  x: { uses: core/read-idx, with: { images: x.idx } }\n  h: { uses: indexers/hnsw, in: { vectors: x } }\n  s: ${step}\n`;
  try {
    loadPipelineText(text, "/p/limits.yaml", registry, "/p");
    return [];
  } catch (e) {
    return (e as LatentflowAggregateError).errors.filter((x) => x.code === "E_PARAM");
  }
}

describe("bounds of the indexers' size-like params", () => {
  it("refuses sizes past their bound at validation, with the bound and the value, at the step's line", () => {
    for (const [step, name, max] of [
      ["{ uses: indexers/hnsw, in: { vectors: x }, with: { m: 100000000 } }", "m", 512],
      ["{ uses: indexers/hnsw, in: { vectors: x }, with: { efConstruction: 1e9 } }", "efConstruction", 100_000],
      ["{ uses: indexers/query, in: { index: h.index, queries: x }, with: { k: 1e9 } }", "k", 10_000],
      ["{ uses: indexers/query, in: { index: h.index, queries: x }, with: { ef: 1e9 } }", "ef", 100_000],
    ] as const) {
      const errors = paramErrors(step);
      expect(errors, step).toHaveLength(1);
      expect(errors[0]!.message).toContain(`param '${name}': expected number to be <=${max}, found`);
      expect(errors[0]!.location!.line).toBe(5);
    }
    expect(paramErrors("{ uses: indexers/hnsw, in: { vectors: x }, with: { m: 512, efConstruction: 100000 } }")).toEqual([]);
  });
});
