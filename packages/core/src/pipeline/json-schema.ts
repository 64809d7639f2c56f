import { z } from "zod";
import type { PluginRegistry, PortsSpec } from "../plugin.js";

/** Emits a step's params schema as JSON Schema (draft 2020-12). */
export function paramsJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    // inputFile() metadata is for the engine's pre-run check, not a JSON Schema keyword.
    override: (ctx) => {
      delete (ctx.jsonSchema as Record<string, unknown>).inputFile;
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/**
 * A JSON Schema for whole pipeline files, built from the installed plugins' params, so editors
 * (YAML language server: `# yaml-language-server: $schema=…`) autocomplete and check `with:` per step.
 */
export function pipelineJsonSchema(registry: PluginRegistry): Record<string, unknown> {
  const uses = registry.stepNames();
  const perStep = registry.list().flatMap((p) =>
    p.steps.map((s) => ({
      if: { properties: { uses: { const: `${p.name}/${s.name}` } }, required: ["uses"] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable
      then: {
        properties: {
          with: paramsJsonSchema(s.params),
          in: {
            type: "object",
            additionalProperties: false,
            properties: Object.fromEntries(Object.entries(s.inputs as PortsSpec).map(([k, v]) => [k, { type: "string", description: `${v.type}${v.description ? ` — ${v.description}` : ""}` }])),
          },
        },
      },
    })),
  );
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://latentflow.dev/schema/pipeline.json",
    title: "Latentflow pipeline",
    type: "object",
    additionalProperties: false,
    required: ["version", "steps"],
    properties: {
      version: { const: 1 },
      name: { type: "string" },
      description: { type: "string" },
      plugins: { type: "array", items: { type: "string", pattern: "^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$" } },
      seed: { type: ["string", "integer"] },
      steps: {
        type: "object",
        propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_-]*$" },
        additionalProperties: {
          type: "object",
          additionalProperties: false,
          required: ["uses"],
          properties: {
            uses: { enum: uses },
            description: { type: "string" },
            with: { type: "object" },
            in: { type: "object", additionalProperties: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$" } },
            shard: { type: "object", additionalProperties: false, required: ["size"], properties: { size: { type: "integer", minimum: 1 } } },
            retries: { type: "integer", minimum: 0, maximum: 100 },
            timeout: { oneOf: [{ type: "number", exclusiveMinimum: 0 }, { type: "string", pattern: "^\\d+(\\.\\d+)?\\s*(ms|s|m|h)$" }] },
            onError: { enum: ["fail", "skip"] },
          },
          allOf: perStep,
        },
      },
    },
  };
}
