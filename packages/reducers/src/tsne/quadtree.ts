// A Barnes-Hut quadtree over a 2-D embedding, stored in flat typed arrays (one slot per node, the four
// children of a node contiguous) so that building it allocates nothing per node and walking it touches
// a few cache lines. It is rebuilt every iteration: building is O(n log n) and cheaper than updating.

// Points closer than this share a leaf at the bottom instead of splitting forever.
const MAX_DEPTH = 48;
/** Stack entries a walk of the tree can need. */
export const STACK_SIZE = 3 * MAX_DEPTH + 8;

/** A quadtree whose node arrays may live in shared memory, so worker threads can walk the same tree. */
export class QuadTree {
  /** Per node: centre of mass x, y (sums while building), point count, squared cell width. */
  node: Float64Array;
  /** Per node: index of its first child, or -1 for a leaf. */
  child: Int32Array;
  /** Per leaf: the index of a point it holds (its duplicates share it), or -1 when empty. */
  point: Int32Array;
  /** The points sorted along a Z-order (Morton) curve: walking them in this order keeps the tree in cache. */
  order: Int32Array;
  private keys: Float64Array;
  /** Per node: cell centre x, y and half width (only needed while building). */
  private box: Float64Array;
  size = 0;
  private capacity: number;

  constructor(expectedPoints: number, private readonly alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b)) {
    this.capacity = 0;
    this.order = new Int32Array(alloc(expectedPoints * 4));
    this.keys = new Float64Array(expectedPoints);
    this.node = new Float64Array(0);
    this.child = new Int32Array(0);
    this.point = new Int32Array(0);
    this.box = new Float64Array(0);
    this.grow(Math.max(64, 4 * expectedPoints));
  }

  private grow(capacity: number): void {
    const node = new Float64Array(this.alloc(capacity * 4 * 8));
    const child = new Int32Array(this.alloc(capacity * 4));
    const point = new Int32Array(this.alloc(capacity * 4));
    const box = new Float64Array(capacity * 3);
    node.set(this.node.subarray(0, this.size * 4));
    child.set(this.child.subarray(0, this.size));
    point.set(this.point.subarray(0, this.size));
    box.set(this.box.subarray(0, this.size * 3));
    this.node = node;
    this.child = child;
    this.point = point;
    this.box = box;
    this.capacity = capacity;
  }

  /** True when the last build had to grow the arrays (shared copies must be re-sent). */
  grew = false;

  private newNodes(count: number, cx: number, cy: number, half: number): number {
    if (this.size + count > this.capacity) {
      this.grow(Math.ceil((this.size + count) * 1.5));
      this.grew = true;
    }
    const first = this.size;
    this.size += count;
    const h = half / 2;
    for (let c = 0; c < count; c++) {
      const id = first + c;
      const o = id * 4;
      this.node[o] = 0;
      this.node[o + 1] = 0;
      this.node[o + 2] = 0;
      this.child[id] = -1;
      this.point[id] = -1;
      // Children in order: (−x,−y), (+x,−y), (−x,+y), (+x,+y).
      const bx = count === 1 ? cx : cx + (c & 1 ? h : -h);
      const by = count === 1 ? cy : cy + (c & 2 ? h : -h);
      const bh = count === 1 ? half : h;
      this.box[id * 3] = bx;
      this.box[id * 3 + 1] = by;
      this.box[id * 3 + 2] = bh;
      this.node[o + 3] = 4 * bh * bh;
    }
    return first;
  }

  /** Rebuilds the tree over points (x, y) = (y[2i], y[2i+1]). */
  build(y: Float64Array, n: number): void {
    this.size = 0;
    this.grew = false;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const x0 = y[2 * i], y0 = y[2 * i + 1];
      if (x0 < minX) minX = x0;
      if (x0 > maxX) maxX = x0;
      if (y0 < minY) minY = y0;
      if (y0 > maxY) maxY = y0;
    }
    const half = Math.max(maxX - minX, maxY - minY, 1e-12) / 2 * (1 + 1e-6);
    this.newNodes(1, (minX + maxX) / 2, (minY + maxY) / 2, half);
    for (let i = 0; i < n; i++) this.insert(y, i, y[2 * i], y[2 * i + 1]);
    this.sortMorton(y, n, minX, minY, half);
    // Sums become centres of mass.
    const node = this.node;
    for (let id = 0; id < this.size; id++) {
      const o = id * 4;
      const c = node[o + 2];
      if (c > 0) {
        node[o] /= c;
        node[o + 1] /= c;
      }
    }
  }

  private sortMorton(y: Float64Array, n: number, minX: number, minY: number, half: number): void {
    if (this.keys.length < n) {
      this.keys = new Float64Array(n);
      this.order = new Int32Array(this.alloc(n * 4));
    }
    const keys = this.keys;
    const scale = 65535 / (2 * half);
    // key = morton(x, y) · 2²¹ + i, exact in a double for n < 2²¹.
    for (let i = 0; i < n; i++) {
      const qx = Math.min(65535, Math.floor((y[2 * i] - minX) * scale));
      const qy = Math.min(65535, Math.floor((y[2 * i + 1] - minY) * scale));
      keys[i] = (spread(qx) | (spread(qy) << 1)) >>> 0;
      keys[i] = keys[i] * 2097152 + i;
    }
    const sorted = keys.subarray(0, n).sort();
    for (let i = 0; i < n; i++) this.order[i] = sorted[i] % 2097152;
  }

  private insert(pos: Float64Array, p: number, x: number, y: number): void {
    let id = 0;
    let depth = 0;
    for (;;) {
      const o = id * 4;
      const before = this.node[o + 2];
      this.node[o] += x;
      this.node[o + 1] += y;
      this.node[o + 2] = before + 1;
      const first = this.child[id];
      if (first >= 0) {
        id = first + this.quadrant(id, x, y);
        depth++;
        continue;
      }
      if (before === 0) {
        this.point[id] = p;
        return;
      }
      // An occupied leaf: its points all sit where point[id] sits (or we are at the bottom).
      const q = this.point[id];
      const qx = pos[2 * q];
      const qy = pos[2 * q + 1];
      if ((qx === x && qy === y) || depth >= MAX_DEPTH) return;
      const b = id * 3;
      const c0 = this.newNodes(4, this.box[b], this.box[b + 1], this.box[b + 2]);
      this.child[id] = c0;
      this.point[id] = -1;
      const qc = c0 + this.quadrant(id, qx, qy);
      this.node[qc * 4] = qx * before;
      this.node[qc * 4 + 1] = qy * before;
      this.node[qc * 4 + 2] = before;
      this.point[qc] = q;
      id = c0 + this.quadrant(id, x, y);
      depth++;
    }
  }

  private quadrant(id: number, x: number, y: number): number {
    return (x > this.box[id * 3] ? 1 : 0) | (y > this.box[id * 3 + 1] ? 2 : 0);
  }
}

