import { LatentflowError, createVectorSet, throwIfCancelled, type EncodeOptions, type Item, type RowMeta, type Space, type StepContext } from "@latentflow/core";
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
 * The Encoder contract's `encode` over a prepared encoder: inputs decoded and prepared a batch at a time (a
 * refused input fails the call with its index, nothing returned), each batch run through the model in one
 * call, progress after each, cancellation between batches.
 */
export async function encodePrepared(enc: PreparedEncoder, inputs: readonly unknown[], opts: EncodeOptions, defaultBatchSize: number): Promise<Float32Array> {
  const where = enc.space.id;
  throwIfCancelled(opts.signal, where);
  const dim = enc.space.dim;
  const bs = opts.batchSize ?? defaultBatchSize;
  const out = new Float32Array(inputs.length * dim);
  for (let at = 0; at < inputs.length; at += bs) {
    throwIfCancelled(opts.signal, where);
    const chunk = inputs.slice(at, at + bs);
    const prepared = await Promise.allSettled(chunk.map((x, k) => enc.prepare(x, `${where}: input ${at + k}`)));
    const batch: Float32Array[] = [];
    for (const [k, r] of prepared.entries()) {
      if (r.status === "rejected") throw withIndex(r.reason, at + k);
      batch.push(r.value);
    }
    throwIfCancelled(opts.signal, where);
    out.set(await enc.embed(batch), at * dim);
    opts.onProgress?.(Math.min(at + bs, inputs.length), inputs.length);
  }
  if (inputs.length === 0) opts.onProgress?.(0, 0);
  return out;
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

