import {
  fail,
  LatentflowError,
  assertFinite,
  defineSpace,
  pairById,
  sha256,
  spaceMismatch,
  throwIfCancelled,
  type AlignOptions,
  type Aligner,
  type ModelArtifact,
  type Space,
  type VectorSet,
} from "@latentflow/core";
import { encodeNpy, parseNpy } from "@latentflow/core/io";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { VERSION } from "../version.js";

export const PROCRUSTES_KIND = "multimodal/procrustes";
const FORMAT = "1";

interface Fitted {
  spaces: readonly [Space, Space];
  joint: Space;
  /** d×d row-major: a-side centred, scaled rows times this land in b's frame. */
  rotation: Float64Array;
  meanA: Float64Array;
  meanB: Float64Array;
  /** Root mean squared norm of each side's centred rows: both sides are divided by theirs. */
  scaleA: number;
  scaleB: number;
  pairs: number;
}


function centre(vs: VectorSet, rows: number[]): { mean: Float64Array; scale: number; x: Matrix } {
  const d = vs.space.dim;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += vs.data[r * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= rows.length;
  const x = new Matrix(rows.length, d);
  let ss = 0;
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) {
      const v = vs.data[r * d + j]! - mean[j]!;
      x.set(i, j, v);
      ss += v * v;
    }
  });
  const scale = Math.sqrt(ss / rows.length) || 1;
  return { mean, scale, x };
}

/**
 * Orthogonal Procrustes (Schönemann 1966): both sides centred and scaled to unit RMS norm, then the rotation
 * R = U Vᵀ from the SVD of Aᵀ B maps side a onto side b; the joint space is b's (centred, scaled) frame.
 * Closed form, deterministic, for two spaces of one dimension (reduce one with PCA first otherwise). The
 * alignment of choice when both spaces are isometric up to rotation — word vectors of two languages, two
 * runs of one model; for spaces related by a general linear map, ridge or CCA (coming) fit better.
 */
export class ProcrustesAligner implements Aligner {
  private state: Fitted | undefined;

  get sourceSpaces(): readonly [Space, Space] | undefined {
    return this.state?.spaces;
  }

  get jointSpace(): Space | undefined {
    return this.state?.joint;
  }

