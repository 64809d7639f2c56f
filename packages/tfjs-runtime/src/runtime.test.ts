import { describe, expect, it } from "vitest";
import { loadTf, resolveTfBackend, useTfBackend } from "./index.js";

describe("tfjs runtime", () => {
  it("loads tfjs once and runs on the wasm backend from files on disk", async () => {
    const [a, b] = await Promise.all([loadTf(), loadTf()]);
    expect(a).toBe(b);
    const { tf, name } = await useTfBackend("wasm", "test");
    expect(name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
    expect(Array.from(await y.data())).toEqual([19, 22, 43, 50]);
  });

  it("falls back to wasm under auto when tfjs-node is missing, and refuses an explicit tensorflow", async () => {
    let installed = true;
    try {
      const name = "@tensorflow/tfjs-node";
      await import(name);
    } catch {
      installed = false;
    }
    expect(await resolveTfBackend("auto", "test")).toBe(installed ? "tensorflow" : "wasm");
    if (!installed) await expect(resolveTfBackend("tensorflow", "my-step")).rejects.toMatchObject({ code: "E_BACKEND", message: expect.stringContaining("my-step") });
  });
});
