import { describeAlignerContract } from "@latentflow/contract-tests";
import { ProcrustesAligner } from "./procrustes.js";

describeAlignerContract({
  name: "ProcrustesAligner",
  create: () => new ProcrustesAligner(),
  load: async (a) => ProcrustesAligner.load(a),
  dimB: 20,
  minPairs: 2,
});
