import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z as zod, type z } from "zod";
import { LatentflowAggregateError, type LatentflowError } from "../errors.js";
import { PluginRegistry, defineStep, definePlugin } from "../plugin.js";
import { corePlugin } from "../steps/plugin.js";
import { pipelineJsonSchema } from "./json-schema.js";
import { PIPELINE_LIMITS, parsePipeline } from "./spec.js";
import { loadPipelineFile, loadPipelineText, planPipeline } from "./validate.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const registry = new PluginRegistry([corePlugin]);

function fixture(name: string): { file: string; text: string } {
  const file = join(dir, `${name}.yaml`);
  return { file, text: readFileSync(file, "utf8") };
}

/** Every problem `loadPipelineText` reports for a fixture, from its one throw. */
function problems(name: string): LatentflowError[] {
  const { file, text } = fixture(name);
  try {
    loadPipelineText(text, file, registry, dir);
  } catch (e) {
    expect(e).toBeInstanceOf(LatentflowAggregateError);
    const agg = e as LatentflowAggregateError;
    expect(agg.message).toBe(`${file}: ${agg.errors.length} problem${agg.errors.length === 1 ? "" : "s"}`);
    for (const x of agg.errors) expect(x.location?.file).toBe(file);
    return agg.errors;
  }
  throw new Error(`expected ${name}.yaml to be refused, it produced a plan`);
}

/** The text at a problem's position, so a failing assertion shows what the position points at. */
function tokenAt(name: string, e: LatentflowError): string {
  const line = fixture(name).text.split("\n")[e.location!.line - 1]!;
  return line.slice(e.location!.column - 1).split(/[\s,}\]]/)[0]!;
}

interface Expected {
  code: string;
  line: number;
  column: number;
  /** The token the position must point at (its first characters). */
  token: string;
  message: RegExp[];
  /** A did-you-mean or other hint the user needs; `null` when none is expected. */
  hint?: RegExp | null;
}

