import { describeReducerContract } from "@latentflow/contract-tests";
import { Autoencoder } from "./autoencoder.js";

describeReducerContract("Autoencoder", {
  create: (seed) => new Autoencoder({ dimensions: 2, layers: [16], epochs: 3, batchSize: 32, learningRate: 0.01, scaling: "standard", seed, backend: "wasm" }),
  load: (a) => Autoencoder.load(a, { backend: "wasm" }),
  dimensions: 2,
  transformMatchesFit: true,
});
