import { describeTextEncoderContract } from "@latentflow/contract-tests";
import { describe, expect, it } from "vitest";
import { loadGlove } from "../glove/glove.js";
import { WordVectorsEncoder } from "./encoder.js";

describeTextEncoderContract({ name: "WordVectorsEncoder (GloVe 100-d, SIF)", create: async () => new WordVectorsEncoder(await loadGlove()) });
describeTextEncoderContract({ name: "WordVectorsEncoder (GloVe 100-d, SIF, not normalised)", create: async () => new WordVectorsEncoder(await loadGlove(), { normalize: false }) });

describe("WordVectorsEncoder beyond the contract", () => {
  it("refuses a text with no known word with E_OOV and its index; the space names the words and the settings", async () => {
    const wv = await loadGlove();
    const enc = new WordVectorsEncoder(wv);
    await expect(enc.encode(["the cat sat", "🚀🔥 12345 ???"])).rejects.toMatchObject({ code: "E_OOV", data: { index: 1 } });
    expect(enc.space.id).toBe("glove-6b-100d/sif");
    expect(enc.space.normalized).toBe(true);
    const pc = wv.sifPrincipalComponent(["The cat sat on the mat.", "Markets fell after the bank raised rates.", "He read an old book about the sea."]);
    const withPc = new WordVectorsEncoder(wv, { principalComponent: pc });
    expect(withPc.space.id).toBe(enc.space.id);
    expect(withPc.space.producer.params).not.toEqual(enc.space.producer.params);
    // The encoder gives the library's SIF vectors, unit length.
    const [a] = [await enc.encode(["The queen and the king."])];
    const raw = wv.sentenceVectors(["The queen and the king."]);
    const norm = Math.hypot(...raw);
    for (let j = 0; j < 100; j++) expect(a![j]!).toBeCloseTo(raw[j]! / norm, 6);
    expect(() => new WordVectorsEncoder(wv, { a: 0 })).toThrow(/a > 0/);
  });
});
