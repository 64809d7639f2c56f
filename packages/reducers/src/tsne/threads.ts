// The Barnes-Hut gradient on several threads. The main thread builds the quadtree into shared memory each
// iteration; every thread (the main one included) then walks it for its share of the points and sums the
// attractive forces of those points. Shares are fixed ranges of points, and partial sums are added in a
// fixed order, so results do not depend on thread timing: a seed gives the same map on any thread count
// that splits the points the same way (same `threads`).
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LatentflowError, workerUrl } from "@latentflow/core";
import type { SparseP } from "./affinities.js";
import type { WorkerInit, WorkerReply, WorkerStep } from "./bh-worker.js";
import { attraction, combine, GROUP, pLogP, type GradientInfo } from "./gradient.js";
import { bhRepulsionGrouped, InteractionList, QuadTree, STACK_SIZE } from "./quadtree.js";


function sharedCopy<T extends Float64Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: unknown) => void;
}

/** The 2-D Barnes-Hut t-SNE gradient split over `threads` threads (the calling one and threads − 1 workers). */
export class ThreadedTsneGradient {
  private readonly y: Float64Array;
  private readonly attr: Float64Array;
  private readonly rep: Float64Array;
  private readonly tree: QuadTree;
  private readonly stack = new Int32Array(STACK_SIZE);
  private readonly list = new InteractionList();
  /** Per thread: first group of its share of the Barnes-Hut walk, then the end. */
  private readonly groupBounds: number[];
  private readonly pLogPValue: number;
  private readonly bounds: number[];
  private readonly pending = new Map<Worker, Pending>();

  private constructor(
    private readonly P: SparseP,
    private readonly n: number,
    private readonly theta: number,
    private readonly workers: Worker[],
  ) {
    this.y = new Float64Array(new SharedArrayBuffer(n * 2 * 8));
    this.attr = new Float64Array(new SharedArrayBuffer(n * 2 * 8));
    this.rep = new Float64Array(new SharedArrayBuffer(n * 2 * 8));
    this.tree = new QuadTree(n, (b) => new SharedArrayBuffer(b));
    this.pLogPValue = pLogP(P);
    const parts = workers.length + 1;
    // Shares of points (rows of P) and of groups of the Z-order (tree walk) in the same proportions.
    this.bounds = [0];
    for (let t = 1; t < parts; t++) this.bounds.push(Math.round((n * t) / parts));
    this.bounds.push(n);
    const groups = Math.ceil(n / GROUP);
    this.groupBounds = this.bounds.map((b) => Math.round((b / n) * groups));
    const init: WorkerInit = {
      type: "init",
      rows: sharedCopy(P.rows),
      cols: sharedCopy(P.cols),
      vals: sharedCopy(P.vals),
      n,
      y: this.y,
      attr: this.attr,
      rep: this.rep,
    };
    for (const w of workers) {
      w.on("message", (r: WorkerReply) => {
        const p = this.pending.get(w);
        this.pending.delete(w);
        p?.resolve(r);
      });
      w.on("error", (e) => {
        const p = this.pending.get(w);
        this.pending.delete(w);
        p?.reject(new LatentflowError("E_WORKER", `reducers/tsne: a gradient worker failed: ${(e as Error).message}`, { cause: e }));
      });
      w.postMessage(init);
    }
  }

  /** Starts threads − 1 workers (threads defaults to the machine's cores). */
  static async create(P: SparseP, n: number, theta: number, threads?: number): Promise<ThreadedTsneGradient> {
    const t = Math.max(1, threads ?? availableParallelism());
    const workers = Array.from({ length: t - 1 }, () => new Worker(workerUrl(import.meta.url, "bh-worker.js")));
    return new ThreadedTsneGradient(P, n, theta, workers);
  }

  async evaluate(y: Float64Array, exaggeration: number, grad: Float64Array, wantKl = true): Promise<GradientInfo> {
    const ys = this.y;
    ys.set(y);
    const tree = this.tree;
    tree.build(ys, this.n);
    const replies = this.workers.map((w, i) => {
      const msg: WorkerStep = {
        type: "step",
        node: tree.node,
        child: tree.child,
        point: tree.point,
        order: tree.order,
        wantKl,
        theta: this.theta,
        start: this.bounds[i + 1],
        end: this.bounds[i + 2],
        gStart: this.groupBounds[i + 1],
        gEnd: this.groupBounds[i + 2],
      };
      return new Promise<WorkerReply>((resolve, reject) => {
        this.pending.set(w, { resolve, reject });
        w.postMessage(msg);
      });
    });
    const end = this.bounds[1];
    let z = bhRepulsionGrouped(tree.node, tree.child, ys, this.theta, tree.order, this.n, GROUP, 0, this.groupBounds[1], this.rep, this.stack, this.list);
    let pLogW = attraction(this.P, ys, 2, 0, end, this.attr, wantKl);
    for (const r of await Promise.all(replies)) {
      z += r.z;
      pLogW += r.pLogW;
    }
    return combine(this.attr, this.rep, z, pLogW, exaggeration, this.pLogPValue, grad);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
