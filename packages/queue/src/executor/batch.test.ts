import { describe, expect, it } from "vitest";
import { batcher, Failed } from "./batch.js";

describe("batcher", () => {
  it("sends the calls of one turn together, and those made meanwhile in the next batch", async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const double = batcher<number, number>(async (xs) => {
      batches.push(xs);
      if (batches.length === 1) await gate;
      return xs.map((x) => 2 * x);
    });
    const first = [1, 2, 3].map(double);
    await new Promise((r) => setImmediate(r));
    const second = [4, 5].map(double);
    release();
    expect(await Promise.all([...first, ...second])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it("cuts batches at maxItems, one in flight at a time, in order", async () => {
    const batches: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const id = batcher<number, number>(
      async (xs) => {
        inFlight++;
        most = Math.max(most, inFlight);
        batches.push(xs);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return xs;
      },
      0,
      4,
    );
    const out = await Promise.all(Array.from({ length: 10 }, (_, i) => id(i)));
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(most).toBe(1);
  });

  it("fails only the items marked Failed, and every item when the batch throws", async () => {
    const check = batcher<number, number>(async (xs) => xs.map((x) => (x < 0 ? new Failed(new Error(`negative: ${x}`)) : x)));
    const r = await Promise.allSettled([check(1), check(-2), check(3)]);
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((r[1] as PromiseRejectedResult).reason.message).toBe("negative: -2");

    const broken = batcher<number, number>(async () => {
      throw new Error("redis went away");
    });
    const all = await Promise.allSettled([broken(1), broken(2)]);
    expect(all.every((x) => x.status === "rejected" && x.reason.message === "redis went away")).toBe(true);
  });
});
