// An optimized inference graph as an ONNX model: one walk over the IR that asks each node's op
// entry for its ONNX form (the `onnx` field, src/graph/onnx_rule.ts) and writes src/onnx/protobuf.ts's
// messages. The batch axis stays symbolic: the caller traces the same block at several batch sizes
// and each size is fitted as batch·N + fixed, so shapes the graph computes follow N at run time.
import { GraphError } from '../base/errors.js';
import { formatShape, sizeOf, type AttrValue, type Attrs, type DType } from '../base/types.js';
import type { Graph, Node } from '../graph/ir.js';
import { fixedDim, isFixed, type OnnxAttr, type OnnxBuilder, type OnnxDim, type OnnxNode, type OnnxType, type OnnxValue } from '../graph/onnx_rule.js';
import { getOp, type HostValue } from '../graph/registry.js';
import '../ops/index.js';
import { ONNX_DATA_TYPE, encodeModel, rawData, type DimProto, type NodeProto, type TensorProto, type ValueInfoProto } from './protobuf.js';

/** Opset 18: every Reduce op takes its axes as an input, the form the entries write. */
export const ONNX_OPSET = 18;
const IR_VERSION = 8;

/** The same function traced and optimized at one batch size. */
export interface BatchTrace {
  graph: Graph;
  batch: number;
}

export interface OnnxModelSpec {
  /**
   * One trace for fixed shapes; two or more (the same code at different batch sizes, same structure)
   * for a dynamic batch. The first one's graph is the one written.
   */
  traces: readonly BatchTrace[];
  /** Names of the leading graph inputs, the model's inputs; the other leaves are parameters, read by name from `params`. */
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Parameter values by the names of the graph's param inputs, written as initializers. */
  params: ReadonlyMap<string, HostValue>;
  /** Names the graph and the error messages: the Block's class. */
  name: string;
  producerVersion?: string;
}

/** The dimension parameter of the batch axis in the model's inputs and outputs. */
export const BATCH_DIM = 'N';

/** Fits sizes seen at several batch sizes as batch·N + fixed with whole numbers; null if none fits. */
function fitDim(values: readonly number[], batches: readonly number[]): OnnxDim | null {
  if (values.length === 1 || values.every((v) => v === values[0])) return fixedDim(values[0]);
  const batch = (values[1] - values[0]) / (batches[1] - batches[0]);
  const fixed = values[0] - batch * batches[0];
  if (!Number.isInteger(batch) || !Number.isInteger(fixed)) return null;
  return values.every((v, k) => v === batch * batches[k] + fixed) ? { batch, fixed } : null;
}

function dimProto(d: OnnxDim): DimProto {
  return isFixed(d) ? d.fixed : d.batch === 1 && d.fixed === 0 ? BATCH_DIM : null;
}

/** Equal attribute values or constants; NaN, ±Infinity and -0 are told apart, which JSON alone does not. */
const exact = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0)) ? `#${Object.is(x, -0) ? '-0' : x}` : x));
const sameJSON = (a: unknown, b: unknown) => exact(a) === exact(b);

/** Where a node came from, as error messages name it. */
const where = (n: Node) => `\`${n.op}\`${n.path ? ` (${n.path})` : ''}`;

/** Pairs the nodes of every trace with the first one's, refusing graphs whose structure differs. */
function alignTraces(traces: readonly BatchTrace[], name: string): Node[][] {
  const [first] = traces;
  const indices = traces.map(({ graph }) => new Map(graph.nodes.map((n, i) => [n, i])));
  return first.graph.nodes.map((n, i) => traces.map(({ graph, batch }, t) => {
    const m = graph.nodes[i];
    const same = m && m.op === n.op && m.dtype === n.dtype && m.shape.length === n.shape.length &&
      m.inputs.length === n.inputs.length && m.inputs.every((x, k) => indices[t].get(x) === indices[0].get(n.inputs[k])) &&
      sameJSON(Object.keys(m.attrs), Object.keys(n.attrs)) && (n.op !== 'constant' || sameJSON(m.value, n.value));
    if (!same || graph.nodes.length !== first.graph.nodes.length) {
      throw new GraphError(`cannot export ${name} to ONNX with a dynamic batch: its graph at batch size ${batch} differs from the one ` +
        `at ${first.batch} near ${where(n)} (ops, constants or ranks that depend on the batch size); export it with {dynamicBatch: false}`);
    }
    return m;
  }));
}

