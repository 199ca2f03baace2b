// The heavy ops, each a kernel template with a register tiling: dot (batched matmul), conv2d and
// its two backward ops, pool2d and its backward. Gradients are compositions of these same ops.
import { ShapeError, WebgluonError, currentOrigin } from '../base/errors.js';
import { defineOp, type In, type Ops, type Shaped } from '../graph/registry.js';
import type { OnnxValue } from '../graph/onnx_rule.js';
import type { Attrs, AttrValue, DType, Shape } from '../base/types.js';
import { matmulKernel } from '../codegen/kernels/matmul.js';
import { conv2dBackwardDataKernel, conv2dBackwardWeightKernel, conv2dKernel } from '../codegen/kernels/conv2d.js';
import { pool2dBackwardKernel, pool2dKernel } from '../codegen/kernels/pool2d.js';
import {
  conv2dBackwardDataReference, conv2dBackwardWeightReference, conv2dReference, dotReference,
  pool2dBackwardReference, pool2dReference,
} from '../cpu/kernels.js';

export interface DotOptions { transposeA?: boolean; transposeB?: boolean }
export interface Conv2dOptions { stride?: readonly number[]; pad?: readonly number[] }
export interface Pool2dOptions {
  kernel: readonly number[];
  stride?: readonly number[];
  pad?: readonly number[];
  poolType?: 'max' | 'avg';
  /** Round the output size up (MXNet's pooling_convention 'full', Gluon's ceil_mode); default false. */
  ceilMode?: boolean;
  /** Average: divide by the window including padding (MXNet's count_include_pad); default true. */
  countIncludePad?: boolean;
}

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    dot(a: In<T>, b: In<T>, opts?: DotOptions): T;
    conv2d(x: In<T>, w: In<T>, opts?: Conv2dOptions): T;
    conv2dBackwardData(dy: In<T>, w: In<T>, opts: Conv2dOptions & { xShape: readonly number[] }): T;
    conv2dBackwardWeight(x: In<T>, dy: In<T>, opts: Conv2dOptions & { wShape: readonly number[] }): T;
    pool2d(x: In<T>, opts: Pool2dOptions): T;
    pool2dBackward(x: In<T>, y: In<T>, dy: In<T>, opts: Pool2dOptions): T;
  }
}

/** The kernels compute in f32 and read their inputs as f32 arrays. */
const floatOnly = (name: string) => (dtypes: readonly DType[]): DType => {
  if (dtypes.some((d) => d !== 'float32')) {
    throw new WebgluonError(`\`${name}\` takes float32 inputs, got ${dtypes.join(', ')}${currentOrigin() ? ` (${currentOrigin()})` : ''}; convert with astype`);
  }
  return 'float32';
};

// ---- dot ----

/** (M, K)·(K, N), or batched (B, M, K)·(B, K, N) where a 2-D operand is shared by every batch. */
function dotShape(shapes: readonly Shape[], attrs: Attrs): number[] {
  const [a, b] = shapes;
  const fail = (detail: string): never => {
    throw new ShapeError('dot', currentOrigin(), detail, shapes, ['left', 'right']);
  };
  if (a.length < 2 || a.length > 3 || b.length < 2 || b.length > 3) fail('expects 2-D or batched 3-D operands');
  const [m, ka] = attrs.transposeA ? [a[a.length - 1], a[a.length - 2]] : [a[a.length - 2], a[a.length - 1]];
  const [kb, n] = attrs.transposeB ? [b[b.length - 1], b[b.length - 2]] : [b[b.length - 2], b[b.length - 1]];
  if (ka !== kb) fail(`inner dimensions differ (${ka} vs ${kb})`);
  if (a.length === 3 && b.length === 3 && a[0] !== b[0]) fail(`batch sizes differ (${a[0]} vs ${b[0]})`);
  const batch = a.length === 3 ? [a[0]] : b.length === 3 ? [b[0]] : [];
  return [...batch, m, n];
}

/**
 * The four transpose cases, for y = op(a)·op(b): each gradient is again one dot. When an operand
 * is 2-D but the other is batched, its gradient sums over the batch: when the batch can be folded
 * into the rows (a 2-D reshape of a contiguous operand) one dot does it, else a batched dot + sum.
 */
