import { describe, expect, it } from "vitest";
import { canonicalJson, hashParts } from "./hash.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps arrays in order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null } })).toBe('{"a":{"c":null,"d":[3,1]},"b":1}');
  });
  it("serialises Dates (and anything with toJSON) as JSON.stringify does", () => {
    expect(canonicalJson({ when: new Date(0) })).toBe('{"when":"1970-01-01T00:00:00.000Z"}');
  });
  it("drops undefined fields like JSON.stringify", () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });
});

describe("hashParts", () => {
  it("is unambiguous about part boundaries", () => {
    expect(hashParts("ab", "c")).not.toBe(hashParts("a", "bc"));
    expect(hashParts("ab", "c")).toBe(hashParts("ab", "c"));
  });
});
