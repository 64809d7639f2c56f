import { defineStep, mediaItem, throwIfCancelled, type Item } from "@latentflow/core";
import { z } from "zod";
import { DEFAULT_LIMIT_INPUT_PIXELS, type ImageInput } from "../decode/decode.js";
import { imagePayloadOf } from "../decode/items.js";
import { makeThumbnail } from "./thumbnail.js";

/** `encoders-image/thumbnails`: one small WebP/PNG per image item, as media items (for previews in maps and the explorer). */
export const thumbnailsStep = defineStep({
  name: "thumbnails",
  description: "Small previews of image items: the longest side scaled down to size (never up), WebP or PNG, as media items with the same ids and meta (plus width and height); an image that cannot be decoded is an item failure under onError.",
  inputs: { items: { type: "items", description: "image items or media items holding image files" } },
  outputs: { items: { type: "items", description: "one media item (image/webp or image/png) per image, same id and meta" } },
  params: z.strictObject({
    size: z.number().int().min(8).max(2048).default(128).describe("longest side in pixels"),
    format: z.enum(["webp", "png"]).default("webp"),
    quality: z.number().int().min(1).max(100).default(80).describe("WebP quality"),
    limitInputPixels: z.number().int().positive().max(1_000_000_000).default(DEFAULT_LIMIT_INPUT_PIXELS),
  }),
  shardable: "items",
  async run(ctx, { items }, p) {
    const out: Item[] = [];
    for (let i = 0; i < items.length; i++) {
      throwIfCancelled(ctx.signal, "encoders-image/thumbnails");
      const item = items[i]!;
      const where = `encoders-image/thumbnails: item ${i} (id '${item.id}')`;
      try {
        const t = await makeThumbnail((await imagePayloadOf(ctx, item, where)) as ImageInput, { ...p, where });
        out.push(mediaItem(item.id, t.mediaType, t.bytes, { ...item.meta, width: t.width, height: t.height }));
      } catch (e) {
        ctx.itemFailed({ index: i, id: item.id }, e);
      }
      ctx.progress(i + 1, items.length, "images");
    }
    return { items: out };
  },
});
