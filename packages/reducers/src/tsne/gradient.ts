// Gradients of t-SNE's KL(P‖Q) with Student-t (one degree of freedom) similarities w = 1/(1 + d²),
// Q = w / Z: ∂C/∂y_i = 4 [ Σ_j α·p_ij w_ij (y_i − y_j) − Σ_j w_ij² (y_i − y_j) / Z ] (α: exaggeration).
// The attractive sum runs over the sparse P exactly; the repulsive one is exact (O(n²)) or Barnes-Hut.
import type { SparseP } from "./affinities.js";
import { bhRepulsionGrouped, InteractionList, QuadTree, STACK_SIZE } from "./quadtree.js";

/** Points per Barnes-Hut group (see bhRepulsionGrouped). */
export const GROUP = 16;

// scikit-learn clips p and q at float32's smallest normal in the KL: log(0) never appears.
const TINY = 1.1754943508222875e-38;

/** Σ_j p_ij w_ij (y_i − y_j) for rows [start, end), into attr; returns Σ p_ij log w_ij over those rows (for the KL). */
export function attraction(P: SparseP, y: Float64Array, d: number, start: number, end: number, attr: Float64Array, wantKl = true): number {
  const { rows, cols, vals } = P;
  let pLogW = 0;
  if (d === 2 && !wantKl) {
    for (let i = start; i < end; i++) {
      const xi = y[2 * i];
      const yi = y[2 * i + 1];
      let fx = 0;
      let fy = 0;
      for (let e = rows[i]; e < rows[i + 1]; e++) {
        const j = cols[e];
        const dx = xi - y[2 * j];
        const dy = yi - y[2 * j + 1];
        const pw = vals[e] / (1 + dx * dx + dy * dy);
        fx += pw * dx;
        fy += pw * dy;
      }
      attr[2 * i] = fx;
      attr[2 * i + 1] = fy;
    }
    return Number.NaN;
  }
  if (d === 2) {
    for (let i = start; i < end; i++) {
      const xi = y[2 * i];
      const yi = y[2 * i + 1];
      let fx = 0;
      let fy = 0;
      for (let e = rows[i]; e < rows[i + 1]; e++) {
        const j = cols[e];
        const dx = xi - y[2 * j];
        const dy = yi - y[2 * j + 1];
        const w = 1 / (1 + dx * dx + dy * dy);
        const pw = vals[e] * w;
        fx += pw * dx;
        fy += pw * dy;
        pLogW += vals[e] * Math.log(Math.max(w, TINY));
      }
      attr[2 * i] = fx;
      attr[2 * i + 1] = fy;
    }
    return pLogW;
  }
  for (let i = start; i < end; i++) {
    for (let a = 0; a < d; a++) attr[i * d + a] = 0;
    for (let e = rows[i]; e < rows[i + 1]; e++) {
      const j = cols[e];
      let d2 = 0;
      for (let a = 0; a < d; a++) {
        const t = y[i * d + a] - y[j * d + a];
        d2 += t * t;
      }
      const w = 1 / (1 + d2);
      const pw = vals[e] * w;
      for (let a = 0; a < d; a++) attr[i * d + a] += pw * (y[i * d + a] - y[j * d + a]);
      pLogW += vals[e] * Math.log(Math.max(w, TINY));
    }
  }
  return pLogW;
}

/** Exact repulsion Σ_j w_ij² (y_i − y_j) over all pairs into rep; returns Z = Σ_{i≠j} w_ij. */
export function exactRepulsion(y: Float64Array, n: number, d: number, rep: Float64Array): number {
  rep.fill(0, 0, n * d);
  let z = 0;
  const diff = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let a = 0; a < d; a++) {
        const t = y[i * d + a] - y[j * d + a];
        diff[a] = t;
        d2 += t * t;
      }
      const w = 1 / (1 + d2);
      z += 2 * w;
      const w2 = w * w;
      for (let a = 0; a < d; a++) {
        rep[i * d + a] += w2 * diff[a];
        rep[j * d + a] -= w2 * diff[a];
      }
    }
  }
  return z;
}