// Positions follow one rule: a bad value points at the value, an unknown name at the key that names
// it, an unresolvable `uses` at its value, an input reference at the reference, and something missing
// at the key of the mapping it belongs in (`with:`, `in:`), or the mapping itself when that is absent.
const cases: Record<string, Expected[]> = {
  "syntax-unclosed-bracket": [
    { code: "E_YAML_SYNTAX", line: 6, column: 11, token: "{", message: [/'\{' opened here is never closed/, /expected '\}'/, /found line 7/], hint: /closing '\}'/ },
  ],
  "syntax-bad-indentation": [
    { code: "E_YAML_SYNTAX", line: 8, column: 6, token: "labels:", message: [/same column/], hint: /indentation/ },
  ],
  "version-missing": [
    { code: "E_SPEC", line: 2, column: 1, token: "name:", message: [/expected 'version: 1'/, /found no version/], hint: /version 1/ },
  ],
  "version-wrong": [
    { code: "E_SPEC", line: 1, column: 10, token: "2", message: [/expected 'version: 1'/, /found 2/], hint: /version 1/ },
  ],
  "top-level-typo": [
    { code: "E_SPEC", line: 3, column: 1, token: "step:", message: [/unknown key 'step' in the top level/], hint: /did you mean 'steps'\?/ },
  ],
  "unknown-plugin": [
    { code: "E_UNKNOWN_PLUGIN", line: 8, column: 11, token: "encoders-img/mobilenet", message: [/step 'embed'/, /no plugin 'encoders-img' is loaded/], hint: /npm install @latentflow\/encoders-img.*loaded: core/ },
  ],
  "unknown-step": [
    { code: "E_UNKNOWN_STEP", line: 5, column: 11, token: "core/read-idxx", message: [/plugin 'core' has no step 'read-idxx'/], hint: /did you mean 'core\/read-idx'\?/ },
  ],
  "param-bad-type": [
    { code: "E_PARAM", line: 14, column: 10, token: '"one"', message: [/step 'classify' \(core\/knn-classify\)/, /param 'k': expected number, found "one"/], hint: /latentflow plugins core\/knn-classify/ },
  ],
  "param-missing": [
    { code: "E_PARAM", line: 6, column: 5, token: "with:", message: [/missing required param 'images' \(expected string\)/], hint: /add 'images: …' under 'with:'/ },
  ],
  "param-unknown": [
    { code: "E_PARAM", line: 8, column: 7, token: "limt:", message: [/unknown param 'limt'/], hint: /did you mean 'limit'\?/ },
  ],
  "input-unknown-port": [
    // Only the typo: "queries is not connected" would report the same mistake twice.
    { code: "E_UNKNOWN_INPUT", line: 14, column: 7, token: "querys:", message: [/\(core\/knn-classify\) has no input 'querys'/], hint: /did you mean 'queries'\?/ },
  ],
  "input-unknown-step": [
    { code: "E_UNKNOWN_INPUT", line: 12, column: 22, token: "trian", message: [/input 'reference' names step 'trian', which does not exist/], hint: /did you mean 'train'\?/ },
  ],
  "input-unknown-output": [
    { code: "E_UNKNOWN_INPUT", line: 12, column: 22, token: "train.vectorz", message: [/step 'train' \(core\/read-idx\) has no output 'vectorz'/], hint: /did you mean 'train\.vectors'\?/ },
  ],
  "port-type-mismatch": [
    { code: "E_PORT_TYPE_MISMATCH", line: 13, column: 33, token: "queries", message: [/input 'queries' expects vectors/, /'queries\.records' gives records/], hint: /output of type vectors/ },
  ],
  "input-missing": [
    { code: "E_MISSING_INPUT", line: 9, column: 5, token: "in:", message: [/step 'classify' \(core\/knn-classify\) needs input 'queries' \(vectors\), which is not connected/], hint: /add 'queries: <step>' under 'in:'/ },
  ],
  "duplicate-id": [
    { code: "E_DUPLICATE_ID", line: 7, column: 3, token: "train:", message: [/step id 'train' is used twice \(first at line 4\)/], hint: /unique id/ },
  ],
  cycle: [
    // No core step maps vectors to vectors, so each edge of a core cycle is also a type mismatch.
    { code: "E_PORT_TYPE_MISMATCH", line: 10, column: 33, token: "b", message: [/step 'a': input 'queries' expects vectors, but 'b\.neighbors' gives records/] },
    { code: "E_PORT_TYPE_MISMATCH", line: 13, column: 33, token: "a", message: [/step 'b': input 'queries' expects vectors, but 'a\.neighbors' gives records/] },
    { code: "E_CYCLE", line: 13, column: 33, token: "a", message: [/steps form a cycle: a → b → a/], hint: /break the loop/ },
  ],
  "cycle-self": [
    { code: "E_PORT_TYPE_MISMATCH", line: 9, column: 38, token: "classify", message: [/'classify\.predictions' gives records/] },
    { code: "E_CYCLE", line: 9, column: 38, token: "classify", message: [/steps form a cycle: classify → classify/], hint: /own output/ },
  ],
  "shard-not-shardable": [
    { code: "E_SHARD", line: 13, column: 5, token: "shard:", message: [/step 'score' \(core\/accuracy\) cannot be sharded/], hint: /remove 'shard:'/ },
  ],
  "shard-bad-size": [
    { code: "E_SHARD", line: 11, column: 13, token: "0", message: [/expected 'shard: \{ size: <positive integer> \}'/, /found \{"size":0\}/], hint: /items per shard/ },
  ],
  "step-options-bad": [
    { code: "E_SPEC", line: 7, column: 14, token: "ignore", message: [/step 'train': expected 'onError: fail' or 'onError: skip', found "ignore"/], hint: /'skip' leaves bad items out/ },
    { code: "E_SPEC", line: 11, column: 14, token: "5", message: [/step 'classify': expected 'timeout' like 30s/, /found "5 minutes"/], hint: /timeout: 90s/ },
    { code: "E_SPEC", line: 12, column: 14, token: "-1", message: [/step 'classify': expected 'retries' to be an integer from 0 to 100, found -1/], hint: /retries: 2/ },
  ],
  "plugins-path": [
    { code: "E_PLUGIN_NAME", line: 3, column: 11, token: "./evil.js", message: [/expected an npm package name in 'plugins', found "\.\/evil\.js"/], hint: /paths and URLs are refused/ },
  ],
  "many-problems": [
    { code: "E_PARAM", line: 9, column: 7, token: "limt:", message: [/unknown param 'limt'/], hint: /did you mean 'limit'\?/ },
    { code: "E_UNKNOWN_STEP", line: 11, column: 11, token: "core/read-idxx", message: [/no step 'read-idxx'/], hint: /did you mean 'core\/read-idx'\?/ },
    { code: "E_UNKNOWN_INPUT", line: 15, column: 22, token: "train.vectorz", message: [/has no output 'vectorz'/], hint: /did you mean 'train\.vectors'\?/ },
    { code: "E_PARAM", line: 16, column: 16, token: '"one"', message: [/param 'k': expected number, found "one"/] },
    { code: "E_SPEC", line: 17, column: 14, token: "ignore", message: [/found "ignore"/] },
    { code: "E_UNKNOWN_INPUT", line: 20, column: 24, token: "clasify", message: [/names step 'clasify', which does not exist/], hint: /did you mean 'classify'\?/ },
  ],
};

