// Fusion grouping: partitions a graph's computed nodes into FusionGroups, one kernel each, in an
// execution order. Greedy, from the outputs back: a producer joins a consumer's group when the
// emitter can compute it there —
//   elementwise → elementwise group: its shape broadcasts to the group's iteration shape; if its
//     value is also needed outside the group it must have the full iteration shape (extra output);
//   elementwise → reduction: into the prologue (at the reduce input's shape, no outside use) or
//     the epilogue (at the reduce output's shape);
//   reduction → elementwise group at its output shape: the group becomes its epilogue;
//   kernel → elementwise group at its output shape with one output: the group becomes its
//     epilogue, when the kernel's raw value is not needed elsewhere.
//   gather → elementwise group of its own shape: it reads its (external) inputs at coordinates
//     derived from the group's, so slices, transposes and slice gradients cost no kernel of their own.
// Views (reshape, expandDims, flatten, squeeze) are not kernels: they alias their input's buffer.
// A join is refused when it would make the group graph cyclic or need more than 16 buffers.
import { getOp } from './registry.js';
import { Graph, Node } from './ir.js';
import { sameShape, type Shape } from '../base/types.js';

export type GroupKind = 'elementwise' | 'reduce' | 'gather' | 'kernel';

export interface FusionGroup {
  kind: GroupKind;
  /** Computed nodes in topological order. */
  nodes: readonly Node[];
  /** Nodes whose values leave the group (written to buffers). */
  outputs: readonly Node[];
}

export const MAX_STORAGE_BUFFERS = 16;

interface WorkGroup {
  kind: GroupKind | 'view';
  nodes: Node[];
  iter: Shape;
  red?: Node;
  kernel?: Node;
  /** Reduction prologue members. */
  pro: Set<Node>;
}

function broadcastsTo(s: Shape, target: Shape): boolean {
  if (s.length > target.length) return false;
  const shift = target.length - s.length;
  return s.every((d, i) => d === 1 || d === target[i + shift]);
}

export interface FuseOptions {
  /** Turns fusion off: one group per node (for debugging and tests). */
  noFusion?: boolean;
}

