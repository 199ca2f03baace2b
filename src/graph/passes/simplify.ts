// Constant folding of scalar constants and algebraic simplification: x*1, 1*x, x+0, 0+x, x-0,
// x/1, neg(neg x), identity, broadcastTo/reshape to the same shape. A rewrite only applies when
// the result keeps the node's shape and dtype (x*1 may broadcast or change dtype otherwise).
import { Graph, Node } from '../ir.js';
import { getOp } from '../registry.js';
import { sameShape } from '../../base/types.js';
import { rewrite } from './rewrite.js';

const isConst = (n: Node, v?: number) => n.isScalarConstant && (v === undefined || n.value === v);

/** Folds elementwise nodes whose inputs are all scalar constants into one constant. */
export function foldConstants(graph: Graph): Graph {
  return rewrite(graph, (n) => {
    if (n.isLeaf || n.inputs.length === 0 || n.dtype !== 'float32' || n.shape.length !== 0) return n;
    const op = getOp(n.op);
    if (op.kind !== 'elementwise' || !n.inputs.every((i) => isConst(i))) return n;
    const v = Math.fround(op.cpu(n.inputs.map((i) => i.value as number), n.attrs));
    return new Node('constant', [], {}, [], 'float32', n.path, '', v);
  });
}

function algebra(n: Node): Node | null {
  const [a, b] = n.inputs;
  switch (n.op) {
    case 'mul': return isConst(b, 1) ? a : isConst(a, 1) ? b : null;
    case 'add': return isConst(b, 0) ? a : isConst(a, 0) ? b : null;
    case 'sub': return isConst(b, 0) ? a : null;
    case 'div': return isConst(b, 1) ? a : null;
    case 'neg': return a.op === 'neg' ? a.inputs[0] : null;
    case 'identity': return a;
    case 'broadcastTo': case 'reshape': case 'astype': return a;
    default: return null;
  }
}

export function simplifyAlgebra(graph: Graph): Graph {
  return rewrite(graph, (n) => {
    if (n.isLeaf) return n;
    const r = algebra(n);
    return r && sameShape(r.shape, n.shape) && r.dtype === n.dtype ? r : n;
  });
}

/** Folding and algebra until nothing changes (a few rounds at most). */
export function simplify(graph: Graph): Graph {
  let g = graph;
  for (let round = 0; round < 4; round++) {
    const next = simplifyAlgebra(foldConstants(g));
    if (next.nodes.length === g.nodes.length && next.outputs.every((o, i) => o === g.outputs[i])) return next;
    g = next;
  }
  return g;
}
