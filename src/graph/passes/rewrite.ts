// The one graph-rewriting helper passes share: visits nodes in topological order with inputs
// already rewritten; a node whose inputs did not change keeps its identity.
import { Graph, Node } from '../ir.js';

export type Rule = (node: Node) => Node;

export function rewrite(graph: Graph, rule: Rule): Graph {
  const map = new Map<Node, Node>();
  for (const n of graph.inputs) map.set(n, n);
  for (const n of graph.nodes) {
    if (map.has(n)) continue;
    const inputs = n.inputs.map((i) => map.get(i) ?? i);
    const same = inputs.every((x, k) => x === n.inputs[k]);
    const rebuilt = same ? n : new Node(n.op, inputs, n.attrs, n.shape, n.dtype, n.path, n.name, n.value);
    map.set(n, rule(rebuilt));
  }
  return new Graph(graph.inputs, graph.outputs.map((o) => map.get(o) ?? o));
}
