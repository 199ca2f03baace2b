// SymbolBlock (MXNet's gluon.SymbolBlock): a HybridBlock that runs a stored graph instead of user
// code, e.g. one written by block.export(). hybridForward interprets the graph op by op through
// whatever F it is given — `nd` eagerly (one registry op per node, recorded on the tape like any
// eager code), `sym` when hybridized (which rebuilds the graph symbolically, so hybridize()
// compiles it like any other block), or the CPU reference namespace. Param nodes become
// Parameters named by the graph (the exporter's collectParams() paths), so loadParameters(),
// Trainer and saveParameters() work on an imported model.
import { withOrigin } from '../base/errors.js';
import { Graph, Node } from '../graph/ir.js';
import { getOp, type HostValue } from '../graph/registry.js';
import { graphFromJSON, type GraphJSON } from '../graph/serialize.js';
import { isSymbol } from '../graph/symbol.js';
import { checkOptions } from '../base/options.js';
import { formatShape, sameShape } from '../base/types.js';
import { nd, type Tensor } from '../ndarray/index.js';
import { HybridBlock, type F } from './hybrid_block.js';
import { Parameter } from './parameter.js';

export interface SymbolBlockOptions {
  /** Return an array even for one output (default: the exporter's choice, else outputs > 1). */
  outputIsList?: boolean;
  prefix?: string;
}

export interface ImportsOptions {
  allowMissing?: boolean;
  ignoreExtra?: boolean;
}

/** Calls registry op `node.op` through the namespace F with the node's inputs and attributes. */
function callOp(F: F, node: Node, values: readonly unknown[]): unknown {
  const def = getOp(node.op);
  const args: unknown[] = [];
  const fixed = def.inputs.filter((n) => !n.startsWith('...')).length;
  let k = 0;
  for (const name of def.inputs) {
    if (name.startsWith('...')) {
      const m = values.length - fixed;
      args.push(values.slice(k, k + m));
      k += m;
    } else {
      args.push(values[k++] ?? null);
    }
  }
  const attrs: Record<string, unknown> = {};
  for (const [a, v] of Object.entries(node.attrs)) if (v !== undefined) attrs[a] = v;
  args.push(attrs);
  const fn = (F as unknown as Record<string, (...a: unknown[]) => unknown>)[node.op];
  if (typeof fn !== 'function') throw new Error(`webgluon: this namespace has no op \`${node.op}\``);
  return fn(...args);
}

/**
 * `In` and `Out` say what the stored graph takes and returns, which only its author knows:
 * `await SymbolBlock.imports<[Tensor], Tensor>(...)`; by default any tensors in, one tensor or a list out.
 */
export class SymbolBlock<In extends Tensor[] = Tensor[], Out extends Tensor | Tensor[] = Tensor | Tensor[]> extends HybridBlock<In, Out> {
  readonly graph: Graph;
  readonly inputNames: readonly string[];
  readonly outputIsList: boolean;
  private readonly _inputNodes: readonly Node[];
  private readonly _paramNodes: readonly (readonly [Node, Parameter])[];
  private readonly _constants = new Map<Node, Tensor>();

  /**
   * `graph`: a Graph, graph JSON (object or text). `inputNames`: the graph inputs that forward()
   * takes, in order (default: the exporter's input names); every other graph input is a Parameter.
   */
  constructor(graph: Graph | GraphJSON | string, inputNames?: string | readonly string[], opts: SymbolBlockOptions = {}) {
    checkOptions('SymbolBlock', opts, ['outputIsList', 'prefix']);
    super(opts.prefix !== undefined ? { prefix: opts.prefix } : {});
    const meta = graph instanceof Graph ? undefined : (typeof graph === 'string' ? (JSON.parse(graph) as GraphJSON) : graph).metadata;
    const g = graph instanceof Graph ? graph : graphFromJSON(graph);
    const names = typeof inputNames === 'string' ? [inputNames]
      : inputNames ? [...inputNames]
        : Array.isArray(meta?.inputNames) ? (meta.inputNames as string[])
          : g.inputs.filter((n) => n.op === 'input').map((n) => n.name);
    const byName = new Map<string, Node>();
    for (const n of g.inputs) {
      if (byName.has(n.name)) throw new Error(`webgluon: SymbolBlock: two graph inputs are named '${n.name}'`);
      byName.set(n.name, n);
    }
    const inputNodes = names.map((name) => {
      const n = byName.get(name);
      if (!n) throw new Error(`webgluon: SymbolBlock: the graph has no input '${name}' (its inputs: ${[...byName.keys()].map((k) => `'${k}'`).join(', ')})`);
      return n;
    });
    if (new Set(names).size !== names.length) throw new Error(`webgluon: SymbolBlock: input names repeat: ${names.join(', ')}`);
    const paramNodes = g.inputs.filter((n) => !inputNodes.includes(n)).map((n) => {
      const p = new Parameter(n.name, { shape: n.shape, dtype: n.dtype, allowDeferredInit: false });
      this.register(n.name, p);
      return [n, p] as const;
    });
    this.graph = g;
    this.inputNames = names;
    this.outputIsList = opts.outputIsList ?? (typeof meta?.outputIsList === 'boolean' ? meta.outputIsList : g.outputs.length > 1);
    this._inputNodes = inputNodes;
    this._paramNodes = paramNodes;
  }