/** Builds the model's nodes and initializers; one per export. */
class ModelBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private readonly casts = new Map<string, string>();
  private readonly batchSizes = new Map<string, string>();
  private count = 0;

  /** `taken`: the names of the inputs and parameters, which no made value may reuse. */
  constructor(private readonly batchSource: string | null, private readonly taken: ReadonlySet<string>) {}

  fresh(base: string): string {
    let name: string;
    do name = `${base}_${this.count++}`;
    while (this.taken.has(name));
    return name;
  }
  add(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, OnnxAttr>>, base: string, doc: string, output?: string): string {
    const out = output ?? this.fresh(base);
    for (const [k, v] of Object.entries(attrs)) {
      const ints = typeof v === 'number' ? [v] : Array.isArray(v) ? (v as readonly number[]) : [];
      if (ints.some((i) => !Number.isSafeInteger(i))) throw new Error(`webgluon internal: ONNX attribute ${opType}.${k} must be integers, got ${JSON.stringify(v)}`);
    }
    this.nodes.push({ opType, inputs, outputs: [out], name: out, attrs, docString: doc });
    return out;
  }
  initializer(name: string, values: ArrayLike<number>, dtype: OnnxType, dims: readonly number[]): string {
    this.initializers.push({ name, dtype, dims, raw: rawData(values, dtype) });
    return name;
  }
  constant(values: readonly number[], dtype: OnnxType, shape: readonly number[]): string {
    if (values.length !== sizeOf(shape)) throw new Error(`webgluon internal: constant of ${values.length} values for shape ${formatShape(shape)}`);
    const key = `${dtype}${formatShape(shape)}${values.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')}`;
    let name = this.constants.get(key);
    if (!name) this.constants.set(key, (name = this.initializer(this.fresh('const'), values, dtype, shape)));
    return name;
  }
  cast(name: string, from: OnnxType | null, to: OnnxType, doc: string): string {
    if (from === to) return name;
    const key = `${name}->${to}`;
    let out = this.casts.get(key);
    if (!out) this.casts.set(key, (out = this.add('Cast', [name], { to: ONNX_DATA_TYPE[to] }, 'cast', doc)));
    return out;
  }
  /** batch·N + fixed as a 1-element int64 tensor, N read from an input's leading axis. */
  private batchSize(d: OnnxDim, fail: (detail: string) => never): string {
    if (!this.batchSource) fail('a size follows the batch, but no input has the batch on axis 0');
    const key = `${d.batch},${d.fixed}`;
    let out = this.batchSizes.get(key);
    if (out) return out;
    out = this.batchSizes.get('1,0') ?? this.add('Shape', [this.batchSource!], { start: 0, end: 1 }, 'batch_size', 'N');
    this.batchSizes.set('1,0', out);
    if (d.batch !== 1) out = this.add('Mul', [out, this.constant([d.batch], 'int64', [1])], {}, 'batch_size', `${d.batch}·N`);
    if (d.fixed !== 0) out = this.add('Add', [out, this.constant([d.fixed], 'int64', [1])], {}, 'batch_size', `${d.batch}·N + ${d.fixed}`);
    this.batchSizes.set(key, out);
    return out;
  }
  dims(dims: readonly OnnxDim[], fail: (detail: string) => never, doc: string): string {
    if (dims.every(isFixed)) return this.constant(dims.map((d) => d.fixed), 'int64', [dims.length]);
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(this.constant(run, 'int64', [run.length]));
      run = [];
    };
    for (const d of dims) {
      if (isFixed(d)) run.push(d.fixed);
      else {
        flush();
        parts.push(this.batchSize(d, fail));
      }
    }
    flush();
    return parts.length === 1 ? parts[0] : this.add('Concat', parts, { axis: 0 }, 'shape', doc);
  }
}

/** The attributes a rule reads; one whose value changes with the batch size refuses the export when read. */
function attrsOf(group: readonly Node[], batches: readonly number[], fail: (detail: string) => never): Attrs {
  const view: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(group[0].attrs)) {
    if (group.every((m) => sameJSON(m.attrs[k], v))) {
      view[k] = v;
      continue;
    }
    const seen = group.map((m, i) => `${JSON.stringify(m.attrs[k])} at batch ${batches[i]}`).join(', ');
    Object.defineProperty(view, k, {
      enumerable: true,
      get: () => fail(`its attribute \`${k}\` changes with the batch size (${seen}) and its ONNX form cannot follow it; ` +
        'export with {dynamicBatch: false} for a fixed batch'),
    });
  }
  return view;
}

function attrDimsOf(group: readonly Node[], batches: readonly number[], key: string, fail: (detail: string) => never): (OnnxDim | null)[] {
  const lists = group.map((m) => (Array.isArray(m.attrs[key]) ? (m.attrs[key] as readonly (number | null)[]) : []));
  return lists[0].map((_, i) => {
    const values = lists.map((l) => l[i]);
    if (values.every((v) => v === null || v === undefined)) return null;
    const d = values.every((v) => typeof v === 'number') ? fitDim(values as number[], batches) : null;
    return d ?? fail(`entry ${i} of its attribute \`${key}\` is not a whole multiple of the batch size plus a constant (${JSON.stringify(values)})`);
  });
}

