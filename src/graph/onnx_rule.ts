// What an op entry's `onnx` field states: how that one op is written as ONNX nodes. The graph
// walk, the batch-size bookkeeping and the protobuf writer that read these rules live in src/onnx.
import type { Attrs, DType, Shape } from '../base/types.js';

/** The element types an exported graph uses: webgluon's two, plus ONNX's indices and masks. */
export type OnnxType = DType | 'int64' | 'bool';

/**
 * One axis of an exported value: `batch · N + fixed`, where N is the batch size the ONNX model is
 * run with (batch = 0: a fixed size). Found by tracing the block at several batch sizes.
 */
export interface OnnxDim {
  readonly batch: number;
  readonly fixed: number;
}

/** A value in the ONNX graph being built: its name, element type and symbolic shape. */
export interface OnnxValue {
  readonly name: string;
  readonly dtype: OnnxType;
  readonly dims: readonly OnnxDim[];
  /** The shape at the first traced batch size (sizes that do not depend on the batch are exact). */
  readonly shape: Shape;
}

/** An ONNX attribute: numbers are INT(S); `{ float }` is FLOAT; a string is STRING. */
export type OnnxAttr = number | readonly number[] | string | { readonly float: number };

/** What a rule builds the ONNX graph with. Every method returns the name of the value it made. */
export interface OnnxBuilder {
  /** One ONNX node of the default domain with one output. */
  node(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string;
  /** A constant tensor (an initializer). */
  constant(values: readonly number[], dtype: OnnxType, shape: readonly number[]): string;
  /** A 1-D int64 constant: axes, pads, static shapes. */
  ints(values: readonly number[]): string;
  /** `value` converted to `to`; a value that already has that type comes back as it is. */
  cast(value: OnnxValue | string, to: OnnxType): string;
  /** A 1-D int64 tensor of these sizes: a constant when none depends on the batch, else computed from N. */
  dims(dims: readonly OnnxDim[]): string;
  /** Refuses the export of this node, naming its op and Block path. */
  fail(detail: string): never;
}

/** What a rule sees of one IR node. */
export interface OnnxNode {
  readonly inputs: readonly OnnxValue[];
  readonly dtype: DType;
  readonly dims: readonly OnnxDim[];
  /** The op's attributes; reading one whose value changes with the batch size refuses the export. */
  readonly attrs: Attrs;
  /** A list attribute (shape, slice bounds) as sizes in N; null entries stay null. */
  attrDims(name: string): (OnnxDim | null)[];
}

/**
 * An op's ONNX form. A string names one ONNX op taking the node's inputs, each cast to the
 * node's dtype (Add, Relu, …); a function builds the nodes and returns the output's name, which
 * must hold the node's dtype and shape.
 */
export type OnnxRule = string | ((g: OnnxBuilder, node: OnnxNode) => string);

/** A fixed size: batch 0. */
export const fixedDim = (n: number): OnnxDim => ({ batch: 0, fixed: n });
export const isFixed = (d: OnnxDim): boolean => d.batch === 0;
export const sameDim = (a: OnnxDim, b: OnnxDim): boolean => a.batch === b.batch && a.fixed === b.fixed;
