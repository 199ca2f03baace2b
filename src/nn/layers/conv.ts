// Convolution and pooling layers (MXNet gluon.nn.conv_layers), NCHW layout.
import type { Tensor } from '../../ndarray/index.js';
import { HybridBlock, type F } from '../hybrid_block.js';
import type { InitLike } from '../init.js';
import { Parameter } from '../parameter.js';
import type { ActivationName } from './basic.js';

type Pair = number | readonly [number, number];
const pair = (v: Pair, what: string): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`webgluon: ${what} must be a non-negative integer or a pair of them, got ${JSON.stringify(v)}`);
  return p;
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
export class Conv2D extends HybridBlock {
  readonly channels: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: [number, number];
  readonly act: ActivationName | null;
  weight: Parameter;
  bias: Parameter | null;
  constructor(channels: number, kernelSize: Pair, opts: Conv2DOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels <= 0) throw new Error(`webgluon: Conv2D needs a positive integer number of channels, got ${channels}`);
    this.channels = channels;
    this.kernelSize = pair(kernelSize, 'kernelSize');
    this.strides = pair(opts.strides ?? 1, 'strides');
    this.padding = pair(opts.padding ?? 0, 'padding');
    this.act = opts.activation ?? null;
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
}

class Pool2D extends HybridBlock {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: [number, number];
  constructor(readonly poolType: 'max' | 'avg', opts: Pool2DOptions) {
    super();
    this.poolSize = pair(opts.poolSize ?? 2, 'poolSize');
    this.strides = opts.strides == null ? this.poolSize : pair(opts.strides, 'strides');
    this.padding = pair(opts.padding ?? 0, 'padding');
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.pooling(x, { kernel: this.poolSize, stride: this.strides, pad: this.padding, poolType: this.poolType });
  }
  override toString(): string {
    return `${this.constructor.name}(size=(${this.poolSize}), stride=(${this.strides}), padding=(${this.padding}))`;
  }
}

/** Max pooling; strides default to poolSize (2). */
export class MaxPool2D extends Pool2D {
  constructor(opts: Pool2DOptions = {}) {
    super('max', opts);
  }
}
/** Average pooling; strides default to poolSize (2). */
export class AvgPool2D extends Pool2D {
  constructor(opts: Pool2DOptions = {}) {
    super('avg', opts);
  }
}
