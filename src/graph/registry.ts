// The op registry: ONE entry per op states its call signature, shape and dtype rule, its body
// (WGSL expression, reduction, gather, kernel template, view or decomposition), its CPU
// reference and its gradient as a composition of registry ops. Everything else iterates this.
import { DTypeError, ShapeError, currentOrigin } from '../base/errors.js';
import { badDimension, formatShape, isDType, type Attrs, type AttrValue, type DType, type Shape } from '../base/types.js';
import type { KernelTemplate } from './kernel_template.js';
import type { OnnxRule } from './onnx_rule.js';

/** A value an op can take where a tensor is expected: the tensor itself or a plain number. */
export type In<T> = T | number;

/**
 * The typed signature of every op, generic in the value type (Tensor when eager, Symbol when
 * traced). Each ops/*.ts file adds its ops to this interface beside their entries.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export interface OpSignatures<T> {}
export type Ops<T> = OpSignatures<T>;

/** What a gradient rule receives: forward inputs, forward output and the output's gradient. */
export interface GradArgs<T> {
  x: readonly T[];
  y: T;
  dy: T;
}

/** What gradient rules and decompositions may read of a value: its shape. */
export interface Shaped {
  readonly shape: Shape;
}

/** A gradient rule; returns one gradient per input (null where an input gets none). */
export type GradRule = <T extends Shaped>(F: Ops<T>, g: GradArgs<T>, attrs: Attrs) => (T | null)[];

/** A host-side array, as the CPU reference sees inputs and produces outputs. */
export interface HostValue {
  data: Float32Array | Int32Array;
  shape: Shape;
  dtype: DType;
}

export interface GatherContext {
  /** Output coordinate expressions (u32), one per output axis. */
  out: readonly string[];
  outShape: Shape;
  inShapes: readonly Shape[];
  /** An f32 expression loading input i at the given u32 coordinate expressions. */
  load(input: number, coords: readonly string[]): string;
}

export interface ReduceBody {
  /** Identity element of the combine (a WGSL-representable number; ±Infinity allowed). */
  identity: number;
  combine: (acc: string, x: string) => string;
  cpuCombine: (acc: number, x: number) => number;
  /** Turns the combined value into the result, e.g. sum → mean divides by the count. */
  finalize?: (acc: string, count: string) => string;
  cpuFinalize?: (acc: number, count: number) => number;
}

interface OpBase {
  name: string;
  /** Tensor inputs, in order; a single '...name' input takes a list (concat). */
  inputs: readonly string[];
  /** Attributes with their defaults (undefined = no default). Only these are accepted. */
  attrs?: Readonly<Record<string, AttrValue>>;
  /** Positional call order after the inputs; a trailing plain object sets attributes by name. */
  args?: readonly string[];
  shape: (shapes: readonly Shape[], attrs: Attrs) => number[];
  dtype?: (dtypes: readonly DType[], attrs: Attrs) => DType;
  /** Gradient; omitted means the op has none, and backward through it fails naming it. */
  grad?: GradRule;
  /** Inputs that never receive a gradient (indices, conditions): no error for them. */
  nondiffInputs?: readonly number[];
  /** How the op is written in an ONNX model (src/onnx); omitted means export refuses it, naming it. */
  onnx?: OnnxRule;
}

export interface ElementwiseOp extends OpBase {
  kind: 'elementwise';
  wgsl: (x: readonly string[], attrs: Attrs) => string;
  cpu: (x: readonly number[], attrs: Attrs) => number;
}
export interface ReduceOp extends OpBase {
  kind: 'reduce';
  reduce: ReduceBody;
}
export interface GatherOp extends OpBase {
  kind: 'gather';
  gather: (ctx: GatherContext, attrs: Attrs) => string;
  cpu: (x: readonly HostValue[], attrs: Attrs, outShape: Shape) => Float32Array | Int32Array;
}
export interface KernelOp extends OpBase {
  kind: 'kernel';
  kernel: KernelTemplate;
  cpu: (x: readonly HostValue[], attrs: Attrs, outShape: Shape) => Float32Array | Int32Array;
}
export interface ViewOp extends OpBase {
  kind: 'view';
}
/**
 * An op written as other ops. Without `grad` it is differentiated through its parts; with one
 * (softrelu's sigmoid), the eager tape and autodiff apply that rule instead, which is exact where
 * the parts' rules are not (relu and |x| give 0 at 0, softrelu's derivative there is 1/2).
 */
