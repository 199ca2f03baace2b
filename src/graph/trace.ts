// Tracing: runs user code with Symbols instead of Tensors and records the IR graph. Parameters
// read while tracing (Parameter.data()) become param nodes through currentTrace().
import { withOrigin } from '../base/errors.js';
import { Graph, Node } from './ir.js';
import { keepingComposites, Symbol, sym } from './symbol.js';
import type { OpSignatures } from './registry.js';
import type { DType, Shape } from '../base/types.js';

export interface ValueSpec {
  shape: Shape;
  dtype: DType;
  name: string;
}

export interface TraceContext {
  /** The param Symbol for `key` (created on first use; the same Symbol on later reads). */
  paramSymbol(key: object, shape: Shape, dtype: DType, name: string): Symbol;
}

export interface Traced {
  graph: Graph;
  /** Param keys, in the order of the param nodes at the end of graph.inputs. */
  paramKeys: object[];
}

let current: (TraceContext & { params: Map<object, Node> }) | null = null;

/** The trace in progress, or null when running eagerly. */
export function currentTrace(): TraceContext | null {
  return current;
}

export type TraceFn = (F: OpSignatures<Symbol>, ...inputs: Symbol[]) => Symbol | readonly Symbol[];

export interface TraceOptions {
  /**
   * Keep composites that have their own gradient rule (softrelu…) as single nodes, for autodiff
   * to apply that rule; the graph must then go through passes/lower.ts before fusion or the CPU
   * evaluator. Default false: every composite is expanded into its parts.
   */
  keepComposites?: boolean;
}

export function traceFull(fn: TraceFn, inputs: readonly ValueSpec[], params?: ReadonlyMap<object, ValueSpec>, origin = '',
  opts: TraceOptions = {}): Traced {
  const inputNodes = inputs.map((s, i) => new Node('input', [], {}, s.shape, s.dtype, origin, s.name || `x${i}`));
  const paramNodes = new Map<object, Node>();
  for (const [k, s] of params ?? []) paramNodes.set(k, new Node('param', [], {}, s.shape, s.dtype, origin, s.name));
  const ctx = {
    params: paramNodes,
    paramSymbol(key: object, shape: Shape, dtype: DType, name: string): Symbol {
      let n = paramNodes.get(key);
      if (!n) paramNodes.set(key, (n = new Node('param', [], {}, shape, dtype, origin, name)));
      return new Symbol(n);
    },
  };
  const saved = current;
  current = ctx;
  let out: Symbol | readonly Symbol[];
  try {
    const run = () => keepingComposites(opts.keepComposites ?? false, () => fn(sym, ...inputNodes.map((n) => new Symbol(n))));
    out = origin ? withOrigin(origin, run) : run();
  } finally {
    current = saved;
  }
  const outs = (Array.isArray(out) ? out : [out]) as Symbol[];
  for (const o of outs) {
    if (!(o instanceof Symbol)) throw new TypeError('webgluon: a traced function must return a Symbol or an array of Symbols (got ' + typeof o + ')');
  }
  const paramKeys = [...paramNodes.keys()];
  const graph = new Graph([...inputNodes, ...paramKeys.map((k) => paramNodes.get(k)!)], outs.map((o) => o.node));
  return { graph, paramKeys };
}

/** Traces `fn` over symbolic inputs; graph inputs are the input nodes, then the param nodes. */
export function trace(fn: TraceFn, inputs: readonly ValueSpec[], params?: ReadonlyMap<object, ValueSpec>): Graph {
  return traceFull(fn, inputs, params).graph;
}
