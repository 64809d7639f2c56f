import { describe, expect, it } from "vitest";
import { paddingBoundBatches } from "./use.js";

describe("USE batches", () => {
  it("cover every text once, in order, at most `size` each, padding at most 10 % over each batch's tokens", () => {
    // Lengths like a shard of real sentences: a few long ones, many short.
    const lengths = Array.from({ length: 200 }, (_, i) => 4 + ((i * 37) % 53) + (i % 17 === 0 ? 60 : 0));
    const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    const batches = paddingBoundBatches(order, (i) => lengths[i]!, 64);
    expect(batches.flat()).toEqual(order);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(64);
      const real = b.reduce((s, i) => s + lengths[i]!, 0);
      const padded = lengths[b[0]!]! * b.length;
      if (b.length > 1) expect(padded).toBeLessThanOrEqual(1.1 * real);
    }
    // Equal lengths pack into full batches.
    expect(paddingBoundBatches([0, 1, 2, 3, 4], () => 9, 2).map((b) => b.length)).toEqual([2, 2, 1]);
  });
});
