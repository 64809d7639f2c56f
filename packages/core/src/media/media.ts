import { LatentflowError } from "../errors.js";
import type { RowMeta } from "../vector-set.js";

/**
 * A file a step made — a PNG grid, a WAV, a plot — as an artifact of its own type: its bytes and media
 * type, exportable as a file (`latentflow export … --to grid.png`) and servable as is.
 */
export interface Media {
  mediaType: string;
  bytes: Uint8Array;
  /** A suggested file name without a directory (e.g. "mnist-umap.png"). */
  name?: string;
  /** Facts about the media (width, height, duration, what it shows). */
  meta?: RowMeta;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Builds a Media value, checking its fields. */
export function createMedia(mediaType: string, bytes: Uint8Array, opts: { name?: string; meta?: RowMeta } = {}): Media {
  if (!/^[a-z]+\/[a-z0-9.+-]+$/i.test(mediaType)) {
    throw new LatentflowError("E_MEDIA", `media: expected a media type like 'image/png', found '${mediaType}'`);
  }
  if (opts.name !== undefined && !NAME.test(opts.name)) {
    throw new LatentflowError("E_MEDIA", `media: expected a plain file name (letters, digits, . _ -), found '${opts.name}'`);
  }
  return { mediaType, bytes, ...(opts.name ? { name: opts.name } : {}), ...(opts.meta ? { meta: opts.meta } : {}) };
}
