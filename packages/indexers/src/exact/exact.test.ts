import { describe, expect, it } from "vitest";
import { knnReference } from "@latentflow/core/kernels";
import { compileFilter } from "../filter.js";
import { mnist } from "../test/mnist.js";
import { ExactIndex } from "./exact.js";

describe("ExactIndex on MNIST digits", () => {
  const train = mnist("train", 0, 2000);
  const queries = mnist("t10k", 0, 50);

  it("equals float64 brute force (knnReference): ids, order and distances, in search and searchBatch", async () => {
    const index = ExactIndex.fromVectorSet(train);
    const ref = knnReference(train.data, queries.data, 784, 10, "l2");
    const batch = await index.searchBatch(queries, { k: 10 });
    for (let q = 0; q < 50; q++) {
      const want = Array.from(ref.indices.subarray(q * 10, (q + 1) * 10), (i) => train.ids[i]);
      const one = index.search(queries.data.subarray(q * 784, (q + 1) * 784), { k: 10 });
      expect(one.map((h) => h.id)).toEqual(want);
      expect(batch[q]!.map((h) => h.id)).toEqual(want);
      expect(one.map((h) => h.distance)).toEqual(Array.from(ref.distances.subarray(q * 10, (q + 1) * 10)));
      expect(batch[q]!.map((h) => h.distance)).toEqual(one.map((h) => h.distance));
    }
    index.dispose();
  });

  it("filters exactly: the nearest rows of the label, as brute force over those rows finds them", async () => {
    const index = ExactIndex.fromVectorSet(train);
    const rows = train.ids.map((_, i) => i).filter((i) => train.meta![i]!.label === 4);
    const base = new Float32Array(rows.length * 784);
    rows.forEach((r, i) => {
      base.set(train.data.subarray(r * 784, (r + 1) * 784), i * 784);
    });
    const ref = knnReference(base, queries.data, 784, 5, "l2");
    const filter = compileFilter({ label: 4 });
    const batch = await index.searchBatch(queries, { k: 5, filter });
    for (let q = 0; q < 50; q++) {
      const want = Array.from(ref.indices.subarray(q * 5, (q + 1) * 5), (i) => train.ids[rows[i]!]);
      expect(batch[q]!.map((h) => h.id)).toEqual(want);
      expect(index.search(queries.data.subarray(q * 784, (q + 1) * 784), { k: 5, filter }).map((h) => h.id)).toEqual(want);
    }
    index.dispose();
  });
});
