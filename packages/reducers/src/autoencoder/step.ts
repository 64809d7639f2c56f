import { defineStep } from "@latentflow/core";
import { z } from "zod";
import { REDUCER_LIMITS as L } from "../limits.js";
import { Autoencoder } from "./autoencoder.js";

/** `reducers/autoencoder`: train a dense autoencoder on the input vectors; outputs their codes and the fitted model. */
export const autoencoderStep = defineStep({
  name: "autoencoder",
  description: "Dense autoencoder on TensorFlow.js (wasm, or tfjs-node when installed): trains encoder and mirrored decoder on the reconstruction error, outputs the codes and the fitted model.",
  inputs: { vectors: { type: "vectors" } },
  outputs: {
    vectors: { type: "vectors", description: "the codes of the input vectors, meta kept" },
    model: { type: "model", description: "the fitted autoencoder (kind reducers/autoencoder): Autoencoder.load(artifact)" },
  },
  params: z.strictObject({
    dimensions: z.number().int().positive().max(L.codeDimensions).default(2).describe("latent (code) dimensions"),
    layers: z.array(z.number().int().positive().max(L.layerWidth)).max(L.hiddenLayers).default([256, 64]).describe("hidden widths of the encoder, outermost first; the decoder mirrors them"),
    scaling: z.enum(["standard", "minmax", "none"]).default("minmax").describe("input scaling learnt at fit and stored in the model"),
    output: z.enum(["sigmoid", "linear"]).optional().describe("reconstruction activation; default sigmoid with minmax scaling, linear otherwise"),
    epochs: z.number().int().min(0).max(L.iterations).default(20),
    batchSize: z.number().int().positive().max(L.batchSize).default(64),
    learningRate: z.number().positive().default(0.001).describe("Adam learning rate"),
    seed: z.union([z.string(), z.number()]).optional().describe("seed of the initialisers and the shuffling; default: the run's seed for this step (seed: in the pipeline and the step id)"),
    backend: z.enum(["auto", "wasm", "tensorflow"]).default("auto").describe("tfjs backend; bit-reproducible on wasm"),
  }),
  resources: { cpuBound: true },
  async run(ctx, { vectors }, p) {
    const ae = new Autoencoder(p);
    try {
      const out = await ae.fitTransform(vectors, { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) });
      const history = ae.history;
      ctx.log.info("autoencoder fitted", { epochs: history.length, loss: history.at(-1) });
      return { vectors: out, model: ae.save() };
    } finally {
      await ae.dispose();
    }
  },
});
