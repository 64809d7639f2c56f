import { type LatentflowAggregateError, type LatentflowError, PluginRegistry, corePlugin, loadPipelineText } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { plugin } from "./plugin.js";

const registry = new PluginRegistry([corePlugin, plugin]);

/** The E_PARAM problems validation reports for `uses` with `params`, fed by core/read-jsonl. */
function paramErrors(uses: string, params: string): LatentflowError[] {
  const text = `version: 1\nsteps:\n  r: { uses: core/read-jsonl, with: { path: x.jsonl } }\n  e: { uses: ${uses}, in: { records: r }, with: ${params} }\n`;
  try {
    loadPipelineText(text, "/p/limits.yaml", registry, "/p");
    return [];
  } catch (e) {
    return (e as LatentflowAggregateError).errors.filter((x) => x.code === "E_PARAM");
  }
}

describe("bounds of the text encoders' size-like params", () => {
  it("refuses sizes past their bound at validation, with the bound and the value", () => {
    for (const [uses, params, name, max] of [
      ["encoders-text/word2vec", "{ vectorSize: 100000000 }", "vectorSize", 4096],
      ["encoders-text/word2vec", "{ window: 1e6 }", "window", 100],
      ["encoders-text/word2vec", "{ epochs: 1e9 }", "epochs", 10_000],
      ["encoders-text/tfidf", "{ ngramRange: [1, 1000000] }", "ngramRange.1", 10],
      ["encoders-text/lsa", "{ components: 1e8 }", "components", 4096],
      ["encoders-text/use", "{ batchSize: 1e9 }", "batchSize", 4096],
      ["encoders-text/onnx", "{ model: m, maxLength: 1e9 }", "maxLength", 32_768],
    ] as const) {
      const errors = paramErrors(uses, params).filter((e) => e.message.includes(`param '${name}'`));
      expect(errors, `${uses} ${params}`).toHaveLength(1);
      expect(errors[0]!.message).toContain(`expected number to be <=${max}, found`);
    }
  });
});
