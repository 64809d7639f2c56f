import { describeReducerContract } from "@latentflow/contract-tests";
import { Umap } from "./umap.js";

describeReducerContract("Umap", { create: (seed) => new Umap({ nNeighbors: 10, seed, threads: 1 }), load: (a) => Umap.load(a, { threads: 1 }), dimensions: 2, minPoints: 11 });
