import { describeReducerContract } from "@latentflow/contract-tests";
import { Tsne } from "./tsne.js";

// The suite fits 300 points: the exact gradient (auto below 1000); perplexity 5 so that 6 points suffice.
describeReducerContract("Tsne", { create: (seed) => new Tsne({ perplexity: 5, nIter: 300, seed }), load: (a) => Tsne.load(a), dimensions: 2, minPoints: 6 });
describeReducerContract("Tsne (Barnes-Hut)", { create: (seed) => new Tsne({ perplexity: 5, nIter: 300, seed, method: "barnes_hut" }), load: (a) => Tsne.load(a), dimensions: 2, minPoints: 6 });
