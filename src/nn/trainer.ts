// Trainer (MXNet's gluon.Trainer): applies an optimizer to a set of parameters. step(batchSize)
// rescales gradients by 1/batchSize, as MXNet does.
import { autograd, keep, type Tensor } from '../ndarray/index.js';
import { checkNumber, checkOptions } from '../base/options.js';
import { createOptimizer, type Optimizer, type OptimizerName, type OptimizerOptions } from './optimizers.js';
import { Parameter, ParameterDict, retire } from './parameter.js';

export type TrainerOptions = OptimizerOptions;

export class Trainer {
  readonly params: Parameter[];
  readonly optimizer: Optimizer;
  private readonly scale: number;
  private readonly states = new Map<Parameter, Tensor[]>();
  private readonly counts = new Map<Parameter, number>();

  constructor(params: ParameterDict | Map<string, Parameter> | Iterable<Parameter> | Record<string, Parameter>,
    optimizer: OptimizerName | Optimizer = 'sgd', opts: TrainerOptions = {}) {
    let list: Parameter[];
    if (params instanceof Map) list = [...params.values()];
    else if (Symbol.iterator in Object(params)) list = [...(params as Iterable<Parameter>)];
    else list = Object.values(params as Record<string, Parameter>);
    for (const p of list) if (!(p instanceof Parameter)) throw new TypeError('webgluon: Trainer takes Parameters (e.g. block.collectParams())');
    this.params = [...new Set(list)];
    this.optimizer = createOptimizer(optimizer, opts);
    this.scale = this.optimizer.rescaleGrad;
  }

  get learningRate(): number {
    return this.optimizer.currentLr();
  }
  setLearningRate(lr: number): void {
    this.optimizer.learningRate = checkNumber('Trainer.setLearningRate(lr)', lr, { min: 0 });
  }

  /** One update of every trainable parameter, gradients scaled by 1/batchSize. */
  step(batchSize: number, opts: { ignoreStaleGrad?: boolean } = {}): void {
    checkOptions('Trainer.step', opts, ['ignoreStaleGrad']);
    // 0 or NaN would scale every gradient to Inf or NaN and write it into the weights.
    checkNumber('Trainer.step(batchSize)', batchSize, { min: 0, minOpen: true });
    this.optimizer.rescaleGrad = this.scale / batchSize;
    this.update();
  }

  /** One update with the current rescaleGrad (MXNet's Trainer.update; call after allreduce). */
  update(): void {
    const opt = this.optimizer;
    opt.numUpdate++;
    const lr = checkNumber(`the learning rate at update ${opt.numUpdate}`, opt.currentLr(), { min: 0 });
    autograd.pause(() => {
      for (const p of this.params) {
        if (p.gradReq === 'null' || !p.isInitialized) continue;
        const weight = p.data();
        const grad = weight.grad;
        if (!grad) continue;
        let state = this.states.get(p);
        if (!state) {
          state = opt.createState(weight).map(keep);
          this.states.set(p, state);
        }
        const t = (this.counts.get(p) ?? 0) + 1;
        this.counts.set(p, t);
        const next = opt.update({ weight, grad, state, lr: lr * p.lrMult, wd: opt.wd * p.wdMult, t });
        retire(...state.filter((s) => !next.state.includes(s)));
        this.states.set(p, next.state.map(keep));
        p._swap(next.weight);
      }
    });
  }

  /** Drops optimizer state (moments), e.g. after loading new parameters. */
  resetStates(): void {
    for (const s of this.states.values()) retire(...s);
    this.states.clear();
    this.counts.clear();
  }
}
