import { LatentflowError, createVectorSet, throwIfCancelled, type Item, type RowMeta, type Space, type StepContext } from "@latentflow/core";
import { imagePayloadOf } from "./decode/items.js";

/** The error of input `index`, with `data.index` set (the Encoder contract's refusal). */
export function withIndex(e: unknown, index: number): LatentflowError {
  if (e instanceof LatentflowError) return new LatentflowError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), cause: e, data: { ...e.data, index } });
  return new LatentflowError("E_INPUT", `input ${index}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, data: { index } });
}

/** An image encoder that decodes and prepares inputs on its own and runs prepared batches. */
export interface PreparedEncoder {
  readonly space: Space;
  prepare(input: unknown, where?: string): Promise<Float32Array>;
  embed(batch: readonly Float32Array[]): Promise<Float32Array>;
}

/**
 * Items → features: each batch is decoded (a bad item goes to the step's onError and is left out), then
 * run through the model in one call. Output rows keep the items' ids and meta.
 */
export async function encodeItems(ctx: StepContext, enc: PreparedEncoder, items: readonly Item[], p: { batchSize: number }, step: string) {
  const dim = enc.space.dim;
  const ids: string[] = [];
  const meta: RowMeta[] = [];
  const parts: Float32Array[] = [];
  for (let at = 0; at < items.length; at += p.batchSize) {
    throwIfCancelled(ctx.signal, step);
    const chunk = items.slice(at, at + p.batchSize);
    const prepared = await Promise.allSettled(
      chunk.map(async (item, k) => {
        const where = `${step}: item ${at + k} (id '${item.id}')`;
        return enc.prepare(await imagePayloadOf(ctx, item, where), where);
      }),
    );
    const batch: Float32Array[] = [];
    prepared.forEach((r, k) => {
      const item = chunk[k]!;
      if (r.status === "rejected") {
        ctx.itemFailed({ index: at + k, id: item.id }, r.reason);
        return;
      }
      batch.push(r.value);
      ids.push(item.id);
      meta.push(item.meta);
    });
    throwIfCancelled(ctx.signal, step);
    parts.push(await enc.embed(batch));
    ctx.progress(Math.min(at + p.batchSize, items.length), items.length, "images");
  }
  const data = new Float32Array(ids.length * dim);
  let off = 0;
  for (const part of parts) {
    data.set(part, off);
    off += part.length;
  }
  return createVectorSet({ space: enc.space, ids, data, meta });
}

