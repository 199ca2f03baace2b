// Graph ↔ JSON: the `-symbol.json` half of block.export() (MXNet's symbol file). Nodes are listed in
// topological order and refer to their inputs by index; each records its op (a registry op, or
// 'input' | 'param' | 'constant'), attributes, inferred shape and dtype, the Block path it was
// traced in, and for inputs and params the name that binds it (the parameter's collectParams()
// path). Constants are written inline. Loading re-checks everything against the registry (unknown
// ops, bad indices, and shape or dtype rules that no longer give the recorded result) and says
// which node is wrong.
import { currentOrigin } from '../base/errors.js';
import { Graph, Node } from './ir.js';
import { getOp, outputDType, resolveAttrs, type HostValue } from './registry.js';
import { formatShape, sameShape, sizeOf, type AttrValue, type Attrs, type DType } from '../base/types.js';

export const GRAPH_FORMAT = 'webgluon-graph';
export const GRAPH_VERSION = 1;

/** A number JSON cannot hold (NaN, ±Infinity, -0) is written as {"$f": "NaN"}. */
type JsonNumber = number | { $f: string };
type JsonAttr = JsonNumber | boolean | string | null | (JsonNumber | null)[];

export interface ConstantJSON {
  dtype: DType;
  shape: number[];
  data: JsonNumber[];
}

export interface NodeJSON {
  /** A registry op name, or 'input' | 'param' | 'constant'. */
  op: string;
  /** Inputs and params: the name that binds the value (input name, parameter path). */
  name?: string;
  /** Indices of earlier nodes. */
  inputs?: number[];
  attrs?: Record<string, JsonAttr>;
  shape: number[];
  dtype: DType;
  /** The Block path the node was traced in (for messages). */
  path?: string;
  /** Constants: a scalar, or a tensor written out in full. */
  value?: JsonNumber | ConstantJSON;
}

export interface GraphJSON {
  format: typeof GRAPH_FORMAT;
  version: number;
  nodes: NodeJSON[];
  /** Graph inputs (data inputs, then parameters), as node indices. */
  inputs: number[];
  outputs: number[];
  /** Free-form information about where the graph came from. */
  metadata?: Record<string, unknown>;
}

function encodeNumber(v: number): JsonNumber {
  if (Number.isNaN(v)) return { $f: 'NaN' };
  if (v === Infinity) return { $f: 'Infinity' };
  if (v === -Infinity) return { $f: '-Infinity' };
  if (Object.is(v, -0)) return { $f: '-0' };
  return v;
}

function decodeNumber(v: unknown, where: () => string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { $f?: unknown }).$f === 'string') {
    const s = (v as { $f: string }).$f;
    if (s === 'NaN') return NaN;
    if (s === 'Infinity') return Infinity;
    if (s === '-Infinity') return -Infinity;
    if (s === '-0') return -0;
  }
  throw new Error(`${where()}: expected a number, got ${JSON.stringify(v)}`);
}

function encodeAttr(v: AttrValue): JsonAttr | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return encodeNumber(v);
  if (Array.isArray(v)) return v.map((e) => (e === null ? null : encodeNumber(e as number)));
  return v as boolean | string | null;
}

function decodeAttr(v: unknown, where: () => string): AttrValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((e) => (e === null ? null : decodeNumber(e, where)));
  return decodeNumber(v, where);
}

export interface GraphToJSONOptions {
  /** The last `params` graph inputs are parameters: written with op 'param'. */
  params?: number;
  metadata?: Record<string, unknown>;
}

