import { describe, expect, it } from "vitest";
import { ResourceCache } from "./resources.js";

describe("ResourceCache", () => {
  it("loads a key once, shares it with concurrent and later users, and frees it on dispose", async () => {
    const cache = new ResourceCache();
    let loads = 0;
    const freed: string[] = [];
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return { model: loads };
    };
    const [a, b] = await Promise.all([cache.use("m", load, () => void freed.push("m")), cache.use("m", load)]);
    const c = await cache.use("m", load);
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(loads).toBe(1);
    await cache.use("other", async () => 2, () => void freed.push("other"));
    expect(cache.stats()).toMatchObject({ loads: 2, hits: 2, byKey: { m: 1, other: 1 } });
    await cache.dispose();
    expect(freed).toEqual(["other", "m"]);
    await expect(cache.use("m", load)).rejects.toMatchObject({ code: "E_DISPOSED" });
  });

  it("does not keep a failed load: the next use tries again", async () => {
    const cache = new ResourceCache();
    let n = 0;
    const load = async () => {
      if (n++ === 0) throw new Error("first load fails");
      return "ok";
    };
    await expect(cache.use("k", load)).rejects.toThrow("first load fails");
    expect(cache.has("k")).toBe(false);
    await expect(cache.use("k", load)).resolves.toBe("ok");
    await cache.dispose();
  });

  it("release frees one resource and lets it load again", async () => {
    const cache = new ResourceCache();
    let disposed = 0;
    await cache.use("k", async () => 1, () => void disposed++);
    await cache.release("k");
    expect(disposed).toBe(1);
    await cache.use("k", async () => 1);
    expect(cache.stats().byKey.k).toBe(2);
    await cache.dispose();
  });
});
