// Basic layers (MXNet gluon.nn.basic_layers): Sequential, HybridSequential, Dense, Dropout,
// Flatten, Activation, BatchNorm.
import { ArgumentError, DTypeError } from '../../base/errors.js';
import { checkNumber, checkOptions, suggestName } from '../../base/options.js';
import { nextSeed } from '../../ndarray/random.js';
import { autograd, nd, Tensor } from '../../ndarray/index.js';
import { Block, type AnyBlock } from '../block.js';
import { auxUpdate, callInput, HybridBlock, type AnyHybridBlock, type F } from '../hybrid_block.js';
import type { InitLike } from '../init.js';
import { Parameter } from '../parameter.js';

const ACTIVATIONS = ['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Refuses an activation name we do not have, suggesting the one meant ('Relu' → 'relu'). */
export function checkActivation(where: string, name: unknown): ActivationName {
  if ((ACTIVATIONS as readonly unknown[]).includes(name)) return name as ActivationName;
  const meant = typeof name === 'string' ? suggestName(name, ACTIVATIONS) : null;
  throw new ArgumentError(`${where}: unknown activation ${JSON.stringify(name) ?? String(name)}` +
    `${meant ? ` (did you mean '${meant}'?)` : ''}; use ${ACTIVATIONS.join(', ')}`);
}

/** Runs children in order: the first gets every argument, each later one the previous output. */
function chain(children: Iterable<unknown>, args: readonly unknown[]): unknown {
  let out = args[0];
  let first = true;
  for (const b of children) {
    out = (b as Block<unknown[], unknown>).forward(out, ...(first ? args.slice(1) : []));
    first = false;
  }
  return out;
}

/**
 * Runs children in order; children are named 0, 1, 2, … `In` is what the first child takes and
 * `Out` what the last returns (one tensor each by default).
 */
export class Sequential<In extends unknown[] = [Tensor], Out = Tensor> extends Block<In, Out> {
  add(...blocks: AnyBlock[]): this {
    for (const b of blocks) {
      if (!(b instanceof Block)) throw new TypeError(`webgluon: ${this.constructor.name}.add takes Blocks, got ${(b as object)?.constructor?.name}`);
      this.register(String(this._reg.size), b);
    }
    return this;
  }
  get length(): number {
    return this._reg.size;
  }
  /** The i-th child (negative: from the end); narrow it with instanceof to call it. */
  at(i: number): AnyBlock {
    const b = this._reg.get(String(i < 0 ? this._reg.size + i : i));
    if (!(b instanceof Block)) throw new RangeError(`webgluon: ${this.constructor.name} has no child ${i}`);
    return b;
  }
  override forward(...args: In): Out {
    return chain(this._reg.values(), args) as Out;
  }
}

/** Sequential for HybridBlocks: hybridized, the whole chain compiles into one graph. */
export class HybridSequential<In extends unknown[] = [Tensor], Out = Tensor> extends HybridBlock<In, Out> {
  add(...blocks: AnyHybridBlock[]): this {
    for (const b of blocks) {
      if (!(b instanceof HybridBlock)) throw new TypeError(`webgluon: HybridSequential.add takes HybridBlocks, got ${(b as object)?.constructor?.name}`);
      this.register(String(this._reg.size), b);
    }
    return this;
  }
  get length(): number {
    return this._reg.size;
  }
  /** The i-th child (negative: from the end); narrow it with instanceof to call it. */
  at(i: number): AnyHybridBlock {
    const b = this._reg.get(String(i < 0 ? this._reg.size + i : i));
    if (!(b instanceof HybridBlock)) throw new RangeError(`webgluon: HybridSequential has no child ${i}`);
    return b;
  }
  override hybridForward(_F: F, ...args: In): Out {
    return chain(this._reg.values(), args) as Out;
  }
}

export interface DenseOptions {
  activation?: ActivationName | null;
  useBias?: boolean;
  flatten?: boolean;
  inUnits?: number;
  weightInitializer?: InitLike | null;
  biasInitializer?: InitLike;
  dtype?: 'float32';
}

/** y = activation(x · Wᵀ + b); W is (units, inUnits), inUnits inferred at the first call if 0. */
export class Dense extends HybridBlock<[Tensor], Tensor> {
  readonly units: number;
  readonly act: ActivationName | null;
  readonly flatten: boolean;
  weight: Parameter;
  bias: Parameter | null;
  constructor(units: number, opts: DenseOptions = {}) {
    super();
    checkOptions('Dense', opts, ['activation', 'useBias', 'flatten', 'inUnits', 'weightInitializer', 'biasInitializer', 'dtype']);
    this.units = checkNumber('Dense units', units, { integer: true, min: 1 });
    if (opts.inUnits !== undefined) checkNumber('Dense inUnits', opts.inUnits, { integer: true, min: 0 });
    if (opts.dtype !== undefined && opts.dtype !== 'float32') throw new DTypeError(`Dense computes in float32, got dtype ${JSON.stringify(opts.dtype)}`);
    this.act = opts.activation == null ? null : checkActivation('Dense', opts.activation);
    this.flatten = opts.flatten ?? true;
    this.weight = new Parameter(`${this.name}_weight`, { shape: [units, opts.inUnits ?? 0], init: opts.weightInitializer ?? null });
    this.bias = (opts.useBias ?? true) ? new Parameter(`${this.name}_bias`, { shape: [units], init: opts.biasInitializer ?? 'zeros' }) : null;
  }
  protected override inferShape(x: Tensor): void {
    const inUnits = this.flatten ? x.shape.slice(1).reduce((a, b) => a * b, 1) : x.shape[x.shape.length - 1];
    this.weight._mergeShape([this.units, inUnits]);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    const y = F.fullyConnected(x, this.weight.data(), this.bias ? this.bias.data() : null, { flatten: this.flatten });
    return this.act ? F.activation(y, this.act) : y;
  }
  override toString(): string {
    return `Dense(${this.weight.shape[1] || 'None'} -> ${this.units}, ${this.act ?? 'linear'})`;
  }
}

/**
 * Zeroes inputs with probability `rate` while training (autograd.isTraining()), scaling the rest
 * by 1/(1-rate); the identity otherwise. Hybridized, the uniform numbers are a per-call input of
 * the compiled graph (drawn with nd.random.uniform at every call), so each call gets a new mask
 * and no seed is baked into the plan.
 */
export class Dropout extends HybridBlock<[Tensor], Tensor> {
  constructor(readonly rate: number) {
    super();
    checkNumber('Dropout rate', rate, { min: 0, max: 1, maxOpen: true });
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    if (!autograd.isTraining() || this.rate === 0) return x;
    const shape = [...x.shape];
    const u = callInput(`${this.name}_uniform`, shape, 'float32', () => nd.random.uniform(0, 1, shape))
      ?? F.randomUniform({ shape, lo: 0, hi: 1, seed: nextSeed() });
    const mask = F.div(F.greaterEqual(u, this.rate), 1 - this.rate);
    return F.mul(x, mask);
  }
  override toString(): string {
    return `Dropout(p = ${this.rate})`;
  }
}

/** (N, ...) → (N, prod(...)). */
export class Flatten extends HybridBlock<[Tensor], Tensor> {
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.flatten(x);
  }
}