  async fit(a: VectorSet, b: VectorSet, opts: AlignOptions = {}): Promise<this> {
    const where = "Procrustes fit";
    throwIfCancelled(opts.signal, where);
    if (a.space.dim !== b.space.dim) {
      fail("E_DIM_MISMATCH", `${where}: expected two spaces of one dimension, found ${a.space.dim} ('${a.space.id}') and ${b.space.dim} ('${b.space.id}')`, "reduce the larger side to the smaller's dimension first (reducers/pca), or use an aligner that maps between dimensions");
    }
    if (!spaceMismatch(a.space, b.space)) fail("E_SAME_SPACE", `${where}: both sides are the space '${a.space.id}'`, "an aligner joins two different spaces");
    assertFinite(a.data, a.space.dim, a.ids, `${where}, side a`);
    assertFinite(b.data, b.space.dim, b.ids, `${where}, side b`);
    const { ids, rowsA, rowsB } = pairById(a, b, where, 2);
    const A = centre(a, rowsA);
    const B = centre(b, rowsB);
    throwIfCancelled(opts.signal, where);
    const m = A.x.transpose().mmul(B.x).div(A.scale * B.scale);
    const svd = new SingularValueDecomposition(m, { autoTranspose: true });
    const r = svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose());
    const d = a.space.dim;
    const rotation = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) rotation[i * d + j] = r.get(i, j);
    opts.onProgress?.(1, 1, "fitted");
    const fit = sha256(new Uint8Array(rotation.buffer)).slice(0, 16);
    const joint = defineSpace({
      id: `joint/procrustes/${a.space.id}+${b.space.id}/${fit}`,
      dim: d,
      metric: "l2",
      normalized: false,
      modality: "joint",
      producer: { name: PROCRUSTES_KIND, version: VERSION, params: { a: a.space.id, b: b.space.id, pairs: ids.length, fit } },
    });
    this.state = { spaces: [a.space, b.space], joint, rotation, meanA: A.mean, meanB: B.mean, scaleA: A.scale, scaleB: B.scale, pairs: ids.length };
    return this;
  }

  async project(vs: VectorSet, opts: AlignOptions = {}): Promise<VectorSet> {
    const s = this.fitted("project");
    const where = "Procrustes project";
    throwIfCancelled(opts.signal, where);
    const side = !spaceMismatch(s.spaces[0], vs.space) ? 0 : !spaceMismatch(s.spaces[1], vs.space) ? 1 : -1;
    if (side < 0) {
      throw new LatentflowError("E_SPACE_MISMATCH", `${where}: expected vectors of '${s.spaces[0].id}' or '${s.spaces[1].id}', found '${vs.space.id}'`, {
        hint: "an aligner projects only the two spaces it was fitted on",
        data: { expected: [s.spaces[0].id, s.spaces[1].id], found: vs.space.id, where },
      });
    }
    const d = s.joint.dim;
    const n = vs.ids.length;
    if (vs.data.length !== n * d) fail("E_SHAPE", `${where}: expected ${n} × ${d} values, found ${vs.data.length}`);
    assertFinite(vs.data, d, vs.ids, where);
    const mean = side === 0 ? s.meanA : s.meanB;
    const scale = side === 0 ? s.scaleA : s.scaleB;
    const out = new Float32Array(n * d);
    const x = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) x[j] = (vs.data[i * d + j]! - mean[j]!) / scale;
      if (side === 1) {
        for (let j = 0; j < d; j++) out[i * d + j] = x[j]!;
        continue;
      }
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let k = 0; k < d; k++) acc += x[k]! * s.rotation[k * d + j]!;
        out[i * d + j] = acc;
      }
    }
    return { space: s.joint, ids: vs.ids.slice(), data: out, ...(vs.meta ? { meta: vs.meta } : {}) };
  }

  save(): ModelArtifact {
    const s = this.fitted("save");
    const d = s.joint.dim;
    return {
      kind: PROCRUSTES_KIND,
      format: FORMAT,
      meta: { sourceSpaces: s.spaces, jointSpace: s.joint, scaleA: s.scaleA, scaleB: s.scaleB, pairs: s.pairs },
      files: {
        "rotation.npy": encodeNpy({ dtype: "float64", shape: [d, d], data: s.rotation }),
        "mean-a.npy": encodeNpy({ dtype: "float64", shape: [d], data: s.meanA }),
        "mean-b.npy": encodeNpy({ dtype: "float64", shape: [d], data: s.meanB }),
      },
    };
  }

  /** Reads a model written by `save`. */
  static load(artifact: ModelArtifact): ProcrustesAligner {
    if (artifact.kind !== PROCRUSTES_KIND) fail("E_ARTIFACT_KIND", `expected a '${PROCRUSTES_KIND}' model artifact, found '${artifact.kind}'`);
    if (artifact.format !== FORMAT) fail("E_ARTIFACT_FORMAT", `${PROCRUSTES_KIND} artifact: expected format ${FORMAT}, found ${artifact.format}`);
    const file = (name: string) => parseNpy(artifact.files[name] ?? fail("E_ARTIFACT_FORMAT", `${PROCRUSTES_KIND} artifact: expected a file '${name}'`)).data as Float64Array;
    const m = artifact.meta as { sourceSpaces: [Space, Space]; jointSpace: Space; scaleA: number; scaleB: number; pairs: number };
    const joint = defineSpace(m.jointSpace);
    const rotation = Float64Array.from(file("rotation.npy"));
    if (rotation.length !== joint.dim * joint.dim) fail("E_ARTIFACT_FORMAT", `${PROCRUSTES_KIND} artifact: expected a ${joint.dim}×${joint.dim} rotation, found ${rotation.length} values`);
    const al = new ProcrustesAligner();
    al.state = {
      spaces: [defineSpace(m.sourceSpaces[0]), defineSpace(m.sourceSpaces[1])],
      joint,
      rotation,
      meanA: Float64Array.from(file("mean-a.npy")),
      meanB: Float64Array.from(file("mean-b.npy")),
      scaleA: m.scaleA,
      scaleB: m.scaleB,
      pairs: m.pairs,
    };
    return al;
  }

  /** Holds no native memory or threads; idempotent. */
  async dispose(): Promise<void> {}

  private fitted(what: string): Fitted {
    if (!this.state) fail("E_NOT_FITTED", `Procrustes: ${what} needs a fitted aligner`, "call fit(a, b) on paired vector sets first, or ProcrustesAligner.load(artifact)");
    return this.state;
  }
}
