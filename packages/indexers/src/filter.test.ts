import { describe, expect, it } from "vitest";
import { compileFilter } from "./filter.js";

const rows = [
  { id: "a", meta: { label: 3, year: 1985, lang: "en", tags: { kind: "x" } } },
  { id: "b", meta: { label: 1, year: 1995, lang: "fr" } },
  { id: "c", meta: { label: 2, year: 2005 } },
  { id: "d", meta: undefined },
];

function matching(filter: Record<string, unknown>): string[] {
  const f = compileFilter(filter);
  return rows.filter((r) => f(r.id, r.meta)).map((r) => r.id);
}

describe("compileFilter", () => {
  it("matches values, operators, nested fields, ids and combinations", () => {
    expect(matching({})).toEqual(["a", "b", "c", "d"]);
    expect(matching({ label: 3 })).toEqual(["a"]);
    expect(matching({ label: { in: [1, 2] } })).toEqual(["b", "c"]);
    expect(matching({ label: { nin: [1, 2] } })).toEqual(["a", "d"]);
    expect(matching({ year: { gte: 1990 } })).toEqual(["b", "c"]);
    expect(matching({ year: { gt: 1985, lt: 2005 } })).toEqual(["b"]);
    expect(matching({ year: { lte: 1995 }, lang: "en" })).toEqual(["a"]);
    expect(matching({ lang: { exists: false } })).toEqual(["c", "d"]);
    expect(matching({ lang: { ne: "en" } })).toEqual(["b", "c", "d"]);
    expect(matching({ "tags.kind": "x" })).toEqual(["a"]);
    expect(matching({ $id: { in: ["b", "d"] } })).toEqual(["b", "d"]);
    expect(matching({ $or: [{ label: 3 }, { lang: "fr" }] })).toEqual(["a", "b"]);
    expect(matching({ $and: [{ year: { gte: 1990 } }, { $not: { label: 2 } }] })).toEqual(["b"]);
    // Ordering never compares a number with a string.
    expect(matching({ year: { gte: "1990" } })).toEqual([]);
  });

  it("refuses what it cannot mean, with E_FILTER naming the place", () => {
    expect(() => compileFilter({ label: { between: [1, 2] } })).toThrow(expect.objectContaining({ code: "E_FILTER", message: expect.stringMatching(/label\.between: unknown operator 'between'/) }));
    expect(() => compileFilter({ label: { in: 3 } })).toThrow(expect.objectContaining({ code: "E_FILTER" }));
    expect(() => compileFilter({ $xor: [] })).toThrow(expect.objectContaining({ code: "E_FILTER" }));
    expect(() => compileFilter({ $or: [] })).toThrow(expect.objectContaining({ code: "E_FILTER" }));
    expect(() => compileFilter({ label: [1, 2] })).toThrow(expect.objectContaining({ code: "E_FILTER", hint: expect.stringMatching(/in: \[1, 2\]/) }));
    expect(() => compileFilter({ year: { gte: null } })).toThrow(expect.objectContaining({ code: "E_FILTER" }));
  });
});