export class Activation extends HybridBlock<[Tensor], Tensor> {
  readonly actType: ActivationName;
  constructor(actType: ActivationName) {
    super();
    this.actType = checkActivation('Activation', actType);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.activation(x, this.actType);
  }
  override toString(): string {
    return `Activation(${this.actType})`;
  }
}

export interface BatchNormOptions {
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  inChannels?: number;
}

/**
 * Batch normalization over all axes but `axis` (1). Training (autograd.isTraining()) uses the
 * batch statistics and updates the running ones (eager mode); otherwise the running ones.
 */
export class BatchNorm extends HybridBlock<[Tensor], Tensor> {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  gamma: Parameter;
  beta: Parameter;
  runningMean: Parameter;
  runningVar: Parameter;
  constructor(opts: BatchNormOptions = {}) {
    super();
    checkOptions('BatchNorm', opts, ['axis', 'momentum', 'epsilon', 'center', 'scale', 'inChannels']);
    this.axis = checkNumber('BatchNorm axis', opts.axis ?? 1, { integer: true });
    this.momentum = checkNumber('BatchNorm momentum', opts.momentum ?? 0.9, { min: 0, max: 1 });
    this.epsilon = checkNumber('BatchNorm epsilon', opts.epsilon ?? 1e-5, { min: 0, minOpen: true });
    const c = checkNumber('BatchNorm inChannels', opts.inChannels ?? 0, { integer: true, min: 0 });
    this.gamma = new Parameter(`${this.name}_gamma`, { shape: [c], init: 'ones', gradReq: opts.scale === false ? 'null' : 'write' });
    this.beta = new Parameter(`${this.name}_beta`, { shape: [c], init: 'zeros', gradReq: opts.center === false ? 'null' : 'write' });
    this.runningMean = new Parameter(`${this.name}_running_mean`, { shape: [c], init: 'zeros', gradReq: 'null' });
    this.runningVar = new Parameter(`${this.name}_running_var`, { shape: [c], init: 'ones', gradReq: 'null' });
  }
  protected override inferShape(x: Tensor): void {
    const c = x.shape[this.axis < 0 ? x.shape.length + this.axis : this.axis];
    for (const p of [this.gamma, this.beta, this.runningMean, this.runningVar]) p._mergeShape([c]);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    const axis = this.axis < 0 ? x.shape.length + this.axis : this.axis;
    const axes = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const bshape = x.shape.map((d, i) => (i === axis ? d : 1));
    const r = (p: Tensor) => F.reshape(p, bshape);
    let mean: Tensor;
    let variance: Tensor;
    if (autograd.isTraining()) {
      mean = F.mean(x, axes, true);
      variance = F.mean(F.square(F.sub(x, mean)), axes, true);
      // Running statistics: an extra output of the compiled graph when hybridized, a swap when eager.
      const m = this.momentum;
      const update = (p: Parameter, batch: Tensor) => {
        const next = F.add(F.mul(p.data(), m), F.mul(F.reshape(F.blockGrad(batch), [-1]), 1 - m));
        if (!auxUpdate(p, next)) autograd.pause(() => p._swap(next.detach()));
      };
      update(this.runningMean, mean);
      update(this.runningVar, variance);
    } else {
      mean = r(this.runningMean.data());
      variance = r(this.runningVar.data());
    }
    const xhat = F.div(F.sub(x, mean), F.sqrt(F.add(variance, this.epsilon)));
    return F.add(F.mul(xhat, r(this.gamma.data())), r(this.beta.data()));
  }
}
