// Ops defined as compositions of other registry ops: they fuse through their parts, so none needs
// its own kernel (softrelu, softmax, dense and conv layers). They differentiate through their parts
// too, except where a part's rule is wrong at a point the whole is smooth: softrelu, softsign and
// log1p carry their exact derivative (relu and |x| give 0 at 0, softrelu's slope there is 1/2).
import { ShapeError, currentOrigin } from '../base/errors.js';
import { defineOp, type In, type Ops, type Shaped } from '../graph/registry.js';
import { normalizeAxis } from '../graph/shape.js';
import type { Attrs, Shape } from '../base/types.js';
import { poolShape } from './nn_kernels.js';

export type ActType = 'relu' | 'sigmoid' | 'tanh' | 'softrelu' | 'softsign';

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    softrelu(x: In<T>): T;
    softsign(x: In<T>): T;
    log1p(x: In<T>): T;
    softmax(x: In<T>, axis?: number | { axis?: number }): T;
    logSoftmax(x: In<T>, axis?: number | { axis?: number }): T;
    activation(x: In<T>, actType: ActType): T;
    fullyConnected(x: In<T>, w: In<T>, b?: In<T> | null, opts?: { flatten?: boolean }): T;
    convolution(x: In<T>, w: In<T>, b?: In<T> | null,
      opts?: { stride?: readonly number[]; pad?: readonly number[] }): T;
    pooling(x: In<T>, opts: { kernel?: readonly number[]; stride?: readonly number[]; pad?: readonly number[];
      poolType?: 'max' | 'avg'; globalPool?: boolean; ceilMode?: boolean; countIncludePad?: boolean }): T;
  }
}

const same = ([s]: readonly Shape[]) => [...s];

// log(1 + exp(-|x|)) keeps softrelu finite for large |x| where exp(x) alone would overflow.
// (MXNet's softrelu gradient is 1 − exp(−y), the same sigmoid(x).)
defineOp({ name: 'softrelu', kind: 'composite', inputs: ['x'], shape: same,
  decompose: (F, [x]) => F.add(F.relu(x), F.log1p(F.exp(F.neg(F.abs(x))))),
  grad: (F, { x: [x], dy }) => [F.mul(dy, F.sigmoid(x))] });
defineOp({ name: 'softsign', kind: 'composite', inputs: ['x'], shape: same,
  decompose: (F, [x]) => F.div(x, F.add(1, F.abs(x))),
  grad: (F, { x: [x], dy }) => [F.div(dy, F.square(F.add(1, F.abs(x))))] });
defineOp({ name: 'log1p', kind: 'composite', inputs: ['x'], shape: same,
  decompose: (F, [x]) => F.log(F.add(1, x)),
  grad: (F, { x: [x], dy }) => [F.div(dy, F.add(1, x))] });

function softmaxAxis(s: Shape, attrs: Attrs): number {
  return normalizeAxis('softmax', attrs.axis as number, s.length, s);
}
// The row maximum is subtracted for range only; blockGrad keeps it out of the gradient.
defineOp({ name: 'softmax', kind: 'composite', inputs: ['x'], attrs: { axis: -1 }, args: ['axis'], shape: same,
  decompose: (F, [x], attrs) => {
    const axis = softmaxAxis(x.shape, attrs);
    const e = F.exp(F.sub(x, F.blockGrad(F.max(x, axis, true))));
    return F.div(e, F.sum(e, axis, true));
  } });
defineOp({ name: 'logSoftmax', kind: 'composite', inputs: ['x'], attrs: { axis: -1 }, args: ['axis'], shape: same,
  decompose: (F, [x], attrs) => {
    const axis = softmaxAxis(x.shape, attrs);
    const s = F.sub(x, F.blockGrad(F.max(x, axis, true)));
    return F.sub(s, F.log(F.sum(F.exp(s), axis, true)));
  } });

export function applyActivation<T extends Shaped>(F: Ops<T>, x: T, act: string): T {
  switch (act) {
    case 'relu': return F.relu(x);
    case 'sigmoid': return F.sigmoid(x);
    case 'tanh': return F.tanh(x);
    case 'softrelu': return F.softrelu(x);
    case 'softsign': return F.softsign(x);
    default:
      throw new Error(`webgluon: unknown activation '${act}' (use relu, sigmoid, tanh, softrelu or softsign)`);
  }
}
defineOp({ name: 'activation', kind: 'composite', inputs: ['x'], attrs: { actType: undefined }, args: ['actType'],
  shape: same, decompose: (F, [x], { actType }) => applyActivation(F, x, actType as string) });

