// The small vocabulary every layer shares: dtypes, shapes and attribute values.
// Kept apart from the registry so that the runtime and the data layer can use it without ops.

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];
export type AttrValue = number | boolean | string | readonly (number | null)[] | null | undefined;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** Where a value came from, for error messages: a Block path and/or the op's role. */
export interface Origin {
  path: string;
}

/** The dtypes webgluon computes in (WGSL has no f64, and f16 is an optional feature). */
export const DTYPES: readonly DType[] = ['float32', 'int32'];

export function isDType(v: unknown): v is DType {
  return v === 'float32' || v === 'int32';
}

/** The first dimension of `shape` that is not a non-negative integer, or -1. */
export function badDimension(shape: readonly number[]): number {
  return shape.findIndex((d) => !(Number.isInteger(d) && d >= 0));
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export function formatShape(shape: Shape): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