/** Spreads the 16 low bits of v to the even bit positions (for Morton codes). */
function spread(v: number): number {
  v &= 0xffff;
  v = (v | (v << 8)) & 0x00ff00ff;
  v = (v | (v << 4)) & 0x0f0f0f0f;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v;
}

/**
 * Barnes-Hut repulsion for points [start, end) (of `order` when given): for each point i, the sum over cells of
 * count·w²·(y_i − com) (w = 1/(1 + d²)) into rep[2i..2i+1], and the returned Σ count·w, which is
 * point i's share of the normalisation Z. A cell is summarised when its width < theta · distance
 * (scikit-learn's criterion). With skipSelf, y holds the tree's own points and point i leaves itself
 * out; without, y holds other points (new points placed against a fixed map).
 */
export function bhRepulsion(
  node: Float64Array,
  child: Int32Array,
  point: Int32Array,
  y: Float64Array,
  theta: number,
  start: number,
  end: number,
  rep: Float64Array,
  stack: Int32Array,
  skipSelf = true,
  order?: Int32Array,
): number {
  const theta2 = theta * theta;
  let zSum = 0;
  for (let s = start; s < end; s++) {
    const i = order ? order[s] : s;
    const xi = y[2 * i];
    const yi = y[2 * i + 1];
    let fx = 0;
    let fy = 0;
    let z = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      const o = id * 4;
      let cnt = node[o + 2];
      if (cnt === 0) continue;
      const dx = xi - node[o];
      const dy = yi - node[o + 1];
      const d2 = dx * dx + dy * dy;
      const first = child[id];
      if (first < 0 || node[o + 3] < theta2 * d2) {
        if (skipSelf && first < 0 && point[id] === i) {
          cnt -= 1;
          if (cnt === 0) continue;
        }
        const w = 1 / (1 + d2);
        const cw = cnt * w;
        z += cw;
        const m = cw * w;
        fx += m * dx;
        fy += m * dy;
      } else {
        // Empty cells are common (a split leaves up to three); do not visit them.
        if (node[first * 4 + 2] !== 0) stack[sp++] = first;
        if (node[first * 4 + 6] !== 0) stack[sp++] = first + 1;
        if (node[first * 4 + 10] !== 0) stack[sp++] = first + 2;
        if (node[first * 4 + 14] !== 0) stack[sp++] = first + 3;
      }
    }
    rep[2 * i] = fx;
    rep[2 * i + 1] = fy;
    zSum += z;
  }
  return zSum;
}

