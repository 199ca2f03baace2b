// Optimizers with MXNet 1.9.1's update rules. Each rule is written once over F and compiled, so
// one parameter's update (new weight and every state) is one fused GPU kernel. Per-step numbers
// (learning rate, weight decay, rescale) are one-element tensor inputs, so no step recompiles.
import { ArgumentError } from '../base/errors.js';
import { checkNumber, checkOptions } from '../base/options.js';
import { compileFunction, type CompiledFunction } from '../compiler/compile.js';
import type { Ops, Shaped } from '../graph/registry.js';
import type { TraceFn } from '../graph/trace.js';
import { keep, nd, type Tensor } from '../ndarray/index.js';
import { LRScheduler } from './lr_scheduler.js';

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
  /** A schedule (FactorScheduler, CosineScheduler; its base rate becomes learningRate) or a function. */
  lrScheduler?: LRScheduler | ((numUpdate: number) => number) | null;
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

/** The per-step numbers a rule reads, as values of the rule's own type (tensors or symbols). */
export interface StepScalars<T> {
  lr: T;
  wd: T;
  rescale: T;
}

/** Options every optimizer takes; each adds its own (momentum, beta1, …). */
const COMMON_OPTIONS = ['learningRate', 'wd', 'clipGradient', 'rescaleGrad', 'lrScheduler'] as const;

export abstract class Optimizer {
  learningRate: number;
  wd: number;
  clipGradient: number | null;
  /** Set by Trainer.step to scale/batchSize. */
  rescaleGrad: number;
  lrScheduler: ((numUpdate: number) => number) | null;
  /** The schedule object when one was given (its state is saved with Trainer.saveStates). */
  readonly scheduler: LRScheduler | null;
  /** Updates so far (Trainer.update counts them); schedules read it. */
  numUpdate = 0;
  private compiled: CompiledFunction | null = null;
  private scalarCache = new Map<number, Tensor>();