/** The bytes of an .onnx file computing the traced graph (opset 18). */
export function graphToOnnx(spec: OnnxModelSpec): Uint8Array {
  const { traces, inputNames, outputNames, name } = spec;
  if (!traces.length) throw new Error(`webgluon internal: graphToOnnx of ${name} got no trace`);
  const batches = traces.map((t) => t.batch);
  const groups = alignTraces(traces, name);
  const graph = traces[0].graph;
  if (outputNames.length !== graph.outputs.length) throw new Error(`webgluon internal: ${graph.outputs.length} outputs but ${outputNames.length} names`);

  const dimsOf = (group: readonly Node[], fail: (d: string) => never) => group[0].shape.map((_, axis) => {
    const d = fitDim(group.map((m) => m.shape[axis]), batches);
    return d ?? fail(`the size of its axis ${axis} is not a whole multiple of the batch size plus a constant ` +
      `(${group.map((m, i) => `${formatShape(m.shape)} at batch ${batches[i]}`).join(', ')})`);
  });
  const failFor = (n: Node) => (detail: string): never => {
    throw new GraphError(`cannot export ${where(n)} to ONNX: ${detail}`);
  };

  const inputs = graph.inputs.slice(0, inputNames.length);
  const inputDims = inputs.map((n) => dimsOf(groups[graph.nodes.indexOf(n)], failFor(n)));
  const batchInput = inputs.findIndex((_, i) => inputDims[i][0] && inputDims[i][0].batch === 1 && inputDims[i][0].fixed === 0);
  const b = new ModelBuilder(batchInput >= 0 ? inputNames[batchInput] : null,
    new Set([...inputNames, ...outputNames, ...graph.inputs.slice(inputNames.length).map((n) => n.name)]));
  const values = new Map<Node, OnnxValue>();
  const valueOf = (n: Node, valueName: string, dims: readonly OnnxDim[]) => values.set(n, { name: valueName, dtype: n.dtype, dims, shape: n.shape });
  inputs.forEach((n, i) => valueOf(n, inputNames[i], inputDims[i]));

  graph.nodes.forEach((n, i) => {
    if (values.has(n)) return;
    const group = groups[i];
    const fail = failFor(n);
    const dims = dimsOf(group, fail);
    if (n.op === 'input' || n.op === 'param') {
      const p = spec.params.get(n.name);
      if (!p || !sameJSON(p.shape, n.shape) || p.dtype !== n.dtype) {
        throw new GraphError(`cannot export ${name} to ONNX: parameter '${n.name}' ${p ? `is ${p.dtype}${formatShape(p.shape)}, the graph reads ${n.dtype}${formatShape(n.shape)}` : 'has no value'}`);
      }
      return valueOf(n, b.initializer(n.name, p.data, p.dtype, p.shape), dims);
    }
    if (n.op === 'constant') {
      const v = n.value as number | HostValue;
      return valueOf(n, typeof v === 'number' ? b.constant([v], n.dtype, []) : b.constant(Array.from(v.data), v.dtype, v.shape), dims);
    }
    const rule = getOp(n.op).onnx;
    if (!rule) {
      throw new GraphError(`\`${n.op}\`${n.path ? ` (made by ${n.path})` : ''} has no ONNX form, so ${name} cannot be exported to ONNX; ` +
        "give its op entry an `onnx` field, or keep it out of the block's predict-mode forward");
    }
    const doc = n.path;
    const g: OnnxBuilder = {
      node: (opType, ins, attrs = {}) => b.add(opType, ins, attrs, n.op, doc),
      constant: (vals, dtype, shape) => b.constant(vals, dtype, shape),
      ints: (vals) => b.constant(vals, 'int64', [vals.length]),
      cast: (v, to) => (typeof v === 'string' ? b.cast(v, null, to, doc) : b.cast(v.name, v.dtype, to, doc)),
      dims: (ds) => b.dims(ds, fail, doc),
      fail,
    };
    const view: OnnxNode = {
      inputs: n.inputs.map((x) => values.get(x)!),
      dtype: n.dtype,
      dims,
      attrs: attrsOf(group, batches, fail),
      attrDims: (key) => attrDimsOf(group, batches, key, fail),
    };
    const out = typeof rule === 'string' ? g.node(rule, view.inputs.map((x) => g.cast(x, n.dtype))) : rule(g, view);
    valueOf(n, out, dims);
  });

  const valueInfo = (valueName: string, dtype: DType, dims: readonly OnnxDim[]): ValueInfoProto => ({ name: valueName, dtype, dims: dims.map(dimProto) });
  // Identity names each output, and keeps an output apart from an input or a parameter it equals.
  const outputs = graph.outputs.map((o, k) => {
    const v = values.get(o)!;
    b.add('Identity', [v.name], {}, 'output', o.path, outputNames[k]);
    return valueInfo(outputNames[k], o.dtype, v.dims);
  });
  return encodeModel({
    irVersion: IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'webgluon',
    producerVersion: spec.producerVersion ?? '',
    graph: {
      name,
      nodes: b.nodes,
      initializers: b.initializers,
      inputs: inputs.map((n, i) => valueInfo(inputNames[i], n.dtype, inputDims[i])),
      outputs,
    },
  });
}
