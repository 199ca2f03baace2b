// Common-subexpression elimination: nodes with the same op, attributes and (already merged)
// inputs become one. Inputs and params are never merged; scalar constants merge by value.
import { Graph, Node } from '../ir.js';
import { rewrite } from './rewrite.js';

export function cse(graph: Graph): Graph {
  const seen = new Map<string, Node>();
  return rewrite(graph, (n) => {
    if (n.op === 'input' || n.op === 'param') return n;
    if (n.op === 'constant' && typeof n.value !== 'number') return n;
    const key = n.op === 'constant'
      ? `const|${n.value}`
      : `${n.op}|${JSON.stringify(n.attrs)}|${n.inputs.map((i) => (i.isScalarConstant ? `#${i.value}` : i.id)).join(',')}`;
    const hit = seen.get(key);
    if (hit && hit.dtype === n.dtype) return hit;
    seen.set(key, n);
    return n;
  });
}
