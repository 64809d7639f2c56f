import type { Space } from "@latentflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** What the suite needs of a text encoder: the TextEncoder interface of @latentflow/encoders-text, structurally. */
export interface TextEncoderUnderTest {
  readonly space: Space;
  encode(texts: readonly string[], opts?: { batchSize?: number; onProgress?: (done: number, total: number) => void; signal?: AbortSignal }): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface TextEncoderHarness {
  /** Names the describe block. */
  name: string;
  /** A ready encoder (loaded or fitted). The suite disposes what it creates. */
  create(): Promise<TextEncoderUnderTest>;
  /**
   * Largest absolute difference allowed between two encodings of one text made in different batches
   * (padding, batch shapes). Default 1e-5. Encodings of one text in the same call pattern must be identical.
   */
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

function errorOf(p: Promise<unknown>): Promise<{ code?: string; data?: Record<string, unknown>; message?: string } | "resolved"> {
  return p.then(
    () => "resolved" as const,
    (e) => e as { code?: string; data?: Record<string, unknown> },
  );
}

/**
 * The text-encoder contract: shapes and the declared space, unit norms when the space says normalized,
 * order kept and results independent of batch size, empty input lists, refusal of empty and non-string
 * texts with the offending index (nothing encoded), very long and non-ASCII input, determinism across
 * calls and instances, progress, cancellation, and dispose (idempotent; encode after it fails).
 */
export function describeTextEncoderContract(h: TextEncoderHarness): void {
  const tol = h.tolerance ?? 1e-5;
  describe(`text encoder contract: ${h.name}`, () => {
    let enc: TextEncoderUnderTest;
    let dim: number;
    let all: Float32Array;
    const texts = ENCODER_SUITE_TEXTS;

    beforeAll(async () => {
      enc = await h.create();
      dim = enc.space.dim;
      all = await enc.encode(texts);
    });
    afterAll(async () => {
      await enc?.dispose();
    });

    it("declares a text space and returns n × dim finite values", () => {
      expect(enc.space.modality).toBe("text");
      expect(Number.isInteger(dim) && dim > 0).toBe(true);
      expect(all).toBeInstanceOf(Float32Array);
      expect(all.length).toBe(texts.length * dim);
      for (let i = 0; i < all.length; i++) expect(Number.isFinite(all[i]!), `value ${i}`).toBe(true);
    });

    it("gives unit vectors when the space says normalized", () => {
      if (!enc.space.normalized) return;
      for (let i = 0; i < texts.length; i++) {
        let s = 0;
        for (const v of row(all, dim, i)) s += v * v;
        expect(Math.sqrt(s), `norm of row ${i}`).toBeCloseTo(1, 4);
      }
    });

    it("gives different texts different vectors", () => {
      // A constant or input-blind encoder would pass the shape checks.
      for (let i = 1; i < texts.length; i++) expect(maxAbsDiff(row(all, dim, 0), row(all, dim, i)), `row 0 vs ${i}`).toBeGreaterThan(1e-3);
    });

    it("keeps order and does not depend on batch size", async () => {
      const small = await enc.encode(texts, { batchSize: 3 });
      expect(maxAbsDiff(small, all)).toBeLessThanOrEqual(tol);
      const reversed = await enc.encode(texts.slice().reverse());
      for (let i = 0; i < texts.length; i++) {
        expect(maxAbsDiff(row(reversed, dim, texts.length - 1 - i), row(all, dim, i)), `text ${i}`).toBeLessThanOrEqual(tol);
      }
      const one = await enc.encode([texts[4]!]);
      expect(maxAbsDiff(one, row(all, dim, 4))).toBeLessThanOrEqual(tol);
    });

    it("is deterministic across calls and instances", async () => {
      const again = await enc.encode(texts);
      expect(maxAbsDiff(again, all)).toBe(0);
      const other = await h.create();
      try {
        expect(maxAbsDiff(await other.encode(texts), all)).toBeLessThanOrEqual(tol);
      } finally {
        await other.dispose();
      }
    });

    it("returns an empty array for no texts", async () => {
      const out = await enc.encode([]);
      expect(out).toBeInstanceOf(Float32Array);
      expect(out.length).toBe(0);
    });

    it("refuses an empty or blank text with its index, and one that is not a string", async () => {
      const e = await errorOf(enc.encode([texts[0]!, texts[1]!, "", texts[2]!]));
      expect(e).not.toBe("resolved");
      expect((e as { code: string }).code).toBe("E_EMPTY_TEXT");
      expect((e as { data: { index: number } }).data.index).toBe(2);
      const blank = await errorOf(enc.encode([texts[0]!, " \n\t "]));
      expect((blank as { code: string }).code).toBe("E_EMPTY_TEXT");
      expect((blank as { data: { index: number } }).data.index).toBe(1);
      const notString = await errorOf(enc.encode([texts[0]!, 42 as unknown as string]));
      expect((notString as { code: string }).code).toBe("E_INPUT");
      // The encoder still works after refusing.
      expect(maxAbsDiff(await enc.encode([texts[0]!]), row(all, dim, 0))).toBeLessThanOrEqual(tol);
    });

    it("encodes a very long text", async () => {
      const long = Array.from({ length: 400 }, (_, i) => texts[i % texts.length]).join(" ");
      expect(long.split(/\s+/).length).toBeGreaterThan(3000);
      const out = await enc.encode([long, texts[0]!]);
      expect(out.length).toBe(2 * dim);
      for (const v of out) expect(Number.isFinite(v)).toBe(true);
      expect(maxAbsDiff(row(out, dim, 1), row(all, dim, 0))).toBeLessThanOrEqual(tol);
    });

    it("encodes non-ASCII text deterministically", async () => {
      const a = await enc.encode(ENCODER_SUITE_UNICODE);
      const b = await enc.encode(ENCODER_SUITE_UNICODE);
      expect(a.length).toBe(ENCODER_SUITE_UNICODE.length * dim);
      for (const v of a) expect(Number.isFinite(v)).toBe(true);
      expect(maxAbsDiff(a, b)).toBe(0);
    });

    it("reports progress up to the number of texts", async () => {
      const seen: Array<[number, number]> = [];
      await enc.encode(texts, { batchSize: 5, onProgress: (done, total) => seen.push([done, total]) });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.at(-1)).toEqual([texts.length, texts.length]);
      for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
    });

    it("stops on an aborted signal with E_CANCELLED", async () => {
      const ac = new AbortController();
      ac.abort();
      const e = await errorOf(enc.encode(texts, { signal: ac.signal }));
      expect((e as { code: string }).code).toBe("E_CANCELLED");
    });

    it("refuses to encode after dispose, and dispose is idempotent", async () => {
      const d = await h.create();
      await d.dispose();
      await d.dispose();
      const e = await errorOf(d.encode([texts[0]!]));
      expect((e as { code: string }).code).toBe("E_DISPOSED");
    });
  });
}
