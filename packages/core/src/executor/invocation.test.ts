import { describe, expect, it } from "vitest";
import { LatentflowError } from "../errors.js";
import { z } from "zod";
import { PluginRegistry, definePlugin, defineStep } from "../plugin.js";
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

describe("the seed rule", () => {
  const seeded = definePlugin({
    name: "seeded",
    version: "1.0.0",
    steps: [
      defineStep({ name: "text", description: "a step with a string-or-number seed", inputs: {}, outputs: { out: { type: "json" } }, params: z.strictObject({ seed: z.union([z.string(), z.number()]).optional() }), run: async (_c, _i, p) => ({ out: { seed: p.seed ?? null } }) }),
      defineStep({ name: "int", description: "a step whose library takes integer seeds", inputs: {}, outputs: { out: { type: "json" } }, params: z.strictObject({ seed: z.number().int().min(0).optional() }), run: async (_c, _i, p) => ({ out: { seed: p.seed ?? null } }) }),
      defineStep({ name: "none", description: "no randomness", inputs: {}, outputs: { out: { type: "json" } }, params: z.strictObject({ n: z.number().default(1) }), run: async (_c, _i, p) => ({ out: { n: p.n } }) }),
    ],
  });
  const reg = new PluginRegistry([corePlugin, seeded]);
  const planOf = (seedLine: string, withSeed = "") =>
    loadPipelineText(`version: 1\nname: s\n${seedLine}steps:\n  a: { uses: seeded/text${withSeed} }\n  b: { uses: seeded/text }\n  c: { uses: seeded/int }\n  d: { uses: seeded/none }\n`, "/virtual/s.yaml", reg, "/virtual");
  const params = (p: ReturnType<typeof planOf>) => Object.fromEntries(p.nodes.map((n) => [n.id, n.params]));

  it("gives each random step the run's seed and its id, unless `with: seed` says otherwise; the seed is part of the cache key", () => {
    const p = params(planOf("seed: 42\n"));
    expect(p.a).toEqual({ seed: "42/a" });
    expect(p.b).toEqual({ seed: "42/b" });
    expect(p.c).toEqual({ seed: expect.any(Number) });
    expect(Number.isInteger((p.c as { seed: number }).seed) && (p.c as { seed: number }).seed >= 0).toBe(true);
    expect(p.d).toEqual({ n: 1 });
    // The default run seed is "0"; another `seed:` moves every random step, and only them.
    const q = params(planOf(""));
    expect(q.a).toEqual({ seed: "0/a" });
    expect(q.c).not.toEqual(p.c);
    const keys = (pl: ReturnType<typeof planOf>) => pl.nodes.map((n) => stepKey(n, {}));
    const [k42, k0] = [keys(planOf("seed: 42\n")), keys(planOf(""))];
    expect(k42.slice(0, 3).every((k, i) => k !== k0[i])).toBe(true);
    expect(k42[3]).toBe(k0[3]);
    // Written out, the step's own seed wins.
    expect(params(planOf("seed: 42\n", ", with: { seed: 7 }")).a).toEqual({ seed: 7 });
  });
});