describe("pipeline validation on malformed files", () => {
  for (const [name, expected] of Object.entries(cases)) {
    it(`${name}.yaml: ${expected.map((e) => e.code).join(", ")}`, () => {
      const errors = problems(name);
      expect(errors.map((e) => e.code)).toEqual(expected.map((e) => e.code));
      errors.forEach((e, i) => {
        const want = expected[i]!;
        expect({ line: e.location!.line, column: e.location!.column, token: tokenAt(name, e) }, e.format()).toEqual({ line: want.line, column: want.column, token: want.token });
        for (const m of want.message) expect(e.message).toMatch(m);
        if (want.hint) expect(e.hint).toMatch(want.hint);
        if (want.hint === null) expect(e.hint).toBeUndefined();
      });
    });
  }

  it("reports every problem of a file in one throw, in file order, each formatted as file:line:column", () => {
    const { file } = fixture("many-problems");
    const errors = problems("many-problems");
    const lines = errors.map((e) => e.location!.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(errors[0]!.format()).toBe(`${file}:9:7: E_PARAM step 'train' (core/read-idx): unknown param 'limt'\n  hint: ${errors[0]!.hint}`);
  });

  it("keeps parsePipeline's contract: no spec when the file has structural errors", () => {
    const { file, text } = fixture("step-options-bad");
    const { spec, errors } = parsePipeline(text, file);
    expect(spec).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(["E_SPEC", "E_SPEC", "E_SPEC"]);
  });

  it("planPipeline reports plugin-level problems of a well-formed file", () => {
    const { file, text } = fixture("input-unknown-output");
    const { spec, errors } = parsePipeline(text, file);
    expect(errors).toEqual([]);
    const planned = planPipeline(spec!, registry, dir);
    expect(planned.plan).toBeUndefined();
    expect(planned.errors.map((e) => [e.code, e.location?.line, e.location?.column])).toEqual([["E_UNKNOWN_INPUT", 12, 22]]);
  });
});

describe("a valid pipeline", () => {
  const { file, text } = fixture("valid-mnist-knn");
  const plan = loadPipelineText(text, file, registry, dir);

  it("is planned with every step after the steps it reads from", () => {
    const ids = plan.nodes.map((n) => n.id);
    expect(ids).toEqual(["train", "test", "classify", "score"]);
    for (const n of plan.nodes) for (const d of n.deps) expect(ids.indexOf(d)).toBeLessThan(ids.indexOf(n.id));
    expect(plan.baseDir).toBe(dir);
    expect(plan.spec.name).toBe("mnist-knn-3");
    expect(plan.spec.seed).toBe("42");
  });

  it("resolves inputs to typed outputs and applies param defaults", () => {
    const classify = plan.nodes.find((n) => n.id === "classify")!;
    expect(classify.inputs).toEqual({
      reference: { step: "train", port: "vectors", type: "vectors" },
      queries: { step: "test", port: "vectors", type: "vectors" },
    });
    expect(classify.deps.sort()).toEqual(["test", "train"]);
    expect(classify.params).toEqual({ k: 3, labelField: "label" });
    expect(classify.spec).toMatchObject({ shard: { size: 2000 }, retries: 2, timeoutMs: 600_000, onError: "skip" });
    expect(plan.nodes.find((n) => n.id === "test")!.params).toEqual({
      images: "data/t10k-images-idx3-ubyte.gz", labels: "data/t10k-labels-idx1-ubyte.gz", offset: 0, limit: 1000, scale: 255, idPrefix: "test-",
    });
    expect(plan.nodes.find((n) => n.id === "score")!.plugin).toEqual({ name: "core", version: corePlugin.version });
  });
});

// Keywords of JSON Schema draft 2020-12 by the kind of value they take.
const SUBSCHEMA = ["not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"];
const SUBSCHEMA_ARRAY = ["allOf", "anyOf", "oneOf", "prefixItems"];
const SUBSCHEMA_MAP = ["properties", "patternProperties", "$defs", "dependentSchemas"];
const NUMBER = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"];
const STRING = ["$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$comment", "title", "description", "pattern", "format", "contentEncoding", "contentMediaType"];
const ANY = ["const", "default", "examples", "enum", "required", "type", "uniqueItems", "readOnly", "writeOnly", "deprecated", "dependentRequired", "$vocabulary"];
const TYPES = ["null", "boolean", "object", "array", "number", "string", "integer"];

/** Problems that make `schema` an invalid draft 2020-12 schema, as `path: problem` strings. */
function schemaProblems(schema: unknown, path = "#"): string[] {
  if (typeof schema === "boolean") return [];
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return [`${path}: a schema must be an object or a boolean`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    const at = `${path}/${k}`;
    if (SUBSCHEMA.includes(k)) out.push(...schemaProblems(v, at));
    else if (SUBSCHEMA_ARRAY.includes(k)) {
      if (!Array.isArray(v) || v.length === 0) out.push(`${at}: expected a non-empty array of schemas`);
      else v.forEach((s, i) => {
        out.push(...schemaProblems(s, `${at}/${i}`));
      });
    } else if (SUBSCHEMA_MAP.includes(k)) {
      if (!v || typeof v !== "object" || Array.isArray(v)) out.push(`${at}: expected an object of schemas`);
      else for (const [name, s] of Object.entries(v)) out.push(...schemaProblems(s, `${at}/${name}`));
    } else if (NUMBER.includes(k)) {
      if (typeof v !== "number") out.push(`${at}: expected a number`);
    } else if (STRING.includes(k)) {
      if (typeof v !== "string") out.push(`${at}: expected a string`);
      else if (k === "pattern") {
        try {
          new RegExp(v, "u");
        } catch {
          out.push(`${at}: not a regular expression`);
        }
      }
    } else if (!ANY.includes(k)) out.push(`${at}: not a draft 2020-12 keyword`);
    if (k === "type" && !(Array.isArray(v) ? v : [v]).every((t) => TYPES.includes(t as string))) out.push(`${at}: unknown type ${JSON.stringify(v)}`);
    if (k === "required" && !(Array.isArray(v) && v.every((x) => typeof x === "string"))) out.push(`${at}: expected an array of property names`);
    if (k === "enum" && !(Array.isArray(v) && v.length > 0)) out.push(`${at}: expected a non-empty array`);
  }
  return out;
}

describe("pipelineJsonSchema", () => {
  const schema = pipelineJsonSchema(registry) as Record<string, any>;

  it("is a draft 2020-12 JSON Schema", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schemaProblems(schema)).toEqual([]);
    // JSON round trip: nothing (functions, undefined, class instances) that a schema file cannot hold.
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it("checks the hand-check itself on a broken schema", () => {
    expect(schemaProblems({ type: "object", properties: { a: { type: "int" } }, allOf: [], requird: ["a"] })).toEqual([
      "#/properties/a/type: unknown type \"int\"",
      "#/allOf: expected a non-empty array of schemas",
      "#/requird: not a draft 2020-12 keyword",
    ]);
  });

  it("lists every core step in 'uses' and its params, with their defaults", () => {
    const step = schema.properties.steps.additionalProperties;
    expect(step.properties.uses.enum).toEqual(corePlugin.steps.map((s) => `core/${s.name}`));
    for (const s of corePlugin.steps) {
      const branch = step.allOf.find((b: any) => b.if.properties.uses.const === `core/${s.name}`);
      expect(branch, s.name).toBeDefined();
      const withSchema = branch.then.properties.with;
      const shape = (s.params as z.ZodObject).shape as Record<string, z.ZodType>;
      expect(Object.keys(withSchema.properties), s.name).toEqual(Object.keys(shape));
      expect(withSchema.additionalProperties, s.name).toBe(false);
      for (const [key, param] of Object.entries(shape)) {
        const d = param.safeParse(undefined);
        const required = !d.success;
        const def = d.success ? d.data : undefined;
        if (def !== undefined) expect(withSchema.properties[key].default, `${s.name}.${key}`).toEqual(def);
        else expect(withSchema.properties[key], `${s.name}.${key}`).not.toHaveProperty("default");
        if (required) expect(withSchema.required, `${s.name}.${key}`).toContain(key);
        else expect(withSchema.required ?? [], `${s.name}.${key}`).not.toContain(key);
      }
      expect(Object.keys(branch.then.properties.in.properties), s.name).toEqual(Object.keys(s.inputs));
    }
  });

  it("has the defaults users rely on", () => {
    const withOf = (name: string) => schema.properties.steps.additionalProperties.allOf.find((b: any) => b.if.properties.uses.const === `core/${name}`).then.properties.with.properties;
    expect(withOf("knn").k.default).toBe(10);
    expect(withOf("knn-classify").k.default).toBe(1);
    expect(withOf("knn-classify").labelField.default).toBe("label");
    expect(withOf("read-idx").scale.default).toBe(1);
    expect(withOf("read-csv").delimiter.default).toBe(",");
    expect(withOf("accuracy").predictedField.default).toBe("predicted");
  });
});

describe("bounds on pipeline files", () => {
  // A vectors → vectors step, so a long cycle is nothing but a cycle.
  const pass = defineStep({
    name: "pass",
    description: "vectors through",
    inputs: { vectors: { type: "vectors" } },
    outputs: { vectors: { type: "vectors" } },
    params: zod.strictObject({ x: zod.unknown().optional() }),
    async run(_ctx, { vectors }) {
      return { vectors };
    },
  });
  const withPass = new PluginRegistry([corePlugin, definePlugin({ name: "t", version: "1", steps: [pass] })]);
  const refused = (text: string, file = "/p/bounds.yaml"): LatentflowError[] => {
    try {
      loadPipelineText(text, file, withPass, "/p");
    } catch (e) {
      return (e as LatentflowAggregateError).errors;
    }
    throw new Error("expected the pipeline to be refused");
  };
  const n = 10_000;

  it("reports a 10,000-step cycle as one E_CYCLE (the ordering is iterative)", () => {
    const steps = Array.from({ length: n }, (_, i) => `  s${i}: { uses: t/pass, in: { vectors: s${(i + 1) % n} } }`);
    const errors = refused(["version: 1", "steps:", ...steps].join("\n"));
    expect(errors.map((e) => e.code)).toEqual(["E_CYCLE"]);
    expect(errors[0]!.message).toBe("steps form a cycle: s0 → s1 → s2 → s3 → s4 → … 9991 more … → s9996 → s9997 → s9998 → s9999 → s0 (10000 steps)");
    expect(errors[0]!.location).toMatchObject({ line: n + 2 }); // s9999's input closes the loop
  });

  it("orders a 10,000-step chain written last step first", () => {
    const steps = ["  s0: { uses: core/read-idx, with: { images: x } }", ...Array.from({ length: n - 1 }, (_, i) => `  s${i + 1}: { uses: t/pass, in: { vectors: s${i} } }`)].reverse();
    const plan = loadPipelineText(["version: 1", "steps:", ...steps].join("\n"), "/p/chain.yaml", withPass, "/p");
    expect(plan.nodes.map((x) => x.id)).toEqual(Array.from({ length: n }, (_, i) => `s${i}`));
  });

  it("refuses nesting deeper than the limit with E_YAML_LIMIT, flow or block, instead of overflowing the stack", () => {
    const depth = 100_000;
    const flow = refused(`version: 1\nsteps:\n  a: { uses: t/pass, with: { x: ${"[".repeat(depth)}${"]".repeat(depth)} } }\n`);
    expect(flow).toHaveLength(1);
    expect(flow[0]).toMatchObject({ code: "E_YAML_LIMIT", location: { line: 3 }, data: { limit: PIPELINE_LIMITS.maxDepth } });
    expect(flow[0]!.message).toContain(`nested at most ${PIPELINE_LIMITS.maxDepth} deep`);
    const block = ["version: 1", "steps:", "  a:", "    uses: t/pass", "    with:", "      x:", ...Array.from({ length: 200 }, (_, i) => `${" ".repeat(8 + 2 * i)}k${i}:`)].join("\n");
    const deep = refused(block);
    expect(deep.map((e) => e.code)).toEqual(["E_YAML_LIMIT"]);
    expect(deep[0]!.location!.line).toBeGreaterThan(60);
    // Deep but within the limit: parsed, and the value reaches the step's params.
    const plan = loadPipelineText(`version: 1\nsteps:\n  a: { uses: t/pass, in: { vectors: b }, with: { x: ${"[".repeat(50)}1${"]".repeat(50)} } }\n  b: { uses: core/read-idx, with: { images: x } }\n`, "/p/x.yaml", withPass, "/p");
    let x = (plan.nodes.find((node) => node.id === "a")!.params as { x: unknown }).x;
    for (let i = 0; i < 50; i++) x = (x as unknown[])[0];
    expect(x).toBe(1);
  });

  it("refuses a file over the size limit and too many aliases before building the document", () => {
    const big = `version: 1\nsteps:\n  a: { uses: core/read-idx, with: { images: "${"x".repeat(PIPELINE_LIMITS.maxBytes)}" } }\n`;
    expect(refused(big)).toMatchObject([{ code: "E_YAML_LIMIT", message: `expected a pipeline file of at most ${PIPELINE_LIMITS.maxBytes} bytes, found ${big.length}` }]);
    const aliases = `version: 1\nx: &v 1\nsteps:\n  a: { uses: t/pass, with: { x: [${Array.from({ length: PIPELINE_LIMITS.maxAliases + 1 }, () => "*v").join(", ")}] } }\n`;
    expect(refused(aliases)).toMatchObject([{ code: "E_YAML_LIMIT", message: `expected at most ${PIPELINE_LIMITS.maxAliases} aliases in a pipeline file, found more` }]);
  });

  it("bounds core's size-like params at validation", () => {
    const text = [
      "version: 1",
      "steps:",
      "  x: { uses: core/read-idx, with: { images: x } }",
      "  j: { uses: core/read-jsonl, with: { path: x.jsonl, maxLineBytes: 1e12 } }",
      "  c: { uses: core/read-csv, with: { path: x.csv, maxBytes: 1e12 } }",
      "  k: { uses: core/knn, in: { base: x, queries: x }, with: { k: 1e9 } }",
    ].join("\n");
    expect(refused(text).filter((e) => e.code === "E_PARAM").map((e) => [e.code, e.location!.line, e.message.replace(/^.*param /, "")])).toEqual([
      ["E_PARAM", 4, `'maxLineBytes': expected number to be <=${512 * 1024 * 1024}, found 1000000000000`],
      ["E_PARAM", 5, `'maxBytes': expected number to be <=${512 * 1024 * 1024}, found 1000000000000`],
      ["E_PARAM", 6, "'k': expected number to be <=10000, found 1000000000"],
    ]);
  });

  it("loadPipelineFile refuses a 50 MB file from its size, without reading it", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "lf-big-yaml-"));
    try {
      const file = join(tmp, "big.yaml");
      writeFileSync(file, `version: 1\nsteps: {}\n# ${"x".repeat(50 * 1024 * 1024)}\n`);
      const e = await loadPipelineFile(file, withPass).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LatentflowAggregateError);
      expect((e as LatentflowAggregateError).errors).toMatchObject([{ code: "E_YAML_LIMIT", location: { file, line: 1 } }]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
