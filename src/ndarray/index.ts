// The `nd` namespace users import: every registry op (derived), plus tensor creation and
// nd.random. Also re-exports the Tensor class and autograd.
import type { OpSignatures } from '../graph/registry.js';
import { DTypeError, ShapeError, currentOrigin } from '../base/errors.js';
import { checkOptions } from '../base/options.js';
import { badDimension, DTYPES, isDType, sizeOf, type DType } from '../base/types.js';
import { fromHost, nd as ops } from './eager.js';
import { nextSeed, seed } from './random.js';
import { Tensor, type NestedArray } from './tensor.js';
import { keep, tidy as tidyScope, type Tidied } from './scope.js';

export type ArrayData = Float32Array | Int32Array | Uint8Array | Float64Array | readonly number[] | NestedArray;

function flattenNested(data: NestedArray, shape: number[], depth = 0, out: number[] = []): number[] {
  if (typeof data === 'number') {
    if (depth !== shape.length && shape.length) throw new Error('webgluon: nd.array got a ragged nested array');
    out.push(data);
    return out;
  }
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new Error(`webgluon: nd.array got a ragged nested array (axis ${depth}: ${shape[depth]} vs ${data.length})`);
  for (const d of data) flattenNested(d, shape, depth + 1, out);
  return out;
}

/** Creates a tensor from numbers, nested arrays or a typed array (with `shape`). */
export function array(data: ArrayData, opts: { shape?: readonly number[]; dtype?: DType } = {}): Tensor {
  checkOptions('nd.array', opts, ['shape', 'dtype']);
  const dtype = checkDType('nd.array', opts.dtype ?? (data instanceof Int32Array ? 'int32' : 'float32'));
  if (opts.shape) checkShape('nd.array', opts.shape);
  let flat: ArrayLike<number>;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    flat = data as ArrayLike<number>;
    shape = opts.shape ? [...opts.shape] : [flat.length];
  } else if (typeof data === 'number') {
    flat = [data];
    shape = opts.shape ? [...opts.shape] : [];
  } else {
    const inferred: number[] = [];
    flat = flattenNested(data as NestedArray, inferred);
    shape = opts.shape ? [...opts.shape] : inferred;
  }
  if (sizeOf(shape) !== flat.length) {
    throw new Error(`webgluon: nd.array got ${flat.length} values for shape (${shape.join(', ')})`);
  }
  const host = dtype === 'int32' ? Int32Array.from(flat) : Float32Array.from(flat);
  return fromHost(host, shape, dtype);
}

export function full(shape: readonly number[], value: number, opts: { dtype?: DType } = {}): Tensor {
  checkOptions('nd.full', opts, ['dtype']);
  checkShape('nd.full', shape);
  return ops.broadcastTo(value, [...shape]).astype(checkDType('nd.full', opts.dtype ?? 'float32'));
}

/** Refuses a dtype webgluon does not compute in (float64, float16, a typo), at the call. */
function checkDType(where: string, dtype: unknown): DType {
  if (isDType(dtype)) return dtype;
  throw new DTypeError(`${where} got dtype ${JSON.stringify(dtype)}; webgluon computes in ${DTYPES.join(' and ')} only`);
}

/** Refuses a shape with a negative, fractional or non-number dimension, at the call. */
function checkShape(where: string, shape: unknown): void {
  if (!Array.isArray(shape)) throw new ShapeError(where, currentOrigin(), `the shape must be an array of dimensions, got ${JSON.stringify(shape)}`, []);
  const bad = badDimension(shape as number[]);
  if (bad >= 0) {
    throw new ShapeError(where, currentOrigin(), `dimension ${bad} of shape [${shape.join(', ')}] is ${String(shape[bad])}, not a non-negative integer`, []);
  }
}
export const zeros = (shape: readonly number[], opts: { dtype?: DType } = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: { dtype?: DType } = {}) => full(shape, 1, opts);
export const zerosLike = (t: Tensor) => full(t.shape, 0, { dtype: t.dtype });
export const onesLike = (t: Tensor) => full(t.shape, 1, { dtype: t.dtype });

export const random = {
  seed,
  uniform(lo = 0, hi = 1, shape: readonly number[] = [1]): Tensor {
    checkShape('nd.random.uniform', shape);
    return ops.randomUniform({ shape: [...shape], lo, hi, seed: nextSeed() });
  },
  normal(mean = 0, std = 1, shape: readonly number[] = [1]): Tensor {
    checkShape('nd.random.normal', shape);
    return ops.randomNormal({ shape: [...shape], mean, std, seed: nextSeed() });
  },
};

export interface NdCreators {
  array: typeof array;
  full: typeof full;
  zeros: typeof zeros;
  ones: typeof ones;
  zerosLike: typeof zerosLike;
  onesLike: typeof onesLike;
  random: typeof random;
}

export const nd: OpSignatures<Tensor> & NdCreators = Object.assign(Object.create(null) as object, ops,
  { array, full, zeros, ones, zerosLike, onesLike, random });

export { Tensor, keep };

/**
 * Runs `fn` and disposes the tensors it made, except those it returns (alone, in arrays or in
 * plain objects), those kept with keep(), the library's own (parameters, gradients, optimizer
 * state) and those a pending backward() still reads. `fn` must be synchronous.
 */
export function tidy<R extends Tidied>(fn: () => R): R {
  return tidyScope(fn, (v): v is Tensor => v instanceof Tensor);
}
export type { NestedArray };
export * as autograd from './autograd.js';
