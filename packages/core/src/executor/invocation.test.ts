import { describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { PluginRegistry } from "../plugin.js";
import { loadPipelineText } from "../pipeline/validate.js";
import { corePlugin } from "../steps/plugin.js";
import { errorFromRecord, errorRecord } from "./error-record.js";
import { invocationOf, planNodeOf } from "./invocation.js";
import { retryDelay, retryPolicyOf } from "./retry.js";
import { stepKey } from "./step-runner.js";

const registry = new PluginRegistry([corePlugin]);
const plan = loadPipelineText(
  "version: 1\nname: inv\nseed: 7\nsteps:\n  n: { uses: core/read-items, with: { path: a.jsonl, textField: t } }\n  m: { uses: core/read-items, with: { path: b.jsonl, textField: t }, retries: 3, timeout: 2s, onError: skip }\n",
  "/virtual/inv.yaml",
  registry,
  "/virtual",
);

describe("step invocations", () => {
  it("survive JSON and come back as the same plan node: same cache key, policy and step definition", () => {
    for (const node of plan.nodes) {
      const inv = invocationOf(node, { runId: "r1", seed: plan.spec.seed, baseDir: plan.baseDir, force: false, inputs: {} });
      const back = planNodeOf(JSON.parse(JSON.stringify(inv)), registry);
      expect(back.step).toBe(node.step);
      expect(back.params).toEqual(node.params);
      expect(back.spec.retries).toBe(node.spec.retries);
      expect(back.spec.timeoutMs).toBe(node.spec.timeoutMs);
      expect(back.spec.onError).toBe(node.spec.onError);
      expect(stepKey(back, {})).toBe(stepKey(node, {}));
    }
    expect(invocationOf(plan.nodes[1]!, { runId: "r", seed: "s", baseDir: "/", force: false, inputs: {} }).retry).toEqual({ attempts: 4, backoffMs: 200, capMs: 30_000 });
  });

  it("are refused, coded, where the plugin version or the step is missing", () => {
    const inv = invocationOf(plan.nodes[0]!, { runId: "r1", seed: "s", baseDir: "/", force: false, inputs: {} });
    for (const bad of [{ ...inv, plugin: { ...inv.plugin, version: "0.0.0-other" } }, { ...inv, uses: "core/no-such-step" }, { ...inv, plugin: { name: "nope", version: "1" }, uses: "nope/x" }]) {
      let caught: unknown;
      try {
        planNodeOf(bad, registry, "worker w1");
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(LatentflowError);
      expect(caught).toMatchObject({ code: "E_PLUGIN_MISSING", message: expect.stringMatching(/^worker w1 cannot run/) });
    }
  });
});

describe("the retry policy and error records", () => {
  it("doubles the delay from 200 ms and caps it at 30 s", () => {
    const p = retryPolicyOf({ retries: 20 });
    expect([1, 2, 3, 4].map((n) => retryDelay(p, n))).toEqual([200, 400, 800, 1600]);
    expect(retryDelay(p, 20)).toBe(30_000);
  });

  it("keeps code, message, hint and data; other errors become E_STEP_FAILED", () => {
    const e = new LatentflowError("E_X", "expected 3, found 4", { hint: "use 3", data: { expected: 3, found: 4, at: [1, 2] } });
    expect(errorRecord(e)).toEqual({ code: "E_X", message: "expected 3, found 4", hint: "use 3", data: { expected: 3, found: 4, at: [1, 2] } });
    expect(errorRecord(errorFromRecord(errorRecord(e)))).toEqual(errorRecord(e));
    expect(errorRecord(new TypeError("boom"))).toEqual({ code: "E_STEP_FAILED", message: "boom" });
  });
});