export interface CompositeOp extends OpBase {
  kind: 'composite';
  decompose: <T extends Shaped>(F: Ops<T>, x: readonly T[], attrs: Attrs) => T;
}
/** Produces values from attributes alone (random numbers); seeded, so CPU and GPU agree. */
export interface SourceOp extends OpBase {
  kind: 'source';
  /** `u32(name)` spells an integer attribute (a seed) so that eager kernels read it at run time. */
  wgsl: (index: string, attrs: Attrs, u32: (name: string) => string) => string;
  cpu: (index: number, attrs: Attrs) => number;
}

export type OpDef = ElementwiseOp | ReduceOp | GatherOp | KernelOp | ViewOp | CompositeOp | SourceOp;
export type OpKind = OpDef['kind'];

const registry = new Map<string, OpDef>();
/** Derived tables (namespaces, methods) that follow the registry as entries are defined. */
const followers: ((op: OpDef) => void)[] = [];

export function defineOp<D extends OpDef>(def: D): D {
  if (registry.has(def.name)) throw new Error(`webgluon: op \`${def.name}\` is defined twice`);
  registry.set(def.name, def);
  for (const f of followers) f(def);
  return def;
}

/**
 * Calls `f` for every op defined so far and for every op defined later. The op entries live
 * above this layer (src/ops), so a namespace built here cannot wait for them at import time.
 */
export function forEachOp(f: (op: OpDef) => void): void {
  for (const op of registry.values()) f(op);
  followers.push(f);
}

export function getOp(name: string): OpDef {
  const op = registry.get(name);
  if (!op) throw new Error(`webgluon: unknown op \`${name}\``);
  return op;
}

export function allOps(): OpDef[] {
  return [...registry.values()];
}

/** Output dtype: the rule's, else the first input's, else float32. */
export function outputDType(op: OpDef, dtypes: readonly DType[], attrs: Attrs): DType {
  const dtype = op.dtype ? op.dtype(dtypes, attrs) : dtypes[0] ?? 'float32';
  if (!isDType(dtype)) {
    const where = currentOrigin();
    throw new DTypeError(`\`${op.name}\`${where ? ` (${where})` : ''} would make a tensor of dtype ${JSON.stringify(dtype)}; ` +
      'webgluon computes in float32 and int32 only');
  }
  return dtype;
}

/**
 * The op's output shape from its shape rule, refused unless every dimension is a non-negative
 * integer: a negative or fractional size must stop at the call, not loop or fail inside a kernel.
 */
export function inferShape(op: OpDef, shapes: readonly Shape[], attrs: Attrs): number[] {
  const shape = op.shape(shapes, attrs);
  const bad = badDimension(shape);
  if (bad >= 0) {
    const given = Object.entries(attrs).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    throw new ShapeError(op.name, currentOrigin(), `output shape ${formatShape(shape)} has dimension ${bad} = ${shape[bad]}, ` +
      `not a non-negative integer${given ? ` (attributes ${given})` : ''}`, shapes);
  }
  return shape;
}

/** Fills attribute defaults and rejects names the op does not know. */
export function resolveAttrs(op: OpDef, given: Readonly<Record<string, AttrValue>>): Attrs {
  const known = op.attrs ?? {};
  for (const k of Object.keys(given)) {
    if (!(k in known)) {
      const names = Object.keys(known);
      throw new Error(`webgluon: \`${op.name}\` has no attribute \`${k}\`` +
        (names.length ? ` (it takes: ${names.join(', ')})` : ' (it takes none)'));
    }
  }
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(known)) out[k] = given[k] !== undefined ? given[k] : v;
  return out;
}