export function fuse(graph: Graph, opts: FuseOptions = {}): FusionGroup[] {
  const order = new Map(graph.nodes.map((n, i) => [n, i] as const));
  const consumers = new Map<Node, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) {
    let list = consumers.get(i);
    if (!list) consumers.set(i, (list = []));
    if (!list.includes(n)) list.push(n);
  }
  const isOutput = new Set(graph.outputs);
  const groupOf = new Map<Node, WorkGroup>();
  const groups: WorkGroup[] = [];
  const cons = (n: Node) => consumers.get(n) ?? [];
  const neededOutside = (n: Node, g: WorkGroup) => isOutput.has(n) || cons(n).some((c) => groupOf.get(c) !== g);
  const outputsOf = (g: WorkGroup) => g.nodes.filter((m) => neededOutside(m, g));
  const readsOf = (g: WorkGroup) => {
    const inside = new Set(g.nodes);
    const reads = new Set<Node>();
    for (const m of g.nodes) for (const i of m.inputs) if (!inside.has(i) && !i.isScalarConstant) reads.add(i);
    return reads.size;
  };
  /** Groups reading any node of `g` (views are their own groups). */
  const successors = (g: WorkGroup) => {
    const out = new Set<WorkGroup>();
    for (const m of g.nodes) for (const c of cons(m)) {
      const h = groupOf.get(c);
      if (h && h !== g) out.add(h);
    }
    return out;
  };
  /** Would putting n into g close a cycle: does a group consuming n reach g? */
  const closesCycle = (n: Node, g: WorkGroup) => {
    const stack = [...new Set(cons(n).map((c) => groupOf.get(c)!).filter((h) => h !== g))];
    const seen = new Set<WorkGroup>(stack);
    while (stack.length) {
      const h = stack.pop()!;
      for (const s of successors(h)) {
        if (s === g) return true;
        if (!seen.has(s)) {
          seen.add(s);
          stack.push(s);
        }
      }
    }
    return false;
  };
  const fitsBuffers = (g: WorkGroup) => readsOf(g) + outputsOf(g).length + 1 <= MAX_STORAGE_BUFFERS;

  /** Tries to add n to g under the kind-specific rule `ok` (evaluated with n inside g). */
  const tryJoin = (n: Node, g: WorkGroup, ok: () => boolean, onJoin?: () => void): boolean => {
    if (closesCycle(n, g)) return false;
    // A gather inside a group loads its inputs from buffers: they cannot be computed in it.
    if (cons(n).some((c) => groupOf.get(c) === g && getOp(c.op).kind === 'gather')) return false;
    g.nodes.push(n);
    groupOf.set(n, g);
    if (ok() && fitsBuffers(g)) {
      onJoin?.();
      return true;
    }
    g.nodes.pop();
    groupOf.delete(n);
    return false;
  };

  const joinElementwise = (n: Node, g: WorkGroup): boolean => {
    const isSource = getOp(n.op).kind === 'source';
    const inG = cons(n).filter((c) => groupOf.get(c) === g);
    switch (g.kind) {
      case 'elementwise':
        return tryJoin(n, g, () => (isSource ? sameShape(n.shape, g.iter) : broadcastsTo(n.shape, g.iter)) &&
          (!neededOutside(n, g) || sameShape(n.shape, g.iter)));
      case 'reduce': {
        const red = g.red!;
        const x = red.inputs[0].shape;
        if (inG.every((c) => c === red || g.pro.has(c))) {
          return tryJoin(n, g, () => !neededOutside(n, g) && (isSource ? sameShape(n.shape, x) : broadcastsTo(n.shape, x)),
            () => g.pro.add(n));
        }
        if (inG.every((c) => c !== red && !g.pro.has(c))) {
          return tryJoin(n, g, () => (isSource ? sameShape(n.shape, red.shape) : broadcastsTo(n.shape, red.shape)) &&
            (!neededOutside(n, g) || sameShape(n.shape, red.shape)));
        }
        return false;
      }
      case 'kernel':
        if (inG.includes(g.kernel!)) return false;
        return tryJoin(n, g, () => !neededOutside(n, g) && (isSource ? sameShape(n.shape, g.iter) : broadcastsTo(n.shape, g.iter)));
      default:
        return false;
    }
  };

  const candidates = (n: Node): WorkGroup[] => {
    const seen: WorkGroup[] = [];
    for (const c of cons(n)) {
      const g = groupOf.get(c);
      if (g && !seen.includes(g)) seen.push(g);
    }
    // Prefer a group holding every consumer (n then stays internal).
    return seen.sort((a, b) => cons(n).filter((c) => groupOf.get(c) !== a).length - cons(n).filter((c) => groupOf.get(c) !== b).length);
  };

  const newGroup = (n: Node, kind: WorkGroup['kind']): void => {
    const g: WorkGroup = { kind, nodes: [n], iter: n.shape, pro: new Set() };
    if (kind === 'reduce') g.red = n;
    if (kind === 'kernel') g.kernel = n;
    groups.push(g);
    groupOf.set(n, g);
  };

  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k];
    if (n.isLeaf) continue;
    const kind = getOp(n.op).kind;
    if (kind === 'composite') throw new Error(`webgluon internal: composite \`${n.op}\` reached fusion undecomposed`);
    if (kind === 'view') { newGroup(n, 'view'); continue; }
    if (opts.noFusion) { newGroup(n, kind === 'source' ? 'elementwise' : kind); continue; }
    let joined = false;
    if (kind === 'elementwise' || kind === 'source') {
      for (const g of candidates(n)) if ((joined = joinElementwise(n, g))) break;
      if (!joined) newGroup(n, 'elementwise');
    } else if (kind === 'reduce') {
      for (const g of candidates(n)) {
        if (g.kind !== 'elementwise' || !sameShape(g.iter, n.shape)) continue;
        joined = tryJoin(n, g, () => true, () => {
          g.kind = 'reduce';
          g.red = n;
        });
        if (joined) break;
      }
      if (!joined) newGroup(n, 'reduce');
    } else if (kind === 'kernel') {
      for (const g of candidates(n)) {
        if (g.kind !== 'elementwise' || !sameShape(g.iter, n.shape) || n.dtype !== 'float32') continue;
        if (g.nodes.some((m) => getOp(m.op).kind === 'source')) continue;
        joined = tryJoin(n, g, () => !neededOutside(n, g) && outputsOf(g).length === 1 && outputsOf(g)[0].dtype === 'float32', () => {
          g.kind = 'kernel';
          g.kernel = n;
        });
        if (joined) break;
      }
      if (!joined) newGroup(n, 'kernel');
    } else {
      for (const g of candidates(n)) {
        if (g.kind !== 'elementwise' || !sameShape(g.iter, n.shape)) continue;
        if ((joined = tryJoin(n, g, () => n.inputs.every((i) => groupOf.get(i) !== g)))) break;
      }
      if (!joined) newGroup(n, 'gather');
    }
  }

  // Execution order: a topological sort of the group graph, earliest nodes first.
  const byOrder = (a: Node, b: Node) => order.get(a)! - order.get(b)!;
  for (const g of groups) {
    g.nodes.sort(byOrder);
    if (g.kernel) g.nodes = [g.kernel, ...g.nodes.filter((m) => m !== g.kernel)];
  }
  const sorted: WorkGroup[] = [];
  const state = new Map<WorkGroup, 1 | 2>();
  const visit = (g: WorkGroup) => {
    const s = state.get(g);
    if (s === 2) return;
    if (s === 1) throw new Error('webgluon internal: fusion produced a cyclic group graph');
    state.set(g, 1);
    const deps = new Set<WorkGroup>();
    for (const m of g.nodes) for (const i of m.inputs) {
      const h = groupOf.get(i);
      if (h && h !== g) deps.add(h);
    }
    [...deps].sort((a, b) => byOrder(a.nodes[0], b.nodes[0])).forEach(visit);
    state.set(g, 2);
    sorted.push(g);
  };
  [...groups].sort((a, b) => byOrder(a.nodes[0], b.nodes[0])).forEach(visit);
  return sorted.filter((g) => g.kind !== 'view').map((g) => ({
    kind: g.kind as GroupKind,
    nodes: g.nodes,
    outputs: outputsOf(g),
  }));
}
