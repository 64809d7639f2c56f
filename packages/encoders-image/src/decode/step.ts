import { defineStep, throwIfCancelled, type Item } from "@latentflow/core";
import { z } from "zod";
import { DEFAULT_LIMIT_INPUT_PIXELS, rgbOf } from "./decode.js";
import { imagePayloadOf } from "./items.js";

const rgb = z.number().int().min(0).max(255);

/** `encoders-image/decode`: media items holding image files → decoded 8-bit RGB image items. */
export const decodeStep = defineStep({
  name: "decode",
  description: "Decode image files (PNG, JPEG incl. CMYK and progressive, WebP, GIF first frame, TIFF, AVIF, 16-bit PNG) with sharp into 8-bit RGB image items: EXIF orientation applied, alpha flattened onto a background, grey → RGB; a corrupt, truncated, empty or too large file is an item failure under onError.",
  inputs: { items: { type: "items", description: "media items holding image files (or image items, converted to 8-bit RGB)" } },
  outputs: { items: { type: "items", description: "one image item (RGB, HWC, uint8) per decoded image, same id and meta" } },
  params: z.strictObject({
    limitInputPixels: z.number().int().positive().max(1_000_000_000).default(DEFAULT_LIMIT_INPUT_PIXELS).describe("a file with more pixels fails as an item (E_IMAGE_TOO_LARGE) before it is decoded"),
    background: z.tuple([rgb, rgb, rgb]).default([255, 255, 255]).describe("RGB that transparent pixels are flattened onto"),
  }),
  resources: { memoryMb: 2048 },
  shardable: "items",
  async run(ctx, { items }, p) {
    const out: Item[] = [];
    for (let i = 0; i < items.length; i++) {
      throwIfCancelled(ctx.signal, "encoders-image/decode");
      const item = items[i]!;
      const where = `encoders-image/decode: item ${i} (id '${item.id}')`;
      try {
        const img = await rgbOf(await imagePayloadOf(ctx, item, where), { limitInputPixels: p.limitInputPixels, background: p.background, where });
        out.push({ id: item.id, meta: item.meta, payload: img });
      } catch (e) {
        ctx.itemFailed({ index: i, id: item.id }, e);
      }
      ctx.progress(i + 1, items.length, "images");
    }
    return { items: out };
  },
});
