import { describeReducerContract } from "@latentflow/contract-tests";
import { Pca } from "./pca.js";

describeReducerContract("Pca (exact)", { create: (seed) => new Pca({ components: 3, solver: "exact", seed }), load: (a) => Pca.load(a), dimensions: 3, minPoints: 3, transformMatchesFit: true });
describeReducerContract("Pca (randomized)", { create: (seed) => new Pca({ components: 3, solver: "randomized", seed }), load: (a) => Pca.load(a), dimensions: 3, minPoints: 3, transformMatchesFit: true });
