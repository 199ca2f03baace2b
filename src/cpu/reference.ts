// The CPU reference: evaluates any node, fusion group or graph from the registry's `cpu` fields
// on plain typed arrays. It is the test oracle and the fallback when no GPU adapter exists.
import { Graph, Node } from '../graph/ir.js';
import { getOp, inferShape, outputDType, resolveAttrs, type HostValue } from '../graph/registry.js';
import { reduceAxes } from '../graph/shape.js';
import { sizeOf, stridesOf, type Attrs, type Shape } from '../base/types.js';
import { broadcastShapes } from '../graph/shape.js';

function alloc(dtype: HostValue['dtype'], n: number): Float32Array | Int32Array {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

/** For each output element, the offset into an input broadcast against `out`. */
function broadcastIndex(inShape: Shape, out: Shape): Int32Array {
  const n = sizeOf(out);
  const idx = new Int32Array(n);
  const st = stridesOf(inShape);
  const shift = out.length - inShape.length;
  const coord = new Array<number>(out.length).fill(0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let d = 0; d < inShape.length; d++) if (inShape[d] !== 1) o += coord[d + shift] * st[d];
    idx[i] = o;
    for (let d = out.length - 1; d >= 0; d--) {
      if (++coord[d] < out[d]) break;
      coord[d] = 0;
    }
  }
  return idx;
}

function evalReduce(node: Node, x: HostValue): HostValue {
  const op = getOp(node.op);
  if (op.kind !== 'reduce') throw new Error('unreachable');
  const body = op.reduce;
  const axes = reduceAxes(node.op, x.shape, node.attrs);
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(sizeOf(keptShape)).fill(body.identity);
  const idx = broadcastIndex(x.shape, x.shape);
  const outIdx = broadcastIndex(keptShape, x.shape);
  for (let i = 0; i < idx.length; i++) out[outIdx[i]] = body.cpuCombine(out[outIdx[i]], x.data[idx[i]]);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  const data = alloc(node.dtype, out.length);
  for (let i = 0; i < out.length; i++) data[i] = body.cpuFinalize ? body.cpuFinalize(out[i], count) : out[i];
  return { data, shape: node.shape, dtype: node.dtype };
}

/** Evaluates one node from its input values. */
export function evaluateNode(node: Node, inputs: readonly HostValue[]): HostValue {
  const op = getOp(node.op);
  const shape = node.shape;
  const n = sizeOf(shape);
  switch (op.kind) {
    case 'elementwise': {
      const data = alloc(node.dtype, n);
      const idx = inputs.map((x) => broadcastIndex(x.shape, shape));
      const args = new Array<number>(inputs.length);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < inputs.length; k++) args[k] = inputs[k].data[idx[k][i]];
        data[i] = op.cpu(args, node.attrs);
      }
      return { data, shape, dtype: node.dtype };
    }
    case 'source': {
      const data = alloc(node.dtype, n);
      for (let i = 0; i < n; i++) data[i] = op.cpu(i, node.attrs);
      return { data, shape, dtype: node.dtype };
    }
    case 'reduce':
      return evalReduce(node, inputs[0]);
    case 'gather':
    case 'kernel':
      return { data: op.cpu(inputs, node.attrs, shape), shape, dtype: node.dtype };
    case 'view':
      return { data: inputs[0].data, shape, dtype: node.dtype };
    case 'composite':
      throw new Error(`webgluon internal: composite \`${node.op}\` reached the CPU evaluator undecomposed`);
  }
}

function constantValue(node: Node): HostValue {
  if (typeof node.value === 'number') return { data: Float32Array.of(node.value), shape: [], dtype: 'float32' };
  if (node.value) return node.value;
  throw new Error(`webgluon internal: constant %${node.id} has no value`);
}

/** Evaluates a group's nodes given the values of everything it reads; returns all it computed. */
export function evaluateGroup(group: { nodes: readonly Node[] }, inputs: ReadonlyMap<Node, HostValue>): Map<Node, HostValue> {
  const values = new Map(inputs);
  for (const node of group.nodes) {
    const args = node.inputs.map((i) => values.get(i) ?? (i.op === 'constant' ? constantValue(i) : undefined));
    if (args.some((a) => a === undefined)) throw new Error(`webgluon internal: ${node.op} %${node.id} evaluated before its inputs`);
    values.set(node, evaluateNode(node, args as HostValue[]));
  }
  return values;
}

/** Evaluates a whole graph; `inputs` gives the value of every input and param node. */
export function evaluateGraph(graph: Graph, inputs: ReadonlyMap<Node, HostValue>): HostValue[] {
  const computed = graph.nodes.filter((n) => !n.isLeaf);
  const values = evaluateGroup({ nodes: computed }, inputs);
  return graph.outputs.map((o) => values.get(o) ?? constantValue(o));
}

/** Runs one registry op on host values (composites are expanded through their parts). */
export function evaluateOp(name: string, inputs: readonly HostValue[], attrs: Attrs = {}): HostValue {
  const op = getOp(name);
  const full = resolveAttrs(op, attrs);
  const leaves = inputs.map((x) => new Node('input', [], {}, x.shape, x.dtype, ''));
  const shape = inferShape(op, inputs.map((x) => x.shape), full);
  const node = new Node(name, leaves, full, shape, outputDType(op, inputs.map((x) => x.dtype), full), '');
  return evaluateNode(node, inputs);
}

export { broadcastShapes };
