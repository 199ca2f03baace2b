// Convolution and pooling layers (MXNet gluon.nn.conv_layers), NCHW layout.
import { ArgumentError } from '../../base/errors.js';
import { checkNumber, checkOptions } from '../../base/options.js';
import type { Tensor } from '../../ndarray/index.js';
import { HybridBlock, type F } from '../hybrid_block.js';
import type { InitLike } from '../init.js';
import { Parameter } from '../parameter.js';
import { checkActivation, type ActivationName } from './basic.js';

type Pair = number | readonly [number, number];
/** A size given as one number or a pair; kernel sizes and strides must be ≥ 1, paddings ≥ 0. */
const pair = (v: Pair, what: string, min: 0 | 1): [number, number] => {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ArgumentError(`${what} must be ${min ? 'a positive' : 'a non-negative'} integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
};

export interface Conv2DOptions {
  strides?: Pair;
  padding?: Pair;
  activation?: ActivationName | null;
  useBias?: boolean;
  inChannels?: number;
  weightInitializer?: InitLike | null;
  biasInitializer?: InitLike;
}

/** 2-D convolution: weight (channels, inChannels, kH, kW); inChannels inferred at the first call if 0. */
export class Conv2D extends HybridBlock<[Tensor], Tensor> {
  readonly channels: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: [number, number];
  readonly act: ActivationName | null;
  weight: Parameter;
  bias: Parameter | null;
  constructor(channels: number, kernelSize: Pair, opts: Conv2DOptions = {}) {
    super();
    checkOptions('Conv2D', opts, ['strides', 'padding', 'activation', 'useBias', 'inChannels', 'weightInitializer', 'biasInitializer']);
    this.channels = checkNumber('Conv2D channels', channels, { integer: true, min: 1 });
    this.kernelSize = pair(kernelSize, 'Conv2D kernelSize', 1);
    this.strides = pair(opts.strides ?? 1, 'Conv2D strides', 1);
    this.padding = pair(opts.padding ?? 0, 'Conv2D padding', 0);
    if (opts.inChannels !== undefined) checkNumber('Conv2D inChannels', opts.inChannels, { integer: true, min: 0 });
    this.act = opts.activation == null ? null : checkActivation('Conv2D', opts.activation);
    this.weight = new Parameter(`${this.name}_weight`, { shape: [channels, opts.inChannels ?? 0, ...this.kernelSize], init: opts.weightInitializer ?? null });
    this.bias = (opts.useBias ?? true) ? new Parameter(`${this.name}_bias`, { shape: [channels], init: opts.biasInitializer ?? 'zeros' }) : null;
  }
  protected override inferShape(x: Tensor): void {
    if (x.shape.length !== 4) throw new Error(`webgluon: Conv2D expects input (N, C, H, W), got shape (${x.shape.join(', ')})`);
    this.weight._mergeShape([this.channels, x.shape[1], ...this.kernelSize]);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    const y = F.convolution(x, this.weight.data(), this.bias ? this.bias.data() : null, { stride: this.strides, pad: this.padding });
    return this.act ? F.activation(y, this.act) : y;
  }
  override toString(): string {
    return `Conv2D(${this.weight.shape[1] || 'None'} -> ${this.channels}, kernel_size=(${this.kernelSize}), stride=(${this.strides}))`;
  }
}

export interface Pool2DOptions {
  poolSize?: Pair;
  strides?: Pair | null;
  padding?: Pair;
  /** Round the output size up, so the last window may hang over the input (MXNet's ceil_mode, pooling_convention 'full'); default false. */
  ceilMode?: boolean;
}
export interface AvgPool2DOptions extends Pool2DOptions {
  /** Divide by the whole window, padding included (MXNet's count_include_pad, default true), or only by the values inside the input. */
  countIncludePad?: boolean;
}

const flag = (where: string, name: string, v: unknown, fallback: boolean): boolean => {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ArgumentError(`${where} option \`${name}\` must be true or false, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
};

class Pool2D extends HybridBlock<[Tensor], Tensor> {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  /** Whether an average counts padding in its divisor (always true for max pooling, where it means nothing). */
  readonly countIncludePad: boolean;
  constructor(readonly poolType: 'max' | 'avg', size: Pair | AvgPool2DOptions | undefined, more: AvgPool2DOptions) {
    super();
    const name = poolType === 'max' ? 'MaxPool2D' : 'AvgPool2D';
    // MXNet's MaxPool2D(pool_size=2, strides=None, padding=0): the size may come first.
    const opts = typeof size === 'number' || Array.isArray(size) ? { ...more, poolSize: size as Pair } : { ...(size as AvgPool2DOptions | undefined), ...more };
    checkOptions(name, opts, ['poolSize', 'strides', 'padding', 'ceilMode', ...(poolType === 'avg' ? ['countIncludePad'] : [])]);
    this.poolSize = pair(opts.poolSize ?? 2, `${name} poolSize`, 1);
    this.strides = opts.strides == null ? this.poolSize : pair(opts.strides, `${name} strides`, 1);
    this.padding = pair(opts.padding ?? 0, `${name} padding`, 0);
    this.ceilMode = flag(name, 'ceilMode', opts.ceilMode, false);
    this.countIncludePad = flag(name, 'countIncludePad', opts.countIncludePad, true);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.pooling(x, {
      kernel: this.poolSize, stride: this.strides, pad: this.padding, poolType: this.poolType,
      ceilMode: this.ceilMode, countIncludePad: this.countIncludePad,
    });
  }
  override toString(): string {
    const avg = this.poolType === 'avg' ? `, count_include_pad=${this.countIncludePad}` : '';
    return `${this.constructor.name}(size=(${this.poolSize}), stride=(${this.strides}), padding=(${this.padding}), ceil_mode=${this.ceilMode}${avg})`;
  }
}

/** Max pooling; strides default to poolSize (2). */
export class MaxPool2D extends Pool2D {
  constructor(poolSize?: Pair | Pool2DOptions, opts: Pool2DOptions = {}) {
    super('max', poolSize, opts);
  }
}
/** Average pooling; strides default to poolSize (2); padding counts in the divisor unless countIncludePad is false. */
export class AvgPool2D extends Pool2D {
  constructor(poolSize?: Pair | AvgPool2DOptions, opts: AvgPool2DOptions = {}) {
    super('avg', poolSize, opts);
  }
}
