import { spaceMismatch } from "@latentflow/core";
import { describe, expect, it } from "vitest";
import { textSpace } from "../encoder.js";
import { WordVectorsEncoder } from "./encoder.js";
import { WordVectors } from "./word-vectors.js";

// A tiny frequency-ordered table: SIF weights come from the ranks (no counts), as for GloVe.
const words = ["the", "cat", "sat", "mat", "dog"];
const vectors = Float32Array.from({ length: words.length * 3 }, (_, i) => Math.sin(i + 1));
const wv = new WordVectors({ words, vectors, space: textSpace({ id: "tiny-words", dim: 3, normalized: false, producer: "test", version: "1" }) });

describe("WordVectorsEncoder space", () => {
  it("differs between a table and its head(n): their SIF vectors of one text differ", async () => {
    const full = new WordVectorsEncoder(wv, { normalize: false });
    const head = new WordVectorsEncoder(wv.head(3), { normalize: false });
    const a = await full.encode(["the cat sat"]);
    const b = await head.encode(["the cat sat"]);
    // Same words, other SIF weights (p(w) depends on the vocabulary size): other vectors...
    expect(Array.from(a)).not.toEqual(Array.from(b));
    // ...so the spaces must not claim to be one.
    expect(spaceMismatch(full.space, head.space)).toBeDefined();
  });
});