/** Σ p log p over P (constant across iterations; the KL is this minus Σ p log q). */
export function pLogP(P: SparseP): number {
  let s = 0;
  for (let e = 0; e < P.vals.length; e++) {
    const p = P.vals[e];
    s += p * Math.log(Math.max(p, TINY));
  }
  return s;
}

/** What a gradient evaluation returns besides the gradient: Z and the KL of the (exaggerated) P. */
export interface GradientInfo {
  z: number;
  kl: number;
}

/**
 * Scratch buffers of one gradient evaluator. `repulsion` may be replaced (worker threads) as long as it
 * fills rep for all points and returns Z.
 */
export class TsneGradient {
  readonly attr: Float64Array;
  readonly rep: Float64Array;
  readonly tree: QuadTree | undefined;
  private readonly stack = new Int32Array(STACK_SIZE);
  private readonly list = new InteractionList();
  private readonly pLogPValue: number;

  constructor(
    readonly P: SparseP,
    readonly n: number,
    readonly d: number,
    readonly method: "exact" | "barnes_hut",
    readonly theta: number,
    buffers: { rep?: Float64Array; tree?: QuadTree } = {},
  ) {
    this.attr = new Float64Array(n * d);
    this.rep = buffers.rep ?? new Float64Array(n * d);
    this.tree = method === "barnes_hut" ? (buffers.tree ?? new QuadTree(n)) : undefined;
    this.pLogPValue = pLogP(P);
  }

  /** Fills rep and returns Z; overridable by a threaded version. */
  async repulsion(y: Float64Array): Promise<number> {
    if (this.method === "exact") return exactRepulsion(y, this.n, this.d, this.rep);
    const tree = this.tree!;
    tree.build(y, this.n);
    return bhRepulsionGrouped(tree.node, tree.child, y, this.theta, tree.order, this.n, GROUP, 0, Math.ceil(this.n / GROUP), this.rep, this.stack, this.list);
  }

  /** Σ p_ij log w_ij over the sparse P into attr; overridable by a threaded version. */
  async attraction(y: Float64Array, wantKl: boolean): Promise<number> {
    return attraction(this.P, y, this.d, 0, this.n, this.attr, wantKl);
  }

  /**
   * The gradient at y into grad (scikit-learn's sign: descend along −grad) with P multiplied by
   * `exaggeration`, and (when wantKl, else NaN) the KL divergence of that P from Q (exact Q for the
   * exact method, the Barnes-Hut estimate of Z otherwise).
   */
  async evaluate(y: Float64Array, exaggeration: number, grad: Float64Array, wantKl = true): Promise<GradientInfo> {
    const z = await this.repulsion(y);
    const pLogW = await this.attraction(y, wantKl);
    return combine(this.attr, this.rep, z, pLogW, exaggeration, this.pLogPValue, grad);
  }

  /** KL(P‖Q) at y with Z summed over all pairs (O(n²)). */
  klAt(y: Float64Array): number {
    const rep = new Float64Array(this.n * this.d);
    const z = exactRepulsion(y, this.n, this.d, rep);
    const pLogW = attraction(this.P, y, this.d, 0, this.n, this.attr);
    return this.pLogPValue - (pLogW - Math.log(z));
  }
}

/** grad = 4 (α·attr − rep / Z) and the KL of αP from Q given Σ p log w. */
export function combine(attr: Float64Array, rep: Float64Array, z: number, pLogW: number, exaggeration: number, pLogPValue: number, grad: Float64Array): GradientInfo {
  const invZ = 1 / z;
  for (let i = 0, len = grad.length; i < len; i++) grad[i] = 4 * (exaggeration * attr[i] - rep[i] * invZ);
  // KL(αP‖Q) = α Σ p log(αp) − α Σ p log(w / Z), with Σ p = 1.
  const a = exaggeration;
  const kl = a * (pLogPValue + Math.log(a)) - a * (pLogW - Math.log(z));
  return { z, kl };
}