function dotGrad<T extends Shaped>(F: Ops<T>, a: T, b: T, dy: T, attrs: Attrs): [T, T] {
  const ta = attrs.transposeA === true;
  const tb = attrs.transposeB === true;
  const batched = dy.shape.length === 3;
  const sumBatch = (g: T, like: T) => (g.shape.length > like.shape.length ? F.sum(g, 0) : g);
  // d op(a) = dy·op(b)ᵀ, transposed back when a is stored transposed.
  const da = ta
    ? F.dot(b, dy, { transposeA: tb, transposeB: true })
    : F.dot(dy, b, { transposeB: !tb });
  // d op(b) = op(a)ᵀ·dy; with a batched and not transposed, the rows of all batches fold into one.
  let db: T;
  if (batched && b.shape.length === 2 && !ta) {
    const [bs, m, k] = a.shape;
    const a2 = F.reshape(a, [bs * m, k]);
    const dy2 = F.reshape(dy, [bs * m, dy.shape[2]]);
    db = tb ? F.dot(dy2, a2, { transposeA: true }) : F.dot(a2, dy2, { transposeA: true });
  } else {
    db = tb
      ? F.dot(dy, a, { transposeA: true, transposeB: ta })
      : F.dot(a, dy, { transposeA: !ta });
  }
  return [sumBatch(da, a), sumBatch(db, b)];
}

defineOp({
  name: 'dot', kind: 'kernel', inputs: ['a', 'b'],
  attrs: { transposeA: false, transposeB: false },
  shape: dotShape,
  dtype: floatOnly('dot'),
  kernel: matmulKernel,
  cpu: dotReference,
  grad: (F, { x: [a, b], dy }, attrs) => dotGrad(F, a, b, dy, attrs),
  // Gemm for two matrices (Dense's x·Wᵀ); MatMul, which broadcasts a shared 2-D operand, else.
  onnx: (g, { inputs: [a, b], attrs: { transposeA, transposeB } }) => {
    if (a.dims.length === 2 && b.dims.length === 2) {
      return g.node('Gemm', [g.cast(a, 'float32'), g.cast(b, 'float32')], { transA: transposeA ? 1 : 0, transB: transposeB ? 1 : 0 });
    }
    const lastTwo = (x: OnnxValue, t: unknown) =>
      t ? g.node('Transpose', [g.cast(x, 'float32')], { perm: x.dims.length === 2 ? [1, 0] : [0, 2, 1] }) : g.cast(x, 'float32');
    return g.node('MatMul', [lastTwo(a, transposeA), lastTwo(b, transposeB)]);
  },
});

// ---- conv2d ----

function pair(name: string, key: string, v: AttrValue, fallback: number, shapes: readonly Shape[]): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  const list = typeof v === 'number' ? [v, v] : (v as readonly number[]);
  const out: [number, number] = [list[0], list[1] ?? list[0]];
  const min = key === 'pad' ? 0 : 1;
  if (!out.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ShapeError(name, currentOrigin(), `${key} must be ${min === 0 ? 'non-negative' : 'positive'} integers, got (${out.join(', ')})`, shapes);
  }
  return out;
}

/** Output size of a window sweep; throws when the window does not fit the padded input. */
function sweep(name: string, size: [number, number], window: [number, number], attrs: Attrs, shapes: readonly Shape[],
  labels: readonly string[]): [number, number] {
  const stride = pair(name, 'stride', attrs.stride, 1, shapes);
  const pad = pair(name, 'pad', attrs.pad, 0, shapes);
  const out = [0, 1].map((d) => Math.floor((size[d] + 2 * pad[d] - window[d]) / stride[d]) + 1);
  if (out[0] < 1 || out[1] < 1) {
    throw new ShapeError(name, currentOrigin(),
      `the ${window.join('x')} window is larger than the padded input (${size.map((s, d) => s + 2 * pad[d]).join('x')})`, shapes, labels);
  }
  return [out[0], out[1]];
}

/** ONNX's strides and pads (begin H, begin W, end H, end W) of a window sweep. */
function onnxWindow(attrs: Attrs, shapes: readonly Shape[]): { strides: number[]; pads: number[] } {
  const pad = pair('conv2d', 'pad', attrs.pad, 0, shapes);
  return { strides: pair('conv2d', 'stride', attrs.stride, 1, shapes), pads: [...pad, ...pad] };
}

