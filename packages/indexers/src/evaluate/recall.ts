import { LatentflowError } from "@latentflow/core";
import type { Neighbor } from "@latentflow/core";

/**
 * recall@k: the share of each query's true k nearest ids (from `truth`, usually an ExactIndex) that
 * `approx` found among its first k, averaged over queries. A query whose truth has fewer than k hits
 * (a small or filtered index) is scored against the hits it has; one with none scores 1.
 */
export function recallAtK(approx: readonly Neighbor[][], truth: readonly Neighbor[][], k: number): number {
  if (!Number.isInteger(k) || k <= 0) throw new LatentflowError("E_PARAM", `recallAtK: expected k a positive integer, found ${k}`);
  if (approx.length !== truth.length) {
    throw new LatentflowError("E_SHAPE", `recallAtK: expected one result list per query in both, found ${approx.length} approximate and ${truth.length} true`, {
      data: { expected: truth.length, found: approx.length },
    });
  }
  if (truth.length === 0) return 1;
  let sum = 0;
  for (let q = 0; q < truth.length; q++) {
    const want = truth[q]!.slice(0, k);
    if (want.length === 0) {
      sum += 1;
      continue;
    }
    const got = new Set(approx[q]!.slice(0, k).map((n) => n.id));
    let hit = 0;
    for (const n of want) if (got.has(n.id)) hit++;
    sum += hit / want.length;
  }
  return sum / truth.length;
}
