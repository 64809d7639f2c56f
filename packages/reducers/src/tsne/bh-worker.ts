// Worker thread of ThreadedTsneGradient: walks the shared quadtree and sums attractive forces for a range of points.
import { parentPort } from "node:worker_threads";
import type { SparseP } from "./affinities.js";
import { attraction, GROUP } from "./gradient.js";
import { bhRepulsionGrouped, InteractionList, STACK_SIZE } from "./quadtree.js";

export interface WorkerInit {
  type: "init";
  rows: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
  n: number;
  y: Float64Array;
  attr: Float64Array;
  rep: Float64Array;
}

export interface WorkerStep {
  type: "step";
  node: Float64Array;
  child: Int32Array;
  point: Int32Array;
  order: Int32Array;
  wantKl: boolean;
  theta: number;
  start: number;
  end: number;
  gStart: number;
  gEnd: number;
}

export interface WorkerReply {
  z: number;
  pLogW: number;
}

let P: SparseP | undefined;
let y: Float64Array;
let attr: Float64Array;
let rep: Float64Array;
const stack = new Int32Array(STACK_SIZE);
const list = new InteractionList();

parentPort?.on("message", (msg: WorkerInit | WorkerStep) => {
  if (msg.type === "init") {
    P = { n: msg.n, rows: msg.rows, cols: msg.cols, vals: msg.vals };
    y = msg.y;
    attr = msg.attr;
    rep = msg.rep;
    return;
  }
  const z = bhRepulsionGrouped(msg.node, msg.child, y, msg.theta, msg.order, P!.n, GROUP, msg.gStart, msg.gEnd, rep, stack, list);
  const pLogW = attraction(P!, y, 2, msg.start, msg.end, attr, msg.wantKl);
  const reply: WorkerReply = { z, pLogW };
  parentPort!.postMessage(reply);
});
