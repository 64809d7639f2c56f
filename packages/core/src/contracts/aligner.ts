import { LatentflowError } from "../errors.js";
import type { ModelArtifact } from "../ports.js";
import type { Space } from "../space.js";
import type { VectorSet } from "../vector-set.js";

/** Per-call options of an aligner. */
export interface AlignOptions {
  onProgress?: (done: number, total: number, message?: string) => void;
  /** Fires cancellation: the call rejects with E_CANCELLED. */
  signal?: AbortSignal;
}

/**
 * Learns one joint space from pairs of points of two spaces (`a` and `b`: two vector sets whose ids pair up)
 * and projects vectors of either side into it. The joint space (modality `joint`) names both source
 * spaces and the method, so joint vectors of two fits are never mixed. `project` refuses vectors of any
 * space but the two it was fitted on. Conformance: the aligner suite of @latentflow/contract-tests.
 */
export interface Aligner {
  /** The two source spaces, `a` then `b` (undefined before fit). */
  readonly sourceSpaces: readonly [Space, Space] | undefined;
  /** The space `project` returns (undefined before fit). */
  readonly jointSpace: Space | undefined;
  /** Fits on the rows of `a` and `b` that share an id; at least `minPairs` such pairs. */
  fit(a: VectorSet, b: VectorSet, opts?: AlignOptions): Promise<this>;
  /** Vectors of either source space → the joint space, ids and meta kept. */
  project(vs: VectorSet, opts?: AlignOptions): Promise<VectorSet>;
  save(): ModelArtifact;
  dispose(): Promise<void>;
}

/** Rows of `a` and `b` paired by id, in `a`'s order: the row indices of each pair. */
export function pairById(a: VectorSet, b: VectorSet, where: string, minPairs = 1): { ids: string[]; rowsA: number[]; rowsB: number[] } {
  const inB = new Map<string, number>();
  for (let i = 0; i < b.ids.length; i++) inB.set(b.ids[i]!, i);
  const ids: string[] = [];
  const rowsA: number[] = [];
  const rowsB: number[] = [];
  for (let i = 0; i < a.ids.length; i++) {
    const j = inB.get(a.ids[i]!);
    if (j === undefined) continue;
    ids.push(a.ids[i]!);
    rowsA.push(i);
    rowsB.push(j);
  }
  if (ids.length < minPairs) {
    throw new LatentflowError("E_TOO_FEW_PAIRS", `${where}: expected at least ${minPairs} pairs (rows of the two sets sharing an id), found ${ids.length} among ${a.ids.length} × ${b.ids.length} rows`, {
      hint: "pairs are matched by id: give both sides' items the same ids (e.g. the image file's id for its caption)",
      data: { expected: minPairs, found: ids.length, where },
    });
  }
  return { ids, rowsA, rowsB };
}
