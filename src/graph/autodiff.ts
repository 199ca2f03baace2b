// Symbolic reverse-mode differentiation: walks the forward graph backwards applying each op's
// registry gradient through `vjp` (the function the eager tape uses; a composite the trace kept
// whole is differentiated by its own rule, not through its parts), then decides which forward
// values the backward graph recomputes (cheap elementwise/view chains) and which it reads as
// values SAVED by the forward plan (reductions, kernels, gathers, random sources).
import { withOrigin } from '../base/errors.js';
import { Graph, Node, topoSort } from './ir.js';
import { getOp } from './registry.js';
import { Symbol, sym } from './symbol.js';
import { vjp } from './vjp.js';

export interface Backward {
  /** Inputs: forward inputs/params, one head gradient per forward output, then saved values. */
  graph: Graph;
  /** Head-gradient input nodes, one per forward output. */
  heads: Node[];
  /** Forward nodes the forward plan must output for the backward graph. */
  saved: Node[];
  /** The backward graph's input nodes standing for `saved`, in the same order. */
  savedInputs: Node[];
}

/**
 * Recomputed in the backward graph rather than saved: elementwise chains and views back to
 * inputs, parameters or saved reductions. A chain that starts at a matmul/conv output is saved at
 * its end instead: recomputing it would need the kernel's raw output, which would then have to
 * leave the kernel and break its fused bias/activation epilogue.
 */
function cheapness(): (n: Node) => boolean {
  const reachesKernel = new Map<Node, boolean>();
  const fromKernel = (n: Node): boolean => {
    const known = reachesKernel.get(n);
    if (known !== undefined) return known;
    const kind = n.isLeaf ? 'leaf' : getOp(n.op).kind;
    const r = kind === 'kernel' || ((kind === 'elementwise' || kind === 'view' || kind === 'composite') && n.inputs.some(fromKernel));
    reachesKernel.set(n, r);
    return r;
  };
  return (n) => {
    if (n.isLeaf) return true;
    const kind = getOp(n.op).kind;
    // A view costs nothing to redo, and saving its root instead keeps one buffer per value. A
    // composite kept whole (it has its own gradient rule) may hide a reduction: it is saved.
    return kind === 'view' || (kind === 'elementwise' && !fromKernel(n));
  };
}

/** Copies `outputs`' subgraph, replacing nodes per `subst` (nodes not touched keep identity). */
export function substitute(outputs: readonly Node[], subst: Map<Node, Node>): Node[] {
  const memo = new Map<Node, Node>(subst);
  for (const n of topoSort(outputs)) {
    if (memo.has(n)) continue;
    const inputs = n.inputs.map((i) => memo.get(i) ?? i);
    const changed = inputs.some((x, k) => x !== n.inputs[k]);
    memo.set(n, changed ? new Node(n.op, inputs, n.attrs, n.shape, n.dtype, n.path, n.name, n.value) : n);
  }
  return outputs.map((o) => memo.get(o)!);
}

export function autodiff(graph: Graph, wrt: readonly Node[]): Backward {
  // Nodes whose value depends on a wrt node: only they need gradients.
  const wrtSet = new Set(wrt);
  const varies = new Set<Node>();
  for (const n of graph.nodes) if (wrtSet.has(n) || n.inputs.some((i) => varies.has(i))) varies.add(n);

  const isCheap = cheapness();
  const heads = graph.outputs.map((o, i) => new Node('input', [], {}, o.shape, 'float32', '', `d_out${i}`));
  const grads = new Map<Node, Symbol>();
  const accumulate = (n: Node, g: Symbol) => {
    const prev = grads.get(n);
    grads.set(n, prev ? sym.add(prev, g) : g);
  };
  graph.outputs.forEach((o, i) => {
    if (varies.has(o)) accumulate(o, new Symbol(heads[i]));
  });
  const order = [...graph.nodes].reverse();
  for (const n of order) {
    if (n.isLeaf || !varies.has(n)) continue;
    const dy = grads.get(n);
    if (!dy) continue;
    const wanted = n.inputs.map((i) => varies.has(i));
    const where = n.path;
    const gx = withOrigin(where ? `${where} (backward)` : 'backward', () =>
      vjp(sym, n.op, n.attrs, n.inputs.map((i) => new Symbol(i)), new Symbol(n), dy, where, wanted));
    n.inputs.forEach((x, k) => {
      const g = gx[k];
      if (g && wanted[k]) accumulate(x, g);
    });
  }
  const rawOutputs = wrt.map((w) => {
    const g = grads.get(w);
    if (g) return g.node;
    return sym.broadcastTo(0, [...w.shape]).node;
  });

  // Decide, for each forward node the backward graph references, recompute or save.
  const forward = new Set(graph.nodes);
  const saved: Node[] = [];
  const subst = new Map<Node, Node>();
  const visited = new Set<Node>();
  const visit = (n: Node) => {
    const stack = [n];
    while (stack.length) {
      const m = stack.pop()!;
      if (visited.has(m)) continue;
      visited.add(m);
      if (forward.has(m) && !isCheap(m)) {
        saved.push(m);
        subst.set(m, new Node('input', [], {}, m.shape, m.dtype, m.path, `saved%${m.id}`));
        continue;
      }
      stack.push(...m.inputs);
    }
  };
  rawOutputs.forEach(visit);
  const outputs = substitute(rawOutputs, subst);
  const savedInputs = saved.map((s) => subst.get(s)!);
  const inputs = [...graph.inputs, ...heads, ...savedInputs];
  return { graph: new Graph(inputs, outputs), heads, saved, savedInputs };
}
