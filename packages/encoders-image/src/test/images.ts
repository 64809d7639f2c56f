import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { MediaPayload } from "@latentflow/core";

const require = createRequire(import.meta.url);

/** The folder of the 64 × 64 Google emoji PNGs (npm emoji-datasource-google). */
export const EMOJI_DIR = join(dirname(require.resolve("emoji-datasource-google/package.json")), "img", "google", "64");

/** The first `n` emoji PNGs (by file name) as media payloads: real images with alpha. */
export function emojiPayloads(n: number, from = 0): MediaPayload[] {
  const names = readdirSync(EMOJI_DIR).filter((f) => f.endsWith(".png")).sort().slice(from, from + n);
  return names.map((f) => ({ kind: "media", mediaType: "image/png", bytes: new Uint8Array(readFileSync(join(EMOJI_DIR, f))) }));
}
