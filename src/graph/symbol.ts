// The symbolic value of traced code (MXNet's Symbol): wraps an IR Node. `sym` is derived from
// the registry like `nd`: shapes and dtypes are inferred at trace time, numbers become scalar
// constants and composite ops are expanded through their decompositions — except, while a trace
// keeps them (keepingComposites), composites with their own gradient rule: those stay one node
// until autodiff has applied that rule, and passes/lower.ts expands them before fusion.
import { currentOrigin } from '../base/errors.js';
import { Node } from './ir.js';
import { inferShape, outputDType, type OpDef, type OpSignatures } from './registry.js';
import type { Attrs, DType, Shape } from '../base/types.js';
import { buildNamespace, installMethods } from './namespace.js';

type MethodsOf<T> = {
  [K in keyof OpSignatures<T>]: OpSignatures<T>[K] extends (x: never, ...rest: infer R) => infer O ? (...rest: R) => O : never;
};
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Symbol extends MethodsOf<Symbol> {}

export class Symbol {
  /** Set for the result of a composite (its parts are hidden); else the node's op. */
  private producedBy: string | null = null;
  constructor(readonly node: Node) {}
  get producer(): string {
    return this.producedBy ?? this.node.op;
  }
  set producer(op: string) {
    this.producedBy = op;
  }
  get shape(): Shape {
    return this.node.shape;
  }
  get dtype(): DType {
    return this.node.dtype;
  }
  get ndim(): number {
    return this.node.shape.length;
  }
  toString(): string {
    return `Symbol(%${this.node.id}: ${this.node.op} ${this.node.dtype}[${this.node.shape.join(',')}])`;
  }
}

export const isSymbol = (v: unknown): v is Symbol => v instanceof Symbol;

/** A scalar number constant node (inlined as a literal by the emitter). */
export function constantNode(v: number): Node {
  return new Node('constant', [], {}, [], 'float32', currentOrigin(), '', v);
}

let keepComposites = false;

/** Runs fn with composites that have a gradient rule kept as single nodes (true) or expanded (false). */
export function keepingComposites<R>(keep: boolean, fn: () => R): R {
  const saved = keepComposites;
  keepComposites = keep;
  try {
    return fn();
  } finally {
    keepComposites = saved;
  }
}

/** Builds one node for an op application; composites expand into their parts. */
export function applySymbolic(op: OpDef, raw: readonly (Symbol | number | null)[], attrs: Attrs): Symbol {
  const kept = op.kind === 'composite' && keepComposites && op.grad !== undefined && !raw.includes(null);
  if (op.kind === 'composite' && !kept) {
    const xs = raw.map((x) => (typeof x === 'number' ? new Symbol(constantNode(x)) : x)) as Symbol[];
    const out = op.decompose(sym, xs, attrs);
    if (!xs.includes(out)) out.producer = op.name;
    return out;
  }
  const nodes = raw.map((x) => {
    if (x === null) throw new Error(`webgluon internal: \`${op.name}\` got a missing input`);
    return typeof x === 'number' ? constantNode(x) : x.node;
  });
  const shape = inferShape(op, nodes.map((n) => n.shape), attrs);
  const dtype = outputDType(op, nodes.map((n) => n.dtype), attrs);
  return new Symbol(new Node(op.name, nodes, attrs, shape, dtype, currentOrigin()));
}

export const sym: OpSignatures<Symbol> = buildNamespace<Symbol>(applySymbolic, isSymbol);
installMethods(Symbol.prototype, sym as OpSignatures<unknown>);
