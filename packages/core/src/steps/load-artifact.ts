import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { loadArtifactValue } from "../executor/step-runner.js";
import { defineStep } from "../plugin.js";
import type { PortType } from "../ports.js";
import type { StepContext } from "../plugin.js";

const params = z.strictObject({ key: z.string().regex(/^[a-f0-9]{16,128}$/, "an artifact key: lowercase hex, as listed by 'latentflow inspect <run>'") });

async function load(ctx: StepContext, key: string, type: PortType): Promise<unknown> {
  const m = await ctx.store.stat(key);
  if (!m) throw new LatentflowError("E_ARTIFACT_MISSING", `no artifact ${key} in ${ctx.store.location}`, { hint: "'latentflow runs' and 'latentflow inspect <run>' list the keys of earlier runs' outputs" });
  if (m.type !== type) throw new LatentflowError("E_PORT_TYPE_MISMATCH", `artifact ${key} is ${m.type}, expected ${type}`);
  return loadArtifactValue(ctx.store, m);
}

/** `core/load-model`: a trained model stored by an earlier run, by its artifact key. */
export const loadModelStep = defineStep({
  name: "load-model",
  description: "Take a model artifact (fitted reducer, word vectors, index…) produced by an earlier run, by key.",
  inputs: {},
  outputs: { model: { type: "model" } },
  params,
  // The key is content-addressed already: it is the whole fingerprint.
  fingerprint: async (p) => p.key,
  async run(ctx, _in, p) {
    return { model: (await load(ctx, p.key, "model")) as never };
  },
});

/** `core/load-vectors`: a vector set stored by an earlier run, by its artifact key. */
export const loadVectorsStep = defineStep({
  name: "load-vectors",
  description: "Take a vector set produced by an earlier run, by artifact key.",
  inputs: {},
  outputs: { vectors: { type: "vectors" } },
  params,
  fingerprint: async (p) => p.key,
  async run(ctx, _in, p) {
    return { vectors: (await load(ctx, p.key, "vectors")) as never };
  },
});
