// Learning-rate schedules with MXNet's semantics (mx.lr_scheduler): a schedule maps the number
// of updates so far to a learning rate; the optimizer's learningRate becomes its base rate.

/** A schedule's position, as numbers (JSON-ready): what Trainer.saveStates writes. */
export type LRSchedulerState = Record<string, number>;

export abstract class LRScheduler {
  constructor(public baseLr = 0.01) {}
  abstract lr(numUpdate: number): number;

  /** The schedule's own state (its base rate, and what a stateful schedule has counted). */
  getState(): LRSchedulerState {
    return { baseLr: this.baseLr };
  }
  /** Restores getState(); every value is checked before any is set. */
  setState(state: LRSchedulerState): void {
    this.baseLr = stateNumber(this, state, 'baseLr', 0);
  }
}

/** A finite number >= min from a saved schedule state, or an error naming the schedule and key. */
function stateNumber(s: LRScheduler, state: LRSchedulerState, key: string, min: number): number {
  const v = (state as Record<string, unknown> | null)?.[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new Error(`webgluon: the saved state of ${s.constructor.name} has ${key} ${JSON.stringify(v)}; expected a number >= ${min}`);
  }
  return v;
}

/**
 * Multiplies the rate by `factor` every `step` updates, never below `stopFactorLr`; optionally
 * after a linear warm-up from warmupBeginLr to baseLr over the first `warmupSteps` updates (MXNet's
 * warmup_steps / warmup_begin_lr, linear mode).
 */
export class FactorScheduler extends LRScheduler {
  private count = 0;
  private current: number;
  readonly step: number;
  readonly factor: number;
  readonly stopFactorLr: number;
  readonly warmupSteps: number;
  readonly warmupBeginLr: number;
  constructor(opts: { step: number; factor?: number; stopFactorLr?: number; baseLr?: number; warmupSteps?: number; warmupBeginLr?: number }) {
    super(opts.baseLr);
    if (!(opts.step >= 1)) throw new Error('webgluon: FactorScheduler needs step >= 1');
    this.step = opts.step;
    this.factor = opts.factor ?? 1;
    this.stopFactorLr = opts.stopFactorLr ?? 1e-8;
    this.warmupSteps = opts.warmupSteps ?? 0;
    this.warmupBeginLr = opts.warmupBeginLr ?? 0;
    if (!(Number.isInteger(this.warmupSteps) && this.warmupSteps >= 0)) throw new Error('webgluon: FactorScheduler needs warmupSteps a non-negative integer');
    this.current = this.baseLr;
  }
  override getState(): LRSchedulerState {
    return { baseLr: this.baseLr, count: this.count, current: this.current };
  }
  override setState(state: LRSchedulerState): void {
    const baseLr = stateNumber(this, state, 'baseLr', 0);
    const count = stateNumber(this, state, 'count', 0);
    const current = stateNumber(this, state, 'current', 0);
    if (!Number.isInteger(count)) throw new Error(`webgluon: the saved state of FactorScheduler has count ${count}; expected an integer`);
    this.baseLr = baseLr;
    this.count = count;
    this.current = current;
  }
  lr(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) {
      return this.warmupBeginLr + ((this.baseLr - this.warmupBeginLr) * numUpdate) / this.warmupSteps;
    }
    if (this.count === 0 && this.current !== this.baseLr) this.current = this.baseLr;
    // MXNet keeps the state: the rate steps down each time another `step` updates have passed.
    while (numUpdate > this.count + this.step) {
      this.count += this.step;
      this.current = Math.max(this.current * this.factor, this.stopFactorLr);
    }
    return this.current;
  }
}

/** Linear warm-up, then a half cosine from baseLr down to finalLr at maxUpdate. */
export class CosineScheduler extends LRScheduler {
  readonly maxUpdate: number;
  readonly finalLr: number;
  readonly warmupSteps: number;
  readonly warmupBeginLr: number;
  constructor(opts: { maxUpdate: number; baseLr?: number; finalLr?: number; warmupSteps?: number; warmupBeginLr?: number }) {
    super(opts.baseLr);
    this.maxUpdate = opts.maxUpdate;
    this.finalLr = opts.finalLr ?? 0;
    this.warmupSteps = opts.warmupSteps ?? 0;
    this.warmupBeginLr = opts.warmupBeginLr ?? 0;
    if (this.maxUpdate <= this.warmupSteps) throw new Error('webgluon: CosineScheduler needs maxUpdate > warmupSteps');
  }
  lr(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) {
      return this.warmupBeginLr + ((this.baseLr - this.warmupBeginLr) * numUpdate) / this.warmupSteps;
    }
    if (numUpdate > this.maxUpdate) return this.finalLr;
    const progress = (numUpdate - this.warmupSteps) / (this.maxUpdate - this.warmupSteps);
    return this.finalLr + ((this.baseLr - this.finalLr) * (1 + Math.cos(Math.PI * progress))) / 2;
  }
}