/** A growable buffer of interaction-list entries (x, y, count), reused across calls. */
export class InteractionList {
  data = new Float64Array(3 * 4096);
}

/**
 * Barnes-Hut repulsion computed per group of `group` consecutive points of `order` (a Z-order curve, so
 * a group is a small patch of the map): the tree is walked once per group with the test applied to the
 * group's bounding box — a cell is summarised only if its width < theta × its distance to the nearest
 * point of the box, so every point of the group meets scikit-learn's per-point criterion — and then
 * each point of the group runs down the resulting interaction list in a tight loop. Same outputs as
 * bhRepulsion (at least as accurate), for groups [gStart, gEnd).
 */
export function bhRepulsionGrouped(
  node: Float64Array,
  child: Int32Array,
  y: Float64Array,
  theta: number,
  order: Int32Array,
  n: number,
  group: number,
  gStart: number,
  gEnd: number,
  rep: Float64Array,
  stack: Int32Array,
  list: InteractionList,
): number {
  const theta2 = theta * theta;
  let zSum = 0;
  for (let g = gStart; g < gEnd; g++) {
    const s0 = g * group;
    const s1 = Math.min(n, s0 + group);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let s = s0; s < s1; s++) {
      const i = order[s];
      const px = y[2 * i], py = y[2 * i + 1];
      if (px < x0) x0 = px;
      if (px > x1) x1 = px;
      if (py < y0) y0 = py;
      if (py > y1) y1 = py;
    }
    let L = list.data;
    let len = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      const o = id * 4;
      const cx = node[o], cy = node[o + 1];
      const first = child[id];
      if (first >= 0) {
        const dx = cx < x0 ? x0 - cx : cx > x1 ? cx - x1 : 0;
        const dy = cy < y0 ? y0 - cy : cy > y1 ? cy - y1 : 0;
        if (!(node[o + 3] < theta2 * (dx * dx + dy * dy))) {
          if (node[first * 4 + 2] !== 0) stack[sp++] = first;
          if (node[first * 4 + 6] !== 0) stack[sp++] = first + 1;
          if (node[first * 4 + 10] !== 0) stack[sp++] = first + 2;
          if (node[first * 4 + 14] !== 0) stack[sp++] = first + 3;
          continue;
        }
      }
      if (len + 3 > L.length) {
        const bigger = new Float64Array(L.length * 2);
        bigger.set(L);
        list.data = L = bigger;
      }
      L[len] = cx;
      L[len + 1] = cy;
      L[len + 2] = node[o + 2];
      len += 3;
    }
    for (let s = s0; s < s1; s++) {
      const i = order[s];
      const xi = y[2 * i], yi = y[2 * i + 1];
      let fx = 0, fy = 0, z = 0;
      for (let e = 0; e < len; e += 3) {
        const dx = xi - L[e];
        const dy = yi - L[e + 1];
        const w = 1 / (1 + dx * dx + dy * dy);
        const cw = L[e + 2] * w;
        z += cw;
        const m = cw * w;
        fx += m * dx;
        fy += m * dy;
      }
      // The point's own leaf sits in the list at distance 0: it added 1 to z and nothing to the force.
      rep[2 * i] = fx;
      rep[2 * i + 1] = fy;
      zSum += z - 1;
    }
  }
  return zSum;
}
