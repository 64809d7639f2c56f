import { describeGeneratorContract } from "@latentflow/contract-tests";
import { mnist } from "@latentflow/contract-tests/mnist";
import { PcaGenerator } from "./generator.js";
import { Pca } from "./pca.js";

// Real MNIST digits (pixels in [0, 1]); 50 components keep ~80 % of their variance.
const digits = mnist("train", 0, 1000);

for (const whiten of [false, true]) {
  describeGeneratorContract({
    name: `PcaGenerator (MNIST 1000 × 784 → 50${whiten ? ", whitened" : ""})`,
    create: async () => new PcaGenerator(await new Pca({ components: 50, whiten, solver: "exact" }).fit(digits)),
    load: async (a) => PcaGenerator.load(a),
    data: () => digits,
    encode: (g, vs) => (g as PcaGenerator).pca.transform(vs),
  });
}