function convShape(name: string, x: Shape, w: Shape, attrs: Attrs, shapes: readonly Shape[], labels: readonly string[]): number[] {
  if (x.length !== 4 || w.length !== 4) {
    throw new ShapeError(name, currentOrigin(), 'expects data (N, C, H, W) and weight (O, C, kH, kW)', shapes, labels);
  }
  if (x[1] !== w[1]) {
    throw new ShapeError(name, currentOrigin(), `input channels differ (data ${x[1]} vs weight ${w[1]})`, shapes, labels);
  }
  const [oh, ow] = sweep(name, [x[2], x[3]], [w[2], w[3]], attrs, shapes, labels);
  return [x[0], w[0], oh, ow];
}

/** Checks that dy is what conv2d of `x` by `w` would produce. */
function checkConvGradient(name: string, x: Shape, w: Shape, dy: Shape, attrs: Attrs, shapes: readonly Shape[],
  labels: readonly string[]): void {
  const y = convShape(name, x, w, attrs, shapes, labels);
  if (dy.length !== 4 || y.some((d, i) => d !== dy[i])) {
    throw new ShapeError(name, currentOrigin(), `the output gradient must be (${y.join(', ')})`, shapes, labels);
  }
}

function shapeAttr(name: string, key: string, v: AttrValue, shapes: readonly Shape[]): number[] {
  if (!Array.isArray(v) || v.length !== 4) {
    throw new ShapeError(name, currentOrigin(), `needs ${key}, the 4-D shape it differentiates for`, shapes);
  }
  return [...(v as number[])];
}

const convAttrs = { stride: [1, 1], pad: [0, 0] };

defineOp({
  name: 'conv2d', kind: 'kernel', inputs: ['x', 'w'], attrs: convAttrs, dtype: floatOnly('conv2d'),
  shape: (shapes, attrs) => convShape('conv2d', shapes[0], shapes[1], attrs, shapes, ['data', 'weight']),
  kernel: conv2dKernel,
  cpu: conv2dReference,
  grad: (F, { x: [x, w], dy }, attrs) => {
    const opts = { stride: attrs.stride as number[], pad: attrs.pad as number[] };
    return [
      F.conv2dBackwardData(dy, w, { ...opts, xShape: x.shape }),
      F.conv2dBackwardWeight(x, dy, { ...opts, wShape: w.shape }),
    ];
  },
  onnx: (g, { inputs: [x, w], attrs }) => g.node('Conv', [x.name, w.name], {
    kernel_shape: w.shape.slice(2), ...onnxWindow(attrs, [x.shape, w.shape]),
  }),
});

defineOp({
  name: 'conv2dBackwardData', kind: 'kernel', inputs: ['dy', 'w'], attrs: { ...convAttrs, xShape: undefined },
  dtype: floatOnly('conv2dBackwardData'),
  shape: (shapes, attrs) => {
    const labels = ['output gradient', 'weight'];
    const x = shapeAttr('conv2dBackwardData', 'xShape', attrs.xShape, shapes);
    checkConvGradient('conv2dBackwardData', x, shapes[1], shapes[0], attrs, shapes, labels);
    return x;
  },
  kernel: conv2dBackwardDataKernel,
  cpu: conv2dBackwardDataReference,
});

defineOp({
  name: 'conv2dBackwardWeight', kind: 'kernel', inputs: ['x', 'dy'], attrs: { ...convAttrs, wShape: undefined },
  dtype: floatOnly('conv2dBackwardWeight'),
  shape: (shapes, attrs) => {
    const labels = ['data', 'output gradient'];
    const w = shapeAttr('conv2dBackwardWeight', 'wShape', attrs.wShape, shapes);
    checkConvGradient('conv2dBackwardWeight', shapes[0], w, shapes[1], attrs, shapes, labels);
    return w;
  },
  kernel: conv2dBackwardWeightKernel,
  cpu: conv2dBackwardWeightReference,
});

// ---- pool2d ----

