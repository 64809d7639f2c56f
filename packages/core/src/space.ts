import { LatentflowError } from "./errors.js";
import { canonicalJson } from "./hash.js";

/** Distance a space is meant to be compared with. */
export type Metric = "l2" | "cosine" | "ip";
export const METRICS: readonly Metric[] = ["l2", "cosine", "ip"];

/** What a space's points stand for; `joint` is a space several modalities were aligned into. */
export type Modality = "text" | "image" | "audio" | "joint" | "multimodal" | "tabular" | "other";

/** What made the vectors: encoder/reducer name, its version and the parameters that change its output. */
export interface Producer {
  name: string;
  version: string;
  params?: Record<string, unknown>;
}

/** A named latent space. Vectors from different spaces must never be mixed silently. */
export interface Space {
  id: string;
  dim: number;
  metric: Metric;
  normalized: boolean;
  modality: Modality;
  producer: Producer;
}

/** Builds a Space, checking its fields. */
export function defineSpace(space: Space): Space {
  if (!space.id) throw new LatentflowError("E_SPACE", "a space needs a non-empty id", { hint: "name the model and its variant, e.g. 'use-lite/512'" });
  if (!Number.isInteger(space.dim) || space.dim <= 0) {
    throw new LatentflowError("E_SPACE", `space '${space.id}': expected a positive integer dim, found ${space.dim}`);
  }
  if (!METRICS.includes(space.metric)) {
    throw new LatentflowError("E_SPACE", `space '${space.id}': expected metric one of ${METRICS.join(", ")}, found '${space.metric}'`);
  }
  return { ...space, producer: { ...space.producer } };
}

/** Why two spaces are not the same space, or undefined when they are. */
export function spaceMismatch(a: Space, b: Space): string | undefined {
  if (a.dim !== b.dim) return `dimension ${a.dim} vs ${b.dim}`;
  if (a.id !== b.id) return `space id '${a.id}' vs '${b.id}'`;
  if (a.producer.name !== b.producer.name || a.producer.version !== b.producer.version) {
    return `producer ${a.producer.name}@${a.producer.version} vs ${b.producer.name}@${b.producer.version}`;
  }
  if (canonicalJson(a.producer.params ?? {}) !== canonicalJson(b.producer.params ?? {})) {
    return `producer parameters differ (${canonicalJson(a.producer.params ?? {})} vs ${canonicalJson(b.producer.params ?? {})})`;
  }
  return undefined;
}

/** Throws E_SPACE_MISMATCH unless `b` belongs to the same space as `a`. `where` names the caller for the message. */
export function assertSameSpace(a: Space, b: Space, where: string): void {
  const why = spaceMismatch(a, b);
  if (why) {
    throw new LatentflowError("E_SPACE_MISMATCH", `${where}: vectors from different spaces (${why})`, {
      hint: "vectors made by different models or settings are not comparable; re-encode with one model or align the spaces first",
      data: { expected: a, found: b, where },
    });
  }
}