  /**
   * MXNet's SymbolBlock.imports: reads a graph written by block.export() and, when given, its
   * parameter file (names, shapes and dtypes are checked; see loadParameters).
   */
  static async imports<In extends Tensor[] = Tensor[], Out extends Tensor | Tensor[] = Tensor | Tensor[]>(symbolFile: string,
    inputNames?: string | readonly string[] | null, paramFile?: string | null, opts: ImportsOptions = {}): Promise<SymbolBlock<In, Out>> {
    checkOptions('SymbolBlock.imports', opts, ['allowMissing', 'ignoreExtra']);
    const { readFile } = await import('node:fs/promises');
    let text: string;
    try {
      text = await readFile(symbolFile, 'utf8');
    } catch (e) {
      throw new Error(`webgluon: cannot read ${symbolFile}: ${(e as Error).message}`);
    }
    let json: GraphJSON;
    try {
      json = JSON.parse(text) as GraphJSON;
    } catch (e) {
      throw new Error(`webgluon: cannot load '${symbolFile}': it is not valid JSON (${(e as Error).message}; truncated?)`);
    }
    const graph = graphFromJSON(json, `'${symbolFile}'`);
    const meta = json.metadata;
    const block = new SymbolBlock<In, Out>(graph, inputNames ?? (Array.isArray(meta?.inputNames) ? (meta.inputNames as string[]) : undefined),
      { outputIsList: typeof meta?.outputIsList === 'boolean' ? meta.outputIsList : undefined });
    if (paramFile) await block.loadParameters(paramFile, opts);
    return block;
  }

  /** The graph's parameters, in graph order (all registered under their graph names). */
  get params(): Parameter[] {
    return this._paramNodes.map(([, p]) => p);
  }

  override hybridForward(F: F, ...inputs: In): Out {
    if (inputs.length !== this._inputNodes.length) {
      throw new Error(`webgluon: SymbolBlock takes ${this._inputNodes.length} input(s) (${this.inputNames.join(', ')}), got ${inputs.length}`);
    }
    const env = new Map<Node, unknown>();
    this._inputNodes.forEach((n, i) => {
      const x = inputs[i];
      if (!x || !Array.isArray(x.shape)) throw new TypeError(`webgluon: SymbolBlock input '${n.name}' must be a tensor`);
      if (!sameShape(x.shape, n.shape) || x.dtype !== n.dtype) {
        throw new Error(`webgluon: SymbolBlock input '${n.name}' was exported as ${n.dtype}${formatShape(n.shape)} but got ` +
          `${x.dtype}${formatShape(x.shape)}; the graph's shapes are fixed at export (export again with these shapes)`);
      }
      env.set(n, x);
    });
    for (const [n, p] of this._paramNodes) env.set(n, p.data());
    const symbolic = inputs.some((x) => isSymbol(x));
    for (const n of this.graph.nodes) {
      if (env.has(n)) continue;
      if (n.op === 'input' || n.op === 'param') throw new Error(`webgluon internal: SymbolBlock input '${n.name}' is unbound`);
      if (n.op === 'constant') {
        env.set(n, typeof n.value === 'number' ? n.value : this._tensorConstant(n, symbolic));
        continue;
      }
      const values = n.inputs.map((i) => env.get(i));
      env.set(n, n.path ? withOrigin(n.path, () => callOp(F, n, values)) : callOp(F, n, values));
    }
    const outs = this.graph.outputs.map((o) => env.get(o) as Tensor);
    // The graph's outputs are what its exporter returned; `Out` is the caller's word for them.
    return (this.outputIsList ? outs : outs[0]) as Out;
  }

  private _tensorConstant(n: Node, symbolic: boolean): Tensor {
    if (symbolic) throw new Error('webgluon: SymbolBlock: tensor constants in the graph are not supported hybridized yet; run it without hybridize()');
    let t = this._constants.get(n);
    if (!t || t.isDisposed) {
      const v = n.value as HostValue;
      t = nd.array(v.data, { shape: v.shape, dtype: v.dtype });
      this._constants.set(n, t);
    }
    return t;
  }

  override toString(): string {
    return `SymbolBlock(${this.inputNames.join(', ')} -> ${this.graph.outputs.length} output(s), ${this._paramNodes.length} parameter(s))`;
  }
}
