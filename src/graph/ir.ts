// The IR: a flat list of nodes in topological order. Each node names a registry op (or is an
// input, parameter or constant), carries its inferred shape and dtype and the Block path it came from.
import type { HostValue } from './registry.js';
import { formatShape, type Attrs, type DType, type Shape } from '../base/types.js';

export type NodeRole = 'input' | 'param' | 'constant';

let nextId = 0;

export class Node {
  readonly id = nextId++;
  constructor(
    /** A registry op name, or 'input' | 'param' | 'constant'. */
    readonly op: string,
    readonly inputs: readonly Node[],
    readonly attrs: Attrs,
    readonly shape: Shape,
    readonly dtype: DType,
    /** Block path (and function) the node was traced in; shown in errors and dumps. */
    readonly path: string,
    /** For inputs and params: the user-visible name. For constants: the value. */
    readonly name: string = '',
    readonly value?: number | HostValue,
  ) {}

  get isLeaf(): boolean {
    return this.op === 'input' || this.op === 'param' || this.op === 'constant';
  }
  /** A scalar number constant, which kernels inline as a literal. */
  get isScalarConstant(): boolean {
    return this.op === 'constant' && typeof this.value === 'number';
  }
}

export class Graph {
  constructor(
    readonly inputs: readonly Node[],
    readonly outputs: readonly Node[],
    /** Every node reachable from the outputs, inputs first, in topological order. */
    readonly nodes: readonly Node[] = topoSort(outputs, inputs),
  ) {}

  toString(): string {
    return printGraph(this);
  }
}

export function topoSort(outputs: readonly Node[], inputs: readonly Node[] = []): Node[] {
  const seen = new Set<Node>();
  const order: Node[] = [];
  for (const n of inputs) {
    seen.add(n);
    order.push(n);
  }
  const stack: [Node, number][] = outputs.filter((n) => !seen.has(n)).map((n) => [n, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, k] = top;
    if (seen.has(node) && k === 0) {
      stack.pop();
      continue;
    }
    if (k < node.inputs.length) {
      top[1]++;
      const child = node.inputs[k];
      if (!seen.has(child)) stack.push([child, 0]);
      continue;
    }
    stack.pop();
    if (!seen.has(node)) {
      seen.add(node);
      order.push(node);
    }
  }
  return order;
}

/** Counts, for each node, how many node inputs (plus graph outputs) refer to it. */
export function useCounts(graph: Graph): Map<Node, number> {
  const uses = new Map<Node, number>();
  for (const n of graph.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of graph.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  return uses;
}

function formatAttrs(attrs: Attrs): string {
  const parts = Object.entries(attrs)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
  return parts.length ? `{${parts.join(' ')}}` : '';
}

/** A jaxpr-like listing: one line per node, `%id: dtype(shape) = op(args){attrs}  # path`. */
export function printGraph(graph: Graph, names: ReadonlyMap<Node, string> = new Map()): string {
  const ref = (n: Node) => (n.isScalarConstant ? String(n.value) : names.get(n) ?? `%${n.id}`);
  const lines: string[] = [];
  lines.push(`graph(${graph.inputs.map((n) => `${ref(n)}: ${n.dtype}${formatShape(n.shape)} ${n.name}`.trim()).join(', ')}) {`);
  for (const n of graph.nodes) {
    if (n.op === 'input' || n.isScalarConstant) continue;
    const rhs = n.op === 'param' ? `param '${n.name}'` : n.op === 'constant' ? 'constant' : `${n.op}(${n.inputs.map(ref).join(', ')})${formatAttrs(n.attrs)}`;
    lines.push(`  ${ref(n)}: ${n.dtype}${formatShape(n.shape)} = ${rhs}${n.path ? `  # ${n.path}` : ''}`);
  }
  lines.push(`  return ${graph.outputs.map(ref).join(', ')}`);
  lines.push('}');
  return lines.join('\n');
}