  constructor(opts: OptimizerOptions, defaultLr: number, own: readonly string[] = []) {
    const name = this.constructor.name;
    checkOptions(`the ${name} optimizer`, opts, [...COMMON_OPTIONS, ...own]);
    this.learningRate = checkNumber(`${name} learningRate`, opts.learningRate ?? defaultLr, { min: 0 });
    this.wd = checkNumber(`${name} wd`, opts.wd ?? 0);
    this.clipGradient = opts.clipGradient == null ? null : checkNumber(`${name} clipGradient`, opts.clipGradient, { min: 0, minOpen: true });
    this.rescaleGrad = checkNumber(`${name} rescaleGrad`, opts.rescaleGrad ?? 1, { min: 0, minOpen: true });
    const schedule = opts.lrScheduler ?? null;
    if (schedule instanceof LRScheduler) {
      // As MXNet's Optimizer: an explicit learning rate becomes the schedule's base rate.
      if (opts.learningRate !== undefined) schedule.baseLr = opts.learningRate;
      this.lrScheduler = (n) => schedule.lr(n);
      this.scheduler = schedule;
    } else {
      this.lrScheduler = schedule;
      this.scheduler = null;
    }
  }
  /**
   * The shapes of the state createState() makes for `weight`, with which Trainer.loadStates checks
   * a saved state. The built-in optimizers know them; for others, a state is made and disposed.
   */
  stateShapes(weight: Tensor): number[][] {
    const state = this.createState(weight);
    const shapes = state.map((t) => [...t.shape]);
    for (const t of state) t.dispose();
    return shapes;
  }
  /** The optimizer's numeric settings (learningRate, wd, momentum, …), as saved with its state. */
  settings(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k !== 'numUpdate' && (typeof v === 'number' || (v === null && k === 'clipGradient'))) out[k] = v as number | null;
    }
    return out;
  }
  /** The learning rate for the current update count (the scheduler's, if any). */
  currentLr(): number {
    return this.lrScheduler ? this.lrScheduler(this.numUpdate) : this.learningRate;
  }
  /** rescale·grad + wd·w, clipped to ±clipGradient when set (MXNet adds wd before clipping). */
  protected decayedGradient<T extends Shaped>(F: Ops<T>, w: T, g: T, s: StepScalars<T>): T {
    const d = F.add(F.mul(g, s.rescale), F.mul(w, s.wd));
    return this.clipGradient != null ? F.clip(d, -this.clipGradient, this.clipGradient) : d;
  }
  /** clip(rescale·grad): SGD and AdaGrad add weight decay after clipping, as MXNet does. */
  protected clippedGradient<T extends Shaped>(F: Ops<T>, g: T, s: StepScalars<T>): T {
    const scaled = F.mul(g, s.rescale);
    return this.clipGradient != null ? F.clip(scaled, -this.clipGradient, this.clipGradient) : scaled;
  }
  abstract createState(weight: Tensor): Tensor[];
  /** The update rule: the new weight and the new state, from the old ones. */
  abstract rule<T extends Shaped>(F: Ops<T>, w: T, g: T, state: readonly T[], s: StepScalars<T>): { weight: T; state: T[] };
  /** The learning rate the rule multiplies by at step t (Adam folds its bias correction in). */
  protected stepLr(lr: number, _t: number): number {
    return lr;
  }

  /** One fused kernel per parameter: compiles the rule on first use, plans cached by shape. */
  update({ weight, grad, state, lr, wd, t }: UpdateArgs): { weight: Tensor; state: Tensor[] } {
    // One signature per parameter shape, and a model has more than the default 8 (each plan is
    // one kernel with no slots); after the first, the shapes share one pipeline (shape_families.ts).
    this.compiled ??= compileFunction(((F: Ops<Tensor>, w: Tensor, g: Tensor, lrT: Tensor, wdT: Tensor, rescale: Tensor, ...st: Tensor[]) => {
      const r = this.rule(F, w, g, st, { lr: lrT, wd: wdT, rescale });
      return [r.weight, ...r.state];
    }) as unknown as TraceFn, { name: `${this.constructor.name}.update`, maxSignatures: 256 });
    const out = this.compiled(weight, grad, this.scalar(this.stepLr(lr, t)), this.scalar(wd), this.scalar(this.rescaleGrad), ...state);
    const [w, ...next] = Array.isArray(out) ? out : [out];
    return { weight: w, state: next };
  }

  /** One-element tensors for the per-step numbers, reused while the numbers repeat. */
  private scalar(v: number): Tensor {
    let t = this.scalarCache.get(v);
    if (!t) {
      if (this.scalarCache.size > 64) {
        for (const old of this.scalarCache.values()) old.dispose();
        this.scalarCache.clear();
      }
      t = keep(nd.array([v]));
      this.scalarCache.set(v, t);
    }
    return t;
  }
}

/** SGD: w ← w − lr·(clip(rescale·g) + wd·w); with momentum m ← μ·m − lr·(…), w ← w + m. */
export class SGD extends Optimizer {
  momentum: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.01, ['momentum']);
    this.momentum = checkNumber('SGD momentum', opts.momentum ?? 0, { min: 0 });
  }
  createState(weight: Tensor): Tensor[] {
    return this.momentum !== 0 ? [nd.zerosLike(weight)] : [];
  }
  override stateShapes(weight: Tensor): number[][] {
    return this.momentum !== 0 ? [[...weight.shape]] : [];
  }
  rule<T extends Shaped>(F: Ops<T>, w: T, g: T, state: readonly T[], s: StepScalars<T>): { weight: T; state: T[] } {
    const step = F.mul(F.add(this.clippedGradient(F, g, s), F.mul(w, s.wd)), s.lr);
    if (this.momentum === 0) return { weight: F.sub(w, step), state: [] };
    const mom = F.sub(F.mul(state[0], this.momentum), step);
    return { weight: F.add(w, mom), state: [mom] };
  }
}

/**
 * Adam (MXNet 1.9.1): g = clip(rescale·grad + wd·w); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * lr_t = lr·√(1−β2^t)/(1−β1^t); w ← w − lr_t·m/(√v + ε) — ε is not bias-corrected.
 */
