import { describe, expect, it } from "vitest";
import { assertSameSpace, defineSpace, spaceMismatch, type Space } from "./space.js";
import { errorOf } from "./testing/errors.js";

const base: Space = {
  id: "use-lite/512",
  dim: 512,
  metric: "cosine",
  normalized: true,
  modality: "text",
  producer: { name: "encoders-text/use-lite", version: "1.0.0", params: { pooling: "mean", maxLength: 128 } },
};

describe("defineSpace", () => {
  it("returns an equal space with its own producer object", () => {
    const s = defineSpace(base);
    expect(s).toEqual(base);
    expect(s.producer).not.toBe(base.producer);
  });

  it("refuses an empty id with a hint", () => {
    const e = errorOf(() => defineSpace({ ...base, id: "" }));
    expect(e.code).toBe("E_SPACE");
    expect(e.hint).toMatch(/use-lite/);
  });

  it.each([0, -3, 2.5, Number.NaN])("refuses dim %s", (dim) => {
    const e = errorOf(() => defineSpace({ ...base, dim }));
    expect(e.code).toBe("E_SPACE");
    expect(e.message).toContain(`found ${dim}`);
  });

  it("refuses an unknown metric, listing the known ones", () => {
    const e = errorOf(() => defineSpace({ ...base, metric: "manhattan" as Space["metric"] }));
    expect(e.code).toBe("E_SPACE");
    expect(e.message).toMatch(/l2, cosine, ip/);
    expect(e.message).toMatch(/'manhattan'/);
  });
});

describe("spaceMismatch and assertSameSpace", () => {
  it("accepts the same space, including producer params written in another key order", () => {
    const reordered: Space = { ...base, producer: { version: "1.0.0", params: { maxLength: 128, pooling: "mean" }, name: "encoders-text/use-lite" } };
    expect(spaceMismatch(base, reordered)).toBeUndefined();
    expect(() => assertSameSpace(base, reordered, "test")).not.toThrow();
  });

  it("treats absent producer params like empty ones", () => {
    const a: Space = { ...base, producer: { name: "p", version: "1" } };
    const b: Space = { ...base, producer: { name: "p", version: "1", params: {} } };
    expect(spaceMismatch(a, b)).toBeUndefined();
  });

  it("key order does not matter in nested params either", () => {
    const a: Space = { ...base, producer: { name: "p", version: "1", params: { opts: { a: 1, b: [1, { x: 1, y: 2 }] } } } };
    const b: Space = { ...base, producer: { name: "p", version: "1", params: { opts: { b: [1, { y: 2, x: 1 }], a: 1 } } } };
    expect(spaceMismatch(a, b)).toBeUndefined();
  });

  const cases: [string, Space, RegExp][] = [
    ["dim", { ...base, dim: 256 }, /dimension 512 vs 256/],
    ["id", { ...base, id: "use-lite/512-v2" }, /space id 'use-lite\/512' vs 'use-lite\/512-v2'/],
    ["producer name", { ...base, producer: { ...base.producer, name: "encoders-text/use" } }, /producer encoders-text\/use-lite@1.0.0 vs encoders-text\/use@1.0.0/],
    ["producer version", { ...base, producer: { ...base.producer, version: "1.1.0" } }, /producer encoders-text\/use-lite@1.0.0 vs encoders-text\/use-lite@1.1.0/],
    ["producer params", { ...base, producer: { ...base.producer, params: { pooling: "cls", maxLength: 128 } } }, /producer parameters differ.*"pooling":"mean".*"pooling":"cls"/],
    ["a producer param added", { ...base, producer: { ...base.producer, params: { ...base.producer.params, lowercase: true } } }, /producer parameters differ/],
  ];

  it.each(cases)("tells spaces apart by %s", (_what, other, why) => {
    expect(spaceMismatch(base, other)).toMatch(why);
    const e = errorOf(() => assertSameSpace(base, other, "indexers/hnsw"));
    expect(e.code).toBe("E_SPACE_MISMATCH");
    expect(e.message).toMatch(/^indexers\/hnsw: vectors from different spaces/);
    expect(e.message).toMatch(why);
    expect(e.hint).toMatch(/not comparable/);
    expect(e.data).toEqual({ expected: base, found: other, where: "indexers/hnsw" });
  });
});
