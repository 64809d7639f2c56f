import type { Encoder, Modality } from "@latentflow/core";
import { rejectionOf } from "@latentflow/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** One input the encoder must refuse, and the code it must refuse it with. */
export interface RefusedInput {
  label: string;
  input: unknown;
  code: string;
}

/**
 * How an encoder of any modality is put through the contract: the suite encodes `inputs`, mixes each of
 * `refused` into a batch of good ones, and encodes `large` (the biggest input a user may give).
 */
export interface EncoderHarness<In> {
  /** Names the describe block. */
  name: string;
  /** The modality the encoder's space must declare. */
  modality: Modality;
  /** A ready encoder (loaded or fitted). The suite disposes what it creates. */
  create(): Promise<Encoder<In>>;
  /** At least 6 inputs, all different in content. */
  inputs: readonly In[];
  /** Inputs it must refuse with a coded error naming their index (`data.index`), encoding nothing. */
  refused: readonly RefusedInput[];
  /** A very large input (a 3,000-word text, a long clip, a big image) that must still encode. */
  large?: In;
  /**
   * Largest absolute difference allowed between two encodings of one input made in different batches
   * (padding, batch shapes). Default 1e-5. Encodings of one input in the same call pattern must be identical.
   */
  tolerance?: number;
}

/** The text-encoder harness: the suite brings its own English, Unicode and refused texts. */
export interface TextEncoderHarness {
  name: string;
  create(): Promise<Encoder<string>>;
  tolerance?: number;
}

/** Everyday English sentences on a few topics; every word-level model knows most of their words. */
export const ENCODER_SUITE_TEXTS: readonly string[] = [
  "The cat sat quietly on the warm kitchen floor.",
  "Stock markets fell sharply after the bank raised interest rates.",
  "The children played football in the park until dark.",
  "A new law on health care was passed by the senate today.",
  "She cooked rice and beans for dinner with her family.",
  "Heavy rain and strong winds closed the roads in the north.",
  "The president spoke about the economy and jobs.",
  "He read an old book about ships and the sea.",
  "The doctor told him to rest and drink more water.",
  "Prices of oil and gas rose again this week.",
  "The old man walked his dog along the river.",
  "Students must finish their exams before the summer holiday.",
];

/** Mixed scripts, accents in composed and decomposed form, emoji, right-to-left text and zero-width characters, each with English words. */
export const ENCODER_SUITE_UNICODE: readonly string[] = [
  "Café au lait and a croissant in the morning ☕",
  "Cafe\u0301 au lait and a croissant in the morning",
  "The market in 東京 was busy today 📈",
  "Peace, سلام, shalom and peace again",
  "The\u200b zero\u200bwidth joiner sits in this sentence",
  "Emoji only at the end of the line 🚀🔥👍",
];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function row(data: Float32Array, dim: number, i: number): Float32Array {
  return data.subarray(i * dim, (i + 1) * dim);
}

/**
 * The encoder contract, for any modality: shapes and the declared space, unit norms when the space says
 * normalized, order kept and results independent of batch size, empty input lists, refusal of bad inputs
 * with the offending index (nothing encoded, the encoder still usable), a very large input, determinism
 * across calls and instances, progress, cancellation (E_CANCELLED), and dispose (idempotent; encode after
 * it fails with E_DISPOSED).
 */
