
describe("the seed rule", async () => {
  const { z } = await import("zod");
  const { definePlugin, defineStep } = await import("../plugin.js");
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
