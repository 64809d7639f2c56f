import { describe, expect, it } from "vitest";
import { defineSpace, type Space } from "./space.js";
import { concatVectorSets, createVectorSet, rowCount, sliceVectorSet, vectorAt, type VectorSetInput } from "./vector-set.js";
import { errorOf } from "./testing/errors.js";

const space: Space = defineSpace({
  id: "test/3",
  dim: 3,
  metric: "l2",
  normalized: false,
  modality: "other",
  producer: { name: "test", version: "1" },
});

function build(input: Partial<VectorSetInput> & { data: Float32Array }) {
  return createVectorSet({ space, ...input });
}

describe("createVectorSet", () => {
  it("defaults ids to row numbers and keeps data and meta as given", () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const vs = build({ data, meta: [{ label: "a" }, { label: "b" }] });
    expect(vs.ids).toEqual(["0", "1"]);
    expect(rowCount(vs)).toBe(2);
    expect(vs.data).toBe(data);
    expect(Array.from(vectorAt(vs, 1))).toEqual([4, 5, 6]);
    expect(vs.meta).toEqual([{ label: "a" }, { label: "b" }]);
  });

  it("refuses data whose length is not a multiple of dim with E_DIM_MISMATCH", () => {
    const e = errorOf(() => build({ data: new Float32Array(7) }));
    expect(e.code).toBe("E_DIM_MISMATCH");
    expect(e.message).toMatch(/multiple of dim 3/);
    expect(e.message).toMatch(/found 7/);
    expect(e.hint).toBeTruthy();
  });

  it("refuses a duplicate id, naming it and the row it appears again in", () => {
    const e = errorOf(() => build({ data: new Float32Array(9), ids: ["a", "b", "a"] }));
    expect(e.code).toBe("E_DUPLICATE_ID");
    expect(e.message).toMatch(/id 'a'/);
    expect(e.message).toMatch(/row 2/);
  });

  it("refuses an id list of the wrong length", () => {
    expect(errorOf(() => build({ data: new Float32Array(6), ids: ["a"] })).code).toBe("E_SHAPE");
  });

  it.each([
    ["NaN", Number.NaN],
    ["+Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
  ])("refuses %s with E_NOT_FINITE naming row, id and column", (_name, bad) => {
    const data = new Float32Array(9);
    data[1 * 3 + 2] = bad;
    const e = errorOf(() => build({ data, ids: ["x", "y", "z"] }));
    expect(e.code).toBe("E_NOT_FINITE");
    expect(e.message).toMatch(/row 1/);
    expect(e.message).toMatch(/id 'y'/);
    expect(e.message).toMatch(/column 2/);
    expect(e.message).toContain(String(bad));
    expect(e.data).toMatchObject({ row: 1, id: "y", column: 2, expected: "finite numbers", found: String(bad) });
  });

  it("reports the first non-finite value when there are several", () => {
    const data = new Float32Array(9);
    data[7] = Number.NaN;
    data[4] = Number.POSITIVE_INFINITY;
    expect(errorOf(() => build({ data })).data).toMatchObject({ row: 1, id: "1", column: 1, found: "Infinity" });
  });

  it("refuses meta of the wrong length, naming both counts", () => {
    const e = errorOf(() => build({ data: new Float32Array(6), meta: [{}, {}, {}] }));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toMatch(/expected 2 meta rows, found 3/);
  });
});

describe("slice and concat", () => {
  const n = 10;
  const data = Float32Array.from({ length: n * 3 }, (_, i) => i * 0.5 - 3);
  const ids = Array.from({ length: n }, (_, i) => `row-${i}`);
  const meta = ids.map((id, i) => ({ label: i % 3, name: id.toUpperCase() }));
  const whole = createVectorSet({ space, data, ids, meta });

  it("slicing into uneven parts and concatenating gives the same set back, in order", () => {
    const parts = [sliceVectorSet(whole, 0, 3), sliceVectorSet(whole, 3, 4), sliceVectorSet(whole, 4, 10)];
    expect(parts.map(rowCount)).toEqual([3, 1, 6]);
    const back = concatVectorSets(parts);
    expect(back.space).toEqual(whole.space);
    expect(back.ids).toEqual(ids);
    expect(back.meta).toEqual(meta);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it("a slice is a view of the same buffer; concat copies", () => {
    const s = sliceVectorSet(whole, 2, 5);
    expect(s.data.buffer).toBe(whole.data.buffer);
    expect(Array.from(vectorAt(s, 0))).toEqual(Array.from(vectorAt(whole, 2)));
    const c = concatVectorSets([s]);
    expect(c.data.buffer).not.toBe(whole.data.buffer);
  });

  it("concat fills {} for parts without meta when another part has meta", () => {
    const plain = createVectorSet({ space, data: new Float32Array(3), ids: ["plain"] });
    const c = concatVectorSets([sliceVectorSet(whole, 0, 1), plain]);
    expect(c.meta).toEqual([meta[0], {}]);
  });

  it("concat refuses ids repeated across parts", () => {
    expect(errorOf(() => concatVectorSets([sliceVectorSet(whole, 0, 2), sliceVectorSet(whole, 1, 3)])).code).toBe("E_DUPLICATE_ID");
  });

  it("concat refuses zero parts with E_EMPTY", () => {
    expect(errorOf(() => concatVectorSets([])).code).toBe("E_EMPTY");
  });

  it("concat refuses parts from different spaces with E_SPACE_MISMATCH", () => {
    const other = defineSpace({ ...space, producer: { name: "test", version: "2" } });
    const b = createVectorSet({ space: other, data: new Float32Array(3), ids: ["other"] });
    const e = errorOf(() => concatVectorSets([sliceVectorSet(whole, 0, 2), b]));
    expect(e.code).toBe("E_SPACE_MISMATCH");
    expect(e.message).toMatch(/test@1 vs test@2/);
    expect(e.hint).toBeTruthy();
  });
});
