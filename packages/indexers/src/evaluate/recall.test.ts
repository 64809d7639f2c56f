import { describe, expect, it } from "vitest";
import { recallAtK } from "./recall.js";

const hits = (...ids: string[]) => ids.map((id, i) => ({ id, distance: i }));

describe("recallAtK", () => {
  it("averages the share of true top-k ids found in the first k", () => {
    expect(recallAtK([hits("a", "b", "c"), hits("x", "y", "z")], [hits("a", "c", "d"), hits("x", "y", "z")], 3)).toBeCloseTo((2 / 3 + 1) / 2);
    // Only the first k of each list count.
    expect(recallAtK([hits("b", "a")], [hits("a", "b")], 1)).toBe(0);
    // Fewer true hits than k (a filtered or small index): scored against what exists.
    expect(recallAtK([hits("a")], [hits("a")], 10)).toBe(1);
    expect(recallAtK([[]], [[]], 10)).toBe(1);
  });

  it("refuses lists of different lengths and a bad k", () => {
    expect(() => recallAtK([[]], [], 1)).toThrow(expect.objectContaining({ code: "E_SHAPE" }));
    expect(() => recallAtK([], [], 0)).toThrow(expect.objectContaining({ code: "E_PARAM" }));
  });
});