/** Writes a graph as JSON-ready data (JSON.stringify it). */
export function graphToJSON(graph: Graph, opts: GraphToJSONOptions = {}): GraphJSON {
  const nParams = opts.params ?? 0;
  if (nParams > graph.inputs.length) throw new Error(`webgluon: graphToJSON: ${nParams} params but the graph has ${graph.inputs.length} inputs`);
  const paramInputs = new Set(graph.inputs.slice(graph.inputs.length - nParams));
  const index = new Map<Node, number>();
  const nodes: NodeJSON[] = [];
  for (const n of graph.nodes) {
    // Keys in reading order: what it is, what it reads, how, then what it makes.
    const j = { op: paramInputs.has(n) ? 'param' : n.op } as NodeJSON;
    if (n.op === 'input' || n.op === 'param') j.name = n.name;
    if (n.inputs.length) {
      j.inputs = n.inputs.map((i) => {
        const k = index.get(i);
        if (k === undefined) throw new Error(`webgluon internal: graphToJSON: %${i.id} is used before it is defined`);
        return k;
      });
    }
    const attrs: Record<string, JsonAttr> = {};
    for (const [k, v] of Object.entries(n.attrs)) {
      const e = encodeAttr(v);
      if (e !== undefined) attrs[k] = e;
    }
    if (Object.keys(attrs).length) j.attrs = attrs;
    if (n.op === 'constant') {
      const v = n.value;
      if (typeof v === 'number') j.value = encodeNumber(v);
      else if (v) j.value = { dtype: v.dtype, shape: [...v.shape], data: Array.from(v.data, encodeNumber) };
      else throw new Error(`webgluon internal: graphToJSON: constant %${n.id} has no value`);
    }
    j.shape = [...n.shape];
    j.dtype = n.dtype;
    if (n.path) j.path = n.path;
    index.set(n, nodes.length);
    nodes.push(j);
  }
  const ref = (n: Node) => index.get(n)!;
  const out: GraphJSON = { format: GRAPH_FORMAT, version: GRAPH_VERSION, nodes, inputs: graph.inputs.map(ref), outputs: graph.outputs.map(ref) };
  if (opts.metadata) out.metadata = opts.metadata;
  return out;
}

/** JSON text with one node per line (diff-friendly, still short). */
export function formatGraphJSON(json: GraphJSON): string {
  const { nodes, ...rest } = json;
  const lines = Object.entries(rest).map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  return `{\n${lines.join('\n')}\n "nodes": [\n${nodes.map((n) => `  ${JSON.stringify(n)}`).join(',\n')}\n ]\n}\n`;
}

const isShape = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0);
const isDType = (d: unknown): d is DType => d === 'float32' || d === 'int32';

/**
 * Rebuilds a Graph from graphToJSON() output (an object or its JSON text), re-inferring every
 * shape and dtype through the registry and checking them against the file.
 */
