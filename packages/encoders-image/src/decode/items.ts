import { LatentflowError, type Item, type StepContext } from "@latentflow/core";

/**
 * An item's payload ready for an image step: media items that reference an artifact file get their bytes
 * from the store; text and audio items fail with E_INPUT.
 */
export async function imagePayloadOf(ctx: Pick<StepContext, "store">, item: Item, where: string): Promise<Item["payload"]> {
  const p = item.payload;
  if (p.kind === "image") return p;
  if (p.kind === "media") {
    if (p.bytes) return p;
    if (p.ref) return { kind: "media", mediaType: p.mediaType, bytes: await ctx.store.read(p.ref.artifact, p.ref.file) };
  }
  throw new LatentflowError("E_INPUT", `${where}: expected an image item (payload kind 'image', or 'media' holding an image file), found payload kind '${p.kind}'`, {
    hint: "read images with core/read-files (mediaTypes: ['image/*']) or core/read-idx-items",
    data: { where, found: p.kind },
  });
}
