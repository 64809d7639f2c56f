import { z } from "zod";
import { LatentflowError } from "../errors.js";
import { sha256File } from "../hash.js";
import { readIdxItems } from "../io/idx.js";
import { inputFile } from "../pipeline/input-files.js";
import { defineStep } from "../plugin.js";
import { defineSpace } from "../space.js";
import { createVectorSet, type RowMeta } from "../vector-set.js";

const params = z.strictObject({
  images: inputFile(z.string().min(1).describe("IDX file of items (e.g. train-images-idx3-ubyte, plain or .gz)")),
  labels: inputFile(z.string().min(1)).optional().describe("IDX file of labels, one per item; stored as meta.label"),
  offset: z.number().int().min(0).default(0).describe("first item to read"),
  limit: z.number().int().positive().optional().describe("read at most this many items"),
  scale: z.number().positive().default(1).describe("divide every value by this (255 maps bytes to [0, 1])"),
  idPrefix: z.string().default("").describe("prefix of row ids; ids are prefix + item number"),
});

/** `core/read-idx`: MNIST-style IDX tensors (plain or gzipped) → one flattened vector per item, labels in meta. */
export const readIdxStep = defineStep({
  name: "read-idx",
  description: "Read an IDX file (MNIST format, plain or gzipped) as vectors, one flattened row per item, with optional labels.",
  inputs: {},
  outputs: { vectors: { type: "vectors", description: "items flattened to rows; meta.label when labels are given" } },
  params,
  resources: { memoryMb: 1024 },
  async fingerprint(p, env) {
    const files = [p.images, ...(p.labels ? [p.labels] : [])];
    const hashes = await Promise.all(files.map(async (f) => sha256File(env.resolvePath(f))));
    return hashes.join(",");
  },
  async run(ctx, _inputs, p) {
    const imagesPath = ctx.resolvePath(p.images);
    // Only the items asked for are read (and inflated): the header says where they are.
    const { tensor: images, total } = await readIdxItems(imagesPath, { offset: p.offset, limit: p.limit });
    if (images.shape.length < 2) {
      throw new LatentflowError("E_IDX_KIND", `read-idx: param 'images' expects items of shape [n, …] (rank 2 or more), found a rank-${images.shape.length} IDX file [${total}] in ${imagesPath}`, {
        hint: "a rank-1 IDX file holds one value per item — that is a labels file (e.g. t10k-labels-idx1-ubyte); give it as 'labels' and the -images- file as 'images'",
        data: { param: "images", path: imagesPath, total },
      });
    }
    // An empty file is a valid empty set; only an offset into a non-empty one can be past the end.
    if (p.offset > 0 && p.offset >= total) {
      throw new LatentflowError("E_PARAM", `read-idx: offset ${p.offset} is past the end of ${imagesPath} (${total} items)`);
    }
    const n = images.shape[0] ?? 0;
    const dim = images.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = new Float32Array(n * dim);
    const src = images.data;
    const inv = 1 / p.scale;
    for (let i = 0; i < n * dim; i++) data[i] = Number(src[i]) * (p.scale === 1 ? 1 : inv);
    let meta: RowMeta[] | undefined;
    if (p.labels) {
      const labelsPath = ctx.resolvePath(p.labels);
      const { tensor: labels, total: labelTotal } = await readIdxItems(labelsPath, { offset: p.offset, limit: n });
      if (labels.shape.length !== 1) {
        throw new LatentflowError("E_IDX_KIND", `read-idx: param 'labels' expects one value per item (a rank-1 IDX file), found a rank-${labels.shape.length} IDX file [${[labelTotal, ...labels.shape.slice(1)].join(", ")}] in ${labelsPath}`, {
          hint: "this looks like an images file; give it as 'images' and the -labels-idx1- file as 'labels'",
          data: { param: "labels", path: labelsPath, total: labelTotal },
        });
      }
      if (labelTotal !== total) {
        throw new LatentflowError("E_SHAPE", `read-idx: expected ${total} labels (one per item of ${imagesPath}), found ${labelTotal} in ${labelsPath}`);
      }
      meta = Array.from({ length: n }, (_, i) => ({ label: Number(labels.data[i]) }));
    }
    const space = defineSpace({
      id: `pixels/${images.shape.slice(1).join("x")}`,
      dim,
      metric: "l2",
      normalized: false,
      modality: "image",
      producer: { name: "core/read-idx", version: "1", params: { scale: p.scale } },
    });
    const ids = Array.from({ length: n }, (_, i) => `${p.idPrefix}${p.offset + i}`);
    ctx.progress(n, n);
    return { vectors: createVectorSet({ space, data, ids, ...(meta ? { meta } : {}) }) };
  },
});
