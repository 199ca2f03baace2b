// Expands the composites a trace kept as single nodes (those with their own gradient rule, kept
// so that autodiff applies it) into their parts, so that fusion and the CPU evaluator see only
// primitive ops. The compiler runs it after autodiff, on the forward and the backward graph.
import { withOrigin } from '../../base/errors.js';
import { Graph, Node } from '../ir.js';
import { getOp } from '../registry.js';
import { keepingComposites, Symbol, sym } from '../symbol.js';

const isComposite = (n: Node) => !n.isLeaf && getOp(n.op).kind === 'composite';

export function lowerComposites(graph: Graph): Graph {
  if (!graph.nodes.some(isComposite)) return graph;
  const memo = new Map<Node, Node>();
  for (const n of graph.nodes) {
    if (n.isLeaf) continue;
    const inputs = n.inputs.map((i) => memo.get(i) ?? i);
    const op = getOp(n.op);
    if (op.kind === 'composite') {
      const out = withOrigin(n.path, () => keepingComposites(false, () => op.decompose(sym, inputs.map((i) => new Symbol(i)), n.attrs)));
      memo.set(n, out.node);
    } else if (inputs.some((x, k) => x !== n.inputs[k])) {
      memo.set(n, new Node(n.op, inputs, n.attrs, n.shape, n.dtype, n.path, n.name, n.value));
    }
  }
  return new Graph(graph.inputs, graph.outputs.map((o) => memo.get(o) ?? o));
}