defineOp({
  name: 'fullyConnected', kind: 'composite', inputs: ['x', 'w', 'b?'], attrs: { flatten: true },
  shape: ([x, w, b], { flatten }) => {
    const inUnits = flatten ? x.slice(1).reduce((n, d) => n * d, 1) : x[x.length - 1];
    if (w.length !== 2 || w[1] !== inUnits || (b && (b.length !== 1 || b[0] !== w[0]))) {
      throw new ShapeError('fullyConnected', currentOrigin(),
        `weight must be (units, ${inUnits}) and bias (units,) for this input`, b ? [x, w, b] : [x, w], ['data', 'weight', 'bias']);
    }
    return flatten ? [x[0], w[0]] : [...x.slice(0, -1), w[0]];
  },
  decompose: (F, [x, w, b], { flatten }) => {
    const lead = x.shape.slice(0, -1);
    const x2 = flatten ? F.flatten(x) : x.shape.length === 2 ? x : F.reshape(x, [-1, x.shape[x.shape.length - 1]]);
    let y = F.dot(x2, w, { transposeB: true });
    if (b) y = F.add(y, b);
    return flatten || x.shape.length === 2 ? y : F.reshape(y, [...lead, w.shape[0]]);
  },
});

defineOp({
  name: 'convolution', kind: 'composite', inputs: ['x', 'w', 'b?'], attrs: { stride: [1, 1], pad: [0, 0] },
  shape: ([x, w, b], attrs) => {
    if (b && (b.length !== 1 || b[0] !== w[0])) {
      throw new ShapeError('convolution', currentOrigin(), `bias must be (${w[0]},)`, [x, w, b], ['data', 'weight', 'bias']);
    }
    return convOutShape(x, w, attrs);
  },
  decompose: (F, [x, w, b], { stride, pad }) => {
    const y = F.conv2d(x, w, { stride: stride as number[], pad: pad as number[] });
    return b ? F.add(y, F.reshape(b, [1, -1, 1, 1])) : y;
  },
});

export function convOutShape(x: Shape, w: Shape, attrs: Attrs): number[] {
  const stride = (attrs.stride as number[]) ?? [1, 1];
  const pad = (attrs.pad as number[]) ?? [0, 0];
  if (x.length !== 4 || w.length !== 4 || x[1] !== w[1]) {
    throw new ShapeError('convolution', currentOrigin(), 'expects data (N, C, H, W) and weight (O, C, kH, kW) with equal C', [x, w], ['data', 'weight']);
  }
  const oh = Math.floor((x[2] + 2 * pad[0] - w[2]) / stride[0]) + 1;
  const ow = Math.floor((x[3] + 2 * pad[1] - w[3]) / stride[1]) + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError('convolution', currentOrigin(), 'kernel is larger than the padded input', [x, w], ['data', 'weight']);
  }
  return [x[0], w[0], oh, ow];
}

defineOp({
  name: 'pooling', kind: 'composite', inputs: ['x'],
  attrs: { kernel: [2, 2], stride: null, pad: [0, 0], poolType: 'max', globalPool: false, ceilMode: false, countIncludePad: true },
  shape: ([x], attrs) => poolOutShape(x, poolAttrs(x, attrs)),
  decompose: (F, [x], attrs) => F.pool2d(x, { ...poolAttrs(x.shape, attrs) }),
});

export interface PoolAttrs {
  kernel: number[];
  stride: number[];
  pad: number[];
  poolType: 'max' | 'avg';
  ceilMode: boolean;
  countIncludePad: boolean;
}
function poolAttrs(x: Shape, attrs: Attrs): PoolAttrs {
  if (x.length !== 4) throw new ShapeError('pooling', currentOrigin(), 'expects data (N, C, H, W)', [x]);
  const global = attrs.globalPool === true;
  const kernel = global ? [x[2], x[3]] : [...(attrs.kernel as number[])];
  return {
    kernel,
    stride: global ? [1, 1] : [...((attrs.stride as number[] | null) ?? kernel)],
    pad: global ? [0, 0] : [...(attrs.pad as number[])],
    poolType: attrs.poolType as 'max' | 'avg',
    ceilMode: !global && attrs.ceilMode === true,
    countIncludePad: attrs.countIncludePad !== false,
  };
}
/** The pooled shape: pool2d's rule (output size floor or ceil, windows that fit, pad < kernel). */
export function poolOutShape(x: Shape, a: PoolAttrs): number[] {
  return poolShape('pooling', x, { ...a }, [x]);
}