export class Adam extends Optimizer {
  beta1: number;
  beta2: number;
  epsilon: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.001, ['beta1', 'beta2', 'epsilon']);
    this.beta1 = checkNumber('Adam beta1', opts.beta1 ?? 0.9, { min: 0, max: 1, maxOpen: true });
    this.beta2 = checkNumber('Adam beta2', opts.beta2 ?? 0.999, { min: 0, max: 1, maxOpen: true });
    this.epsilon = checkNumber('Adam epsilon', opts.epsilon ?? 1e-8, { min: 0, minOpen: true });
  }
  createState(weight: Tensor): Tensor[] {
    return [nd.zerosLike(weight), nd.zerosLike(weight)];
  }
  override stateShapes(weight: Tensor): number[][] {
    return [[...weight.shape], [...weight.shape]];
  }
  protected override stepLr(lr: number, t: number): number {
    return (lr * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
  }
  rule<T extends Shaped>(F: Ops<T>, w: T, grad: T, [m0, v0]: readonly T[], s: StepScalars<T>): { weight: T; state: T[] } {
    const g = this.decayedGradient(F, w, grad, s);
    const m = F.add(F.mul(m0, this.beta1), F.mul(g, 1 - this.beta1));
    const v = F.add(F.mul(v0, this.beta2), F.mul(F.square(g), 1 - this.beta2));
    return { weight: F.sub(w, F.div(F.mul(m, s.lr), F.add(F.sqrt(v), this.epsilon))), state: [m, v] };
  }
}

/** RMSProp (MXNet, non-centered): g = clip(rescale·grad + wd·w); n = (1−γ)·g² + γ·n; w ← w − lr·g/√(n + ε). */
export class RMSProp extends Optimizer {
  gamma1: number;
  epsilon: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.001, ['gamma1', 'epsilon']);
    this.gamma1 = checkNumber('RMSProp gamma1', opts.gamma1 ?? 0.9, { min: 0, max: 1, maxOpen: true });
    this.epsilon = checkNumber('RMSProp epsilon', opts.epsilon ?? 1e-8, { min: 0, minOpen: true });
  }
  createState(weight: Tensor): Tensor[] {
    return [nd.zerosLike(weight)];
  }
  override stateShapes(weight: Tensor): number[][] {
    return [[...weight.shape]];
  }
  rule<T extends Shaped>(F: Ops<T>, w: T, grad: T, [n0]: readonly T[], s: StepScalars<T>): { weight: T; state: T[] } {
    const g = this.decayedGradient(F, w, grad, s);
    const n = F.add(F.mul(F.square(g), 1 - this.gamma1), F.mul(n0, this.gamma1));
    return { weight: F.sub(w, F.div(F.mul(g, s.lr), F.sqrt(F.add(n, this.epsilon)))), state: [n] };
  }
}

/** AdaGrad (MXNet): g = clip(rescale·grad); h += g²; w ← w − lr·(g/√(h + ε) + wd·w), ε = 1e-7. */
export class AdaGrad extends Optimizer {
  epsilon: number;
  constructor(opts: OptimizerOptions = {}) {
    super(opts, 0.01, ['epsilon']);
    this.epsilon = checkNumber('AdaGrad epsilon', opts.epsilon ?? 1e-7, { min: 0, minOpen: true });
  }
  createState(weight: Tensor): Tensor[] {
    return [nd.zerosLike(weight)];
  }
  override stateShapes(weight: Tensor): number[][] {
    return [[...weight.shape]];
  }
  rule<T extends Shaped>(F: Ops<T>, w: T, grad: T, [h0]: readonly T[], s: StepScalars<T>): { weight: T; state: T[] } {
    const g = this.clippedGradient(F, grad, s);
    const h = F.add(h0, F.square(g));
    return { weight: F.sub(w, F.mul(F.add(F.div(g, F.sqrt(F.add(h, this.epsilon))), F.mul(w, s.wd)), s.lr)), state: [h] };
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
    default: throw new ArgumentError(`unknown optimizer '${name}' (use 'sgd', 'adam', 'rmsprop' or 'adagrad')`);
  }
}
