// Optimizers with MXNet 1.9.1's update rules. Each update is written as one composed expression
// of nd elementwise ops per state variable (a fused path can replace it later); the new weight
// is installed by swapping the Parameter's tensor (the old one is disposed).
import { nd, type Tensor } from '../ndarray/index.js';

export interface OptimizerOptions {
  learningRate?: number;
  wd?: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  gamma1?: number;
  clipGradient?: number | null;
  rescaleGrad?: number;
  lrScheduler?: ((numUpdate: number) => number) | null;
}

/** What one update receives: the weight, its gradient, the state and per-parameter settings. */
export interface UpdateArgs {
  weight: Tensor;
  grad: Tensor;
  state: Tensor[];
  lr: number;
  wd: number;
  /** How many times this parameter has been updated, this update included (1-based). */
  t: number;
}

export abstract class Optimizer {
  learningRate: number;
  wd: number;
  clipGradient: number | null;
  /** Set by Trainer.step to scale/batchSize. */
  rescaleGrad: number;
  lrScheduler: ((numUpdate: number) => number) | null;
  numUpdate = 0;
  constructor(opts: OptimizerOptions, defaultLr: number) {
    this.learningRate = opts.learningRate ?? defaultLr;
    this.wd = opts.wd ?? 0;
    this.clipGradient = opts.clipGradient ?? null;
    this.rescaleGrad = opts.rescaleGrad ?? 1;
    this.lrScheduler = opts.lrScheduler ?? null;
  }
  /** The learning rate for the current update count (the scheduler's, if any). */
  currentLr(): number {
    return this.lrScheduler ? this.lrScheduler(this.numUpdate) : this.learningRate;
  }
  /** rescale·grad, clipped to ±clipGradient when set. */
  protected scaled(grad: Tensor): Tensor {
    const g = nd.mul(grad, this.rescaleGrad);
    return this.clipGradient != null ? nd.clip(g, -this.clipGradient, this.clipGradient) : g;
  }
  abstract createState(weight: Tensor): Tensor[];
  /** Returns the new weight and the new state tensors. */
  abstract update(a: UpdateArgs): { weight: Tensor; state: Tensor[] };
}

/** SGD: w ← w − lr·(clip(rescale·g) + wd·w); with momentum m ← μ·m − lr·(clip(rescale·g) + wd·w), w ← w + m. */
export class SGD extends Optimizer {
  momentum: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.01);
    this.momentum = opts.momentum ?? 0;
  }
  createState(weight: Tensor): Tensor[] {
    return this.momentum !== 0 ? [nd.zerosLike(weight)] : [];
  }
  update({ weight, grad, state, lr, wd }: UpdateArgs): { weight: Tensor; state: Tensor[] } {
    const step = nd.add(this.scaled(grad), nd.mul(weight, wd));
    if (this.momentum === 0) return { weight: nd.sub(weight, nd.mul(step, lr)), state: [] };
    const mom = nd.sub(nd.mul(state[0], this.momentum), nd.mul(step, lr));
    return { weight: nd.add(weight, mom), state: [mom] };
  }
}

/**
 * Adam (MXNet 1.9.1): g = clip(rescale·grad + wd·w); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * lr_t = lr·√(1−β2^t)/(1−β1^t); w ← w − lr_t·m/(√v + ε).
 */
export class Adam extends Optimizer {
  beta1: number;
  beta2: number;
  epsilon: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.001);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
  }
  createState(weight: Tensor): Tensor[] {
    return [nd.zerosLike(weight), nd.zerosLike(weight)];
  }
  update({ weight, grad, state: [m0, v0], lr, wd, t }: UpdateArgs): { weight: Tensor; state: Tensor[] } {
    let g = nd.add(nd.mul(grad, this.rescaleGrad), nd.mul(weight, wd));
    if (this.clipGradient != null) g = nd.clip(g, -this.clipGradient, this.clipGradient);
    const m = nd.add(nd.mul(m0, this.beta1), nd.mul(g, 1 - this.beta1));
    const v = nd.add(nd.mul(v0, this.beta2), nd.mul(nd.square(g), 1 - this.beta2));
    const lrT = lr * Math.sqrt(1 - this.beta2 ** t) / (1 - this.beta1 ** t);
    const w = nd.sub(weight, nd.div(nd.mul(m, lrT), nd.add(nd.sqrt(v), this.epsilon)));
    return { weight: w, state: [m, v] };
  }
}

/** RMSProp (MXNet, non-centered): g = clip(rescale·grad + wd·w); n = (1−γ)·g² + γ·n; w ← w − lr·g/√(n + ε). */
export class RMSProp extends Optimizer {
  gamma1: number;
  epsilon: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.001);
    this.gamma1 = opts.gamma1 ?? 0.9;
    this.epsilon = opts.epsilon ?? 1e-8;
  }
  createState(weight: Tensor): Tensor[] {
    return [nd.zerosLike(weight)];
  }
  update({ weight, grad, state: [n0], lr, wd }: UpdateArgs): { weight: Tensor; state: Tensor[] } {
    let g = nd.add(nd.mul(grad, this.rescaleGrad), nd.mul(weight, wd));
    if (this.clipGradient != null) g = nd.clip(g, -this.clipGradient, this.clipGradient);
    const n = nd.add(nd.mul(nd.square(g), 1 - this.gamma1), nd.mul(n0, this.gamma1));
    const w = nd.sub(weight, nd.div(nd.mul(g, lr), nd.sqrt(nd.add(n, this.epsilon))));
    return { weight: w, state: [n] };
  }
}

/** AdaGrad (MXNet): g = clip(rescale·grad); h += g²; w ← w − lr·(g/√(h + ε) + wd·w), ε = 1e-7. */
export class AdaGrad extends Optimizer {
  epsilon: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.01);
    this.epsilon = opts.epsilon ?? 1e-7;
  }
  createState(weight: Tensor): Tensor[] {
    return [nd.zerosLike(weight)];
  }
  update({ weight, grad, state: [h0], lr, wd }: UpdateArgs): { weight: Tensor; state: Tensor[] } {
    const g = this.scaled(grad);
    const h = nd.add(h0, nd.square(g));
    const w = nd.sub(weight, nd.mul(nd.add(nd.div(g, nd.sqrt(nd.add(h, this.epsilon))), nd.mul(weight, wd)), lr));
    return { weight: w, state: [h] };
  }
}

export type OptimizerName = 'sgd' | 'adam' | 'rmsprop' | 'adagrad';

export function createOptimizer(name: OptimizerName | Optimizer, opts: OptimizerOptions = {}): Optimizer {
  if (typeof name !== 'string') return name;
  switch (name.toLowerCase()) {
    case 'sgd': return new SGD(opts);
    case 'adam': return new Adam(opts);
    case 'rmsprop': return new RMSProp(opts);
    case 'adagrad': return new AdaGrad(opts);
    default: throw new Error(`webgluon: unknown optimizer '${name}' (use 'sgd', 'adam', 'rmsprop' or 'adagrad')`);
  }
}