export function graphFromJSON(input: unknown, source = 'graph JSON'): Graph {
  const bad = (why: string) => new Error(`webgluon: cannot load ${source}: ${why}`);
  let json = input;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json) as unknown;
    } catch (e) {
      throw bad(`it is not valid JSON (${(e as Error).message}; truncated?)`);
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('it is not a JSON object');
  const g = json as Partial<GraphJSON>;
  if (g.format !== GRAPH_FORMAT) throw bad(`"format" is ${JSON.stringify(g.format)}, expected "${GRAPH_FORMAT}"`);
  if (typeof g.version !== 'number' || g.version > GRAPH_VERSION) throw bad(`version ${JSON.stringify(g.version)} is not supported (this webgluon reads up to ${GRAPH_VERSION})`);
  if (!Array.isArray(g.nodes)) throw bad('"nodes" is missing');
  const nodes: Node[] = [];
  g.nodes.forEach((raw, k) => {
    const where = () => `node ${k}${raw && typeof raw === 'object' && typeof raw.op === 'string' ? ` (${raw.op})` : ''}`;
    const fail = (why: string) => bad(`${where()}: ${why}`);
    if (typeof raw !== 'object' || raw === null) throw fail('not an object');
    const { op, shape, dtype } = raw;
    if (typeof op !== 'string') throw fail('"op" is missing');
    if (!isShape(shape)) throw fail(`invalid shape ${JSON.stringify(shape)}`);
    if (!isDType(dtype)) throw fail(`invalid dtype ${JSON.stringify(dtype)}`);
    const path = typeof raw.path === 'string' ? raw.path : '';
    const inputIdx = raw.inputs ?? [];
    if (!Array.isArray(inputIdx) || !inputIdx.every((i) => Number.isInteger(i) && i >= 0 && i < k)) {
      throw fail(`"inputs" must list indices of earlier nodes, got ${JSON.stringify(raw.inputs)}`);
    }
    const ins = inputIdx.map((i) => nodes[i]);
    if (op === 'input' || op === 'param') {
      if (typeof raw.name !== 'string' || !raw.name) throw fail('an input or param needs a "name"');
      if (ins.length) throw fail('an input or param has no inputs');
      nodes.push(new Node(op, [], {}, shape, dtype, path, raw.name));
      return;
    }
    if (op === 'constant') {
      const v = raw.value;
      if (v === undefined) throw fail('a constant needs a "value"');
      if (typeof v === 'object' && v !== null && 'data' in v) {
        const c = v as ConstantJSON;
        if (!isShape(c.shape) || !isDType(c.dtype) || !Array.isArray(c.data) || c.data.length !== sizeOf(c.shape)) {
          throw fail('a tensor constant needs dtype, shape and data of that size');
        }
        if (!sameShape(c.shape, shape)) throw fail(`constant of shape ${formatShape(c.shape)} recorded as ${formatShape(shape)}`);
        const values = c.data.map((e) => decodeNumber(e, where));
        const data = c.dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
        const host: HostValue = { data, shape: [...c.shape], dtype: c.dtype };
        nodes.push(new Node('constant', [], {}, shape, dtype, path, '', host));
      } else {
        if (shape.length !== 0) throw fail('a scalar constant must have shape ()');
        nodes.push(new Node('constant', [], {}, [], dtype, path, '', decodeNumber(v, where)));
      }
      return;
    }
    let def;
    try {
      def = getOp(op);
    } catch {
      throw fail(`unknown op \`${op}\` (written by another webgluon version?)`);
    }
    const given: Record<string, AttrValue> = {};
    for (const [a, v] of Object.entries(raw.attrs ?? {})) given[a] = decodeAttr(v, () => `${where()} attribute ${a}`);
    let attrs: Attrs;
    let inferred: number[];
    let dt: DType;
    try {
      attrs = resolveAttrs(def, given);
      inferred = def.shape(ins.map((n) => n.shape), attrs);
      dt = outputDType(def, ins.map((n) => n.dtype), attrs);
    } catch (e) {
      throw fail((e as Error).message.replace(/^webgluon: /, ''));
    }
    if (!sameShape(inferred, shape)) throw fail(`the registry infers shape ${formatShape(inferred)}, the file says ${formatShape(shape)}`);
    if (dt !== dtype) throw fail(`the registry infers dtype ${dt}, the file says ${dtype}`);
    nodes.push(new Node(op, ins, attrs, inferred, dt, path || currentOrigin()));
  });
  const refs = (list: unknown, what: string) => {
    if (!Array.isArray(list) || !list.every((i) => Number.isInteger(i) && i >= 0 && i < nodes.length)) {
      throw bad(`"${what}" must list node indices, got ${JSON.stringify(list)}`);
    }
    return list.map((i: number) => nodes[i]);
  };
  const inputs = refs(g.inputs, 'inputs');
  for (const n of inputs) if (n.op !== 'input' && n.op !== 'param') throw bad(`graph input node ${nodes.indexOf(n)} is a ${n.op}, not an input or param`);
  for (const n of nodes) {
    if ((n.op === 'input' || n.op === 'param') && !inputs.includes(n)) throw bad(`${n.op} '${n.name}' (node ${nodes.indexOf(n)}) is not listed in "inputs"`);
  }
  const outputs = refs(g.outputs, 'outputs');
  if (!outputs.length) throw bad('the graph has no outputs');
  return new Graph(inputs, outputs);
}
