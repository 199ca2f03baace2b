// HostArray: a CPU-side n-d array that datasets and transforms return, so that per-sample work
// (decoding, casting, HWC→CHW) never touches the GPU; the DataLoader turns batches into tensors.

export type HostDType = 'uint8' | 'float32' | 'int32';
export type HostData = Uint8Array | Float32Array | Int32Array;

/** Nested arrays of numbers, as `toArray()` returns and `HostArray.from` accepts. */
export type NestedNumbers = number | NestedNumbers[];

const CONSTRUCTORS = { uint8: Uint8Array, float32: Float32Array, int32: Int32Array } as const;

/** `(105, 105, 1)`: how every error in the data pipeline prints a shape. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function dtypeOf(data: HostData): HostDType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int32Array) return 'int32';
  return 'float32';
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function allocate(dtype: HostDType, size: number): HostData {
  return new CONSTRUCTORS[dtype](size);
}

export class HostArray {
  readonly data: HostData;
  readonly shape: number[];
  readonly dtype: HostDType;

  constructor(data: HostData, shape: readonly number[]) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`webgluon: HostArray shape ${formatShape(shape)} has an invalid dimension ${d}`);
    }
    if (data.length !== product(shape)) {
      throw new Error(`webgluon: HostArray shape ${formatShape(shape)} needs ${product(shape)} elements, but the data has ${data.length}`);
    }
    this.data = data;
    this.shape = [...shape];
    this.dtype = dtypeOf(data);
  }

  /** Builds an array from nested arrays (shape inferred) or flat values with an explicit shape. */
  static from(values: NestedNumbers | ArrayLike<number>, opts: { shape?: number[]; dtype?: HostDType } = {}): HostArray {
    const dtype = opts.dtype ?? 'float32';
    if (typeof values === 'number') return new HostArray(CONSTRUCTORS[dtype].of(values), opts.shape ?? []);
    const nested = Array.isArray(values) && values.some((v) => Array.isArray(v));
    if (!nested) {
      const flat = CONSTRUCTORS[dtype].from(values as ArrayLike<number>);
      return new HostArray(flat, opts.shape ?? [flat.length]);
    }
    const shape: number[] = [];
    for (let level: NestedNumbers = values as NestedNumbers; Array.isArray(level); level = level[0] ?? 0) shape.push(level.length);
    const flat: number[] = [];
    const collect = (v: NestedNumbers): void => void (Array.isArray(v) ? v.forEach(collect) : flat.push(v));
    collect(values as NestedNumbers);
    if (flat.length !== product(shape)) throw new Error(`webgluon: nested arrays are ragged; expected shape ${formatShape(shape)}`);
    return new HostArray(CONSTRUCTORS[dtype].from(flat), opts.shape ?? shape);
  }

  static zeros(shape: readonly number[], dtype: HostDType = 'float32'): HostArray {
    return new HostArray(allocate(dtype, product(shape)), shape);
  }

  /** Stacks arrays of one shape along a new leading axis; mixed dtypes promote to float32. */
  static stack(arrays: readonly HostArray[]): HostArray {
    if (arrays.length === 0) throw new Error('webgluon: cannot stack an empty list of HostArrays');
    const first = arrays[0];
    const dtype = arrays.every((a) => a.dtype === first.dtype) ? first.dtype : 'float32';
    const out = allocate(dtype, first.size * arrays.length);
    arrays.forEach((a, i) => {
      if (!sameShape(a.shape, first.shape)) {
        throw new Error(`webgluon: cannot stack arrays of shapes ${formatShape(first.shape)} (position 0) and ${formatShape(a.shape)} (position ${i})`);
      }
      out.set(a.data, i * first.size);
    });
    return new HostArray(out, [arrays.length, ...first.shape]);
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  astype(dtype: HostDType): HostArray {
    if (dtype === this.dtype) return new HostArray(this.data.slice(), this.shape);
    // Typed-array conversion truncates toward zero and wraps uint8/int32, as NumPy's astype does.
    return new HostArray(CONSTRUCTORS[dtype].from(this.data), this.shape);
  }

  /** A view with a new shape over the same data; one dimension may be -1. */
  reshape(shape: readonly number[]): HostArray {
    const known = product(shape.filter((d) => d !== -1));
    const holes = shape.filter((d) => d === -1).length;
    if (holes > 1 || (holes === 1 && (known === 0 || this.size % known !== 0))) {
      throw new Error(`webgluon: cannot reshape ${formatShape(this.shape)} to ${formatShape(shape)}`);
    }
    const resolved = shape.map((d) => (d === -1 ? this.size / known : d));
    if (product(resolved) !== this.size) {
      throw new Error(`webgluon: cannot reshape ${formatShape(this.shape)} (${this.size} elements) to ${formatShape(shape)}`);
    }
    return new HostArray(this.data, resolved);
  }

  /** Permutes the axes (reversed when omitted), e.g. `transpose([2, 0, 1])` for HWC → CHW. */
  transpose(axes?: readonly number[]): HostArray {
    const rank = this.ndim;
    const perm = axes ? axes.map((a) => (a < 0 ? a + rank : a)) : [...this.shape.keys()].reverse();
    if (perm.length !== rank || new Set(perm).size !== rank || perm.some((a) => a < 0 || a >= rank)) {
      throw new Error(`webgluon: transpose axes [${axes?.join(', ')}] are not a permutation of the ${rank} axes of ${formatShape(this.shape)}`);
    }
    const outShape = perm.map((a) => this.shape[a]);
    const inStrides = stridesOf(this.shape);
    const stepOf = perm.map((a) => inStrides[a]); // input stride of each output axis
    const out = allocate(this.dtype, this.size);
    const index = new Array<number>(rank).fill(0);
    let source = 0;
    for (let o = 0; o < out.length; o++) {
      out[o] = this.data[source];
      // Odometer over the output index, moving the input offset by the matching strides.
      for (let axis = rank - 1; axis >= 0; axis--) {
        index[axis]++;
        source += stepOf[axis];
        if (index[axis] < outShape[axis]) break;
        source -= stepOf[axis] * outShape[axis];
        index[axis] = 0;
      }
    }
    return new HostArray(out, outShape);
  }

  /** True division, always float32 (NumPy's `/`), so `img.div(255)` works on uint8 images. */
  div(scalar: number): HostArray {
    return this.map((v) => v / scalar, 'float32');
  }

  mul(scalar: number): HostArray {
    return this.map((v) => v * scalar, this.resultType(scalar));
  }

  add(scalar: number): HostArray {
    return this.map((v) => v + scalar, this.resultType(scalar));
  }

  sub(scalar: number): HostArray {
    return this.map((v) => v - scalar, this.resultType(scalar));
  }

  /** Row `i` along the leading axis, sharing data: how ArrayDataset splits an array into samples. */
  row(i: number): HostArray {
    if (this.ndim === 0) throw new Error('webgluon: cannot index a 0-d HostArray');
    if (!Number.isInteger(i) || i < 0 || i >= this.shape[0]) {
      throw new RangeError(`webgluon: row ${i} is out of range for a HostArray of shape ${formatShape(this.shape)}`);
    }
    const rowSize = product(this.shape.slice(1));
    return new HostArray(this.data.subarray(i * rowSize, (i + 1) * rowSize), this.shape.slice(1));
  }

  toArray(): NestedNumbers {
    const build = (offset: number, axis: number): NestedNumbers => {
      if (axis === this.ndim) return this.data[offset];
      const step = product(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => build(offset + i * step, axis + 1));
    };
    return build(0, 0);
  }

  toString(): string {
    return `HostArray(${formatShape(this.shape)}, ${this.dtype})`;
  }

  // NumPy keeps an integer dtype for an integer scalar (wrapping uint8) and goes float otherwise.
  private resultType(scalar: number): HostDType {
    return this.dtype !== 'float32' && Number.isInteger(scalar) ? this.dtype : 'float32';
  }

  private map(fn: (v: number) => number, dtype: HostDType): HostArray {
    const out = allocate(dtype, this.size);
    for (let i = 0; i < out.length; i++) out[i] = fn(this.data[i]);
    return new HostArray(out, this.shape);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis];
  }
  return strides;
}