/** The pooled shape, or a ShapeError naming what does not fit (also the `pooling` composite's rule). */
export function poolShape(name: string, x: Shape, attrs: Attrs, shapes: readonly Shape[]): number[] {
  if (x.length !== 4) throw new ShapeError(name, currentOrigin(), 'expects data (N, C, H, W)', shapes);
  if (attrs.poolType !== 'max' && attrs.poolType !== 'avg') {
    throw new ShapeError(name, currentOrigin(), `poolType must be 'max' or 'avg', got '${String(attrs.poolType)}'`, shapes);
  }
  if (attrs.kernel === undefined || attrs.kernel === null) {
    throw new ShapeError(name, currentOrigin(), 'needs a kernel size, e.g. {kernel: [2, 2]}', shapes);
  }
  const kernel = pair(name, 'kernel', attrs.kernel, 1, shapes);
  const pad = pair(name, 'pad', attrs.pad, 0, shapes);
  // A window made only of padding would have no maximum (MXNet requires pad < kernel too).
  if (pad[0] >= kernel[0] || pad[1] >= kernel[1]) {
    throw new ShapeError(name, currentOrigin(), `pad (${pad.join(', ')}) must be smaller than the kernel (${kernel.join(', ')})`, shapes);
  }
  const [oh, ow] = sweep(name, [x[2], x[3]], kernel, attrs, shapes, ['data']);
  if (!attrs.ceilMode) return [x[0], x[1], oh, ow];
  const stride = pair(name, 'stride', attrs.stride, 1, shapes);
  const out = [0, 1].map((d) => pooledSize(x[2 + d], kernel[d], stride[d], pad[d], true));
  // MXNet lets the last window start in the padding past the input, where it holds no value (the
  // max is then the lowest float, the average 0): refused, as the window is meaningless.
  for (const d of [0, 1]) {
    const start = (out[d] - 1) * stride[d] - pad[d];
    if (start >= x[2 + d]) {
      throw new ShapeError(name, currentOrigin(), `with ceilMode the last window along ${d ? 'W' : 'H'} would start at ${start}, ` +
        `past the input's ${x[2 + d]}: it would hold padding only. Use a smaller stride or padding, or ceilMode false`, shapes);
    }
  }
  return [x[0], x[1], out[0], out[1]];
}

/** MXNet's pooled size: 1 + (size + 2·pad − kernel) / stride, rounded down ('valid') or up ('full'). */
export function pooledSize(size: number, kernel: number, stride: number, pad: number, ceil: boolean): number {
  const span = (size + 2 * pad - kernel) / stride;
  return 1 + (ceil ? Math.ceil(span) : Math.floor(span));
}

const poolAttrs = { kernel: undefined, stride: [1, 1], pad: [0, 0], poolType: 'max', ceilMode: false, countIncludePad: true };

defineOp({
  name: 'pool2d', kind: 'kernel', inputs: ['x'], attrs: poolAttrs, dtype: floatOnly('pool2d'),
  shape: (shapes, attrs) => poolShape('pool2d', shapes[0], attrs, shapes),
  kernel: pool2dKernel,
  cpu: pool2dReference,
  // The average divides by the window, padding included unless countIncludePad is false.
  onnx: (g, { inputs: [x], attrs }) => {
    const window = {
      kernel_shape: pair('pool2d', 'kernel', attrs.kernel, 1, [x.shape]), ...onnxWindow(attrs, [x.shape]),
      ...(attrs.ceilMode ? { ceil_mode: 1 } : {}),
    };
    return attrs.poolType === 'avg'
      ? g.node('AveragePool', [x.name], { ...window, count_include_pad: attrs.countIncludePad === false ? 0 : 1 })
      : g.node('MaxPool', [x.name], window);
  },
  grad: (F, { x: [x], y, dy }, attrs) => [F.pool2dBackward(x, y, dy, {
    kernel: attrs.kernel as number[], stride: attrs.stride as number[], pad: attrs.pad as number[],
    poolType: attrs.poolType as 'max' | 'avg', ceilMode: attrs.ceilMode === true, countIncludePad: attrs.countIncludePad !== false,
  })],
});

defineOp({
  name: 'pool2dBackward', kind: 'kernel', inputs: ['x', 'y', 'dy'], attrs: poolAttrs, dtype: floatOnly('pool2dBackward'),
  shape: (shapes, attrs) => {
    const [x, y, dy] = shapes;
    const expected = poolShape('pool2dBackward', x, attrs, shapes);
    for (const [label, s] of [['pooled output', y], ['output gradient', dy]] as const) {
      if (s.length !== 4 || expected.some((d, i) => d !== s[i])) {
        throw new ShapeError('pool2dBackward', currentOrigin(), `the ${label} must be (${expected.join(', ')})`, shapes,
          ['data', 'pooled output', 'output gradient']);
      }
    }
    return [...x];
  },
  kernel: pool2dBackwardKernel,
  cpu: pool2dBackwardReference,
});