export function describeEncoderContract<In>(h: EncoderHarness<In>): void {
  const tol = h.tolerance ?? 1e-5;
  describe(`${h.modality} encoder contract: ${h.name}`, () => {
    let enc: Encoder<In>;
    let dim: number;
    let all: Float32Array;
    const inputs = h.inputs;

    beforeAll(async () => {
      expect(inputs.length, "the harness gives at least 6 inputs").toBeGreaterThanOrEqual(6);
      enc = await h.create();
      dim = enc.space.dim;
      all = await enc.encode(inputs);
    });
    afterAll(async () => {
      await enc?.dispose();
    });

    it(`declares a ${h.modality} space and returns n × dim finite values`, () => {
      expect(enc.space.modality).toBe(h.modality);
      expect(Number.isInteger(dim) && dim > 0).toBe(true);
      expect(all).toBeInstanceOf(Float32Array);
      expect(all.length).toBe(inputs.length * dim);
      for (let i = 0; i < all.length; i++) expect(Number.isFinite(all[i]!), `value ${i}`).toBe(true);
    });

    it("gives unit vectors when the space says normalized", () => {
      if (!enc.space.normalized) return;
      for (let i = 0; i < inputs.length; i++) {
        let s = 0;
        for (const v of row(all, dim, i)) s += v * v;
        expect(Math.sqrt(s), `norm of row ${i}`).toBeCloseTo(1, 4);
      }
    });

    it("gives different inputs different vectors", () => {
      // A constant or input-blind encoder would pass the shape checks.
      for (let i = 1; i < inputs.length; i++) expect(maxAbsDiff(row(all, dim, 0), row(all, dim, i)), `row 0 vs ${i}`).toBeGreaterThan(1e-3);
    });

    it("keeps order and does not depend on batch size", async () => {
      const small = await enc.encode(inputs, { batchSize: 3 });
      expect(maxAbsDiff(small, all)).toBeLessThanOrEqual(tol);
      const reversed = await enc.encode(inputs.slice().reverse());
      for (let i = 0; i < inputs.length; i++) {
        expect(maxAbsDiff(row(reversed, dim, inputs.length - 1 - i), row(all, dim, i)), `input ${i}`).toBeLessThanOrEqual(tol);
      }
      const at = Math.min(4, inputs.length - 1);
      const one = await enc.encode([inputs[at]!]);
      expect(maxAbsDiff(one, row(all, dim, at))).toBeLessThanOrEqual(tol);
    });

    it("is deterministic across calls and instances", async () => {
      const again = await enc.encode(inputs);
      expect(maxAbsDiff(again, all)).toBe(0);
      const other = await h.create();
      try {
        expect(maxAbsDiff(await other.encode(inputs), all)).toBeLessThanOrEqual(tol);
      } finally {
        await other.dispose();
      }
    });

    it("returns an empty array for no inputs", async () => {
      const out = await enc.encode([]);
      expect(out).toBeInstanceOf(Float32Array);
      expect(out.length).toBe(0);
    });

    for (const bad of h.refused) {
      it(`refuses ${bad.label} with ${bad.code} and its index, and still works afterwards`, async () => {
        const e = await rejectionOf(enc.encode([inputs[0]!, bad.input as In, inputs[1]!]));
        expect(e.code).toBe(bad.code);
        expect(e.data?.index).toBe(1);
        expect(maxAbsDiff(await enc.encode([inputs[0]!]), row(all, dim, 0))).toBeLessThanOrEqual(tol);
      });
    }

    it.runIf(h.large !== undefined)("encodes a very large input", async () => {
      const out = await enc.encode([h.large!, inputs[0]!]);
      expect(out.length).toBe(2 * dim);
      for (const v of out) expect(Number.isFinite(v)).toBe(true);
      expect(maxAbsDiff(row(out, dim, 1), row(all, dim, 0))).toBeLessThanOrEqual(tol);
    });

    it("reports progress up to the number of inputs", async () => {
      const seen: Array<[number, number]> = [];
      await enc.encode(inputs, { batchSize: 5, onProgress: (done, total) => seen.push([done, total]) });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.at(-1)).toEqual([inputs.length, inputs.length]);
      for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
    });

    it("stops on an aborted signal with E_CANCELLED", async () => {
      const ac = new AbortController();
      ac.abort();
      const e = await rejectionOf(enc.encode(inputs, { signal: ac.signal }));
      expect(e.code).toBe("E_CANCELLED");
    });

    it("refuses to encode after dispose, and dispose is idempotent", async () => {
      const d = await h.create();
      await d.dispose();
      await d.dispose();
      const e = await rejectionOf(d.encode([inputs[0]!]));
      expect(e.code).toBe("E_DISPOSED");
    });
  });
}

/** The encoder contract for text encoders (`Encoder<string>`), plus Unicode determinism. */
export function describeTextEncoderContract(h: TextEncoderHarness): void {
  const texts = ENCODER_SUITE_TEXTS;
  const large = Array.from({ length: 400 }, (_, i) => texts[i % texts.length]).join(" ");
  describeEncoderContract<string>({
    name: h.name,
    modality: "text",
    create: h.create,
    inputs: texts,
    refused: [
      { label: "an empty text", input: "", code: "E_EMPTY_TEXT" },
      { label: "a blank text", input: " \n\t ", code: "E_EMPTY_TEXT" },
      { label: "a text that is not a string", input: 42, code: "E_INPUT" },
    ],
    large,
    ...(h.tolerance !== undefined ? { tolerance: h.tolerance } : {}),
  });
  describe(`text encoder contract: ${h.name}, Unicode`, () => {
    it("encodes non-ASCII text deterministically", async () => {
      const enc = await h.create();
      try {
        const a = await enc.encode(ENCODER_SUITE_UNICODE);
        const b = await enc.encode(ENCODER_SUITE_UNICODE);
        expect(a.length).toBe(ENCODER_SUITE_UNICODE.length * enc.space.dim);
        for (const v of a) expect(Number.isFinite(v)).toBe(true);
        expect(maxAbsDiff(a, b)).toBe(0);
      } finally {
        await enc.dispose();
      }
    });
  });
}
