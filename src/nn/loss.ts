// Losses (MXNet 1.9.1 gluon/loss.py): the same formulas, defaults and per-sample outputs. Each
// loss returns one value per sample (shape (N,)): the mean over the non-batch axes (KLDivLoss and
// TripletLoss sum them, as 1.9.1 does). docs/mxnet-differences.md lists where webgluon differs.
import { ArgumentError, ShapeError, WebgluonError, currentOrigin } from '../base/errors.js';
import { checkNumber, checkOptions } from '../base/options.js';
import { Tensor } from '../ndarray/index.js';
import { emitWarning, HybridBlock, type F } from './hybrid_block.js';

type T = Tensor;

/**
 * MXNet's _reshape_like: the label takes pred's shape, which needs the same number of elements.
 * A label of another size is an error (as in MXNet), not a silent broadcast: a (N, 1) label
 * against a (N, C) prediction would otherwise be compared with every column.
 */
function reshapeLike(F: F, x: T, like: T, names: readonly [string, string] = ['label', 'prediction']): T {
  if (x.shape.length === like.shape.length && x.shape.every((d, i) => d === like.shape[i])) return x;
  const n = x.shape.reduce((a, b) => a * b, 1);
  const m = like.shape.reduce((a, b) => a * b, 1);
  if (n !== m) {
    throw new ShapeError('reshapeLike', currentOrigin(), `the ${names[0]} has ${n} values but the ${names[1]} has ${m}: ` +
      `the ${names[0]} must have one value per ${names[1]} value (it is reshaped like the ${names[1]}, as MXNet does)`,
    [x.shape, like.shape], names);
  }
  return F.reshape(x, [...like.shape]);
}

/** MXNet's _apply_weighting: loss · sampleWeight (broadcast) · weight. */
function applyWeighting(F: F, loss: T, weight?: number | null, sampleWeight?: T | null): T {
  let out = loss;
  if (sampleWeight != null) out = F.mul(out, sampleWeight);
  if (weight != null) out = F.mul(out, weight);
  return out;
}

/** Mean over every axis but the batch axis (identity for 1-D losses). */
function meanExceptBatch(F: F, loss: T, batchAxis: number): T {
  const rank = loss.shape.length;
  const b = batchAxis < 0 ? rank + batchAxis : batchAxis;
  const axes = loss.shape.map((_, i) => i).filter((i) => i !== b);
  return axes.length ? F.mean(loss, axes) : loss;
}
function sumExceptBatch(F: F, loss: T, batchAxis: number): T {
  const rank = loss.shape.length;
  const b = batchAxis < 0 ? rank + batchAxis : batchAxis;
  const axes = loss.shape.map((_, i) => i).filter((i) => i !== b);
  return axes.length ? F.sum(loss, axes) : loss;
}

/** What a loss takes: the prediction, the label, then whatever else it needs (a sample weight…). */
export type LossInputs = [pred: Tensor, label: Tensor, ...rest: unknown[]];
/** The inputs of most losses: MXNet's (pred, label, sample_weight=None). */
export type WeightedLossInputs = [pred: Tensor, label: Tensor, sampleWeight?: Tensor | null];

/** The options every loss takes besides its own. */
export interface LossOptions {
  /** A global scalar weight of the loss (MXNet's weight; default none, or 1 for L2Loss). */
  weight?: number | null;
  /** The axis of samples in the prediction (default 0). */
  batchAxis?: number;
}

/** Checks a loss constructor's options object against `own` option names plus weight and batchAxis. */
function lossOptions<O extends LossOptions>(where: string, opts: O, own: readonly (keyof O & string)[]): O {
  checkOptions(where, opts, [...own, 'weight', 'batchAxis']);
  return opts;
}

const checkBool = (where: string, name: string, v: unknown, fallback: boolean): boolean => {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ArgumentError(`${where} option \`${name}\` must be true or false, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
};

/**
 * Base class of losses: `constructor(weight?, batchAxis = 0)`; subclasses override
 * hybridForward(F, pred, label, ...) and name what they take in `In`
 * (`class ContrastiveLoss extends Loss<[Tensor, Tensor, Tensor]>`). A loss whose output has more
 * elements than the batch (silent broadcasting, e.g. a reduction without keepdims) is reported
 * with the shapes.
 */
export class Loss<In extends LossInputs = LossInputs> extends HybridBlock<In, Tensor> {
  protected _weight: number | null;
  protected _batchAxis: number;
  constructor(weight: number | null = null, batchAxis = 0) {
    super();
    const where = new.target.name;
    this._weight = weight === null ? null : checkNumber(`${where} weight`, weight);
    this._batchAxis = checkNumber(`${where} batchAxis`, batchAxis, { integer: true });
  }
  get weight(): number | null {
    return this._weight;
  }
  get batchAxis(): number {
    return this._batchAxis;
  }
  override forward(...args: In): Tensor {
    const out = super.forward(...args);
    const pred = args[0];
    if (out instanceof Tensor && pred instanceof Tensor && pred.shape.length > 0) {
      const b = this._batchAxis < 0 ? pred.shape.length + this._batchAxis : this._batchAxis;
      const batch = pred.shape[b];
      if (out.size > batch) {
        const shapes = args.filter((a): a is Tensor => a instanceof Tensor).map((a) => `(${a.shape.join(', ')})`).join(', ');
        throw new WebgluonError(`${this.constructor.name} returned shape (${out.shape.join(', ')}), more values than the batch of ${batch}: ` +
          `a loss must give one value per sample. Inputs had shapes ${shapes}; check for broadcasting between (N,) and (N, 1) ` +
          `values, e.g. a sum/mean without keepdims`);
      }
    }
    return out;
  }
  protected _applyWeighting(F: F, loss: T, weight: number | null = this._weight, sampleWeight?: T | null): T {
    return applyWeighting(F, loss, weight, sampleWeight);
  }
  protected _mean(F: F, loss: T): T {
    return meanExceptBatch(F, loss, this._batchAxis);
  }
}

/** |label − pred|. */
export class L1Loss extends Loss<WeightedLossInputs> {
  constructor(weight: number | null = null, batchAxis = 0) {
    super(weight, batchAxis);
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    const l = reshapeLike(F, label, pred);
    return this._mean(F, this._applyWeighting(F, F.abs(F.sub(l, pred)), this._weight, sampleWeight));
  }
}

/** weight/2 · (label − pred)²  (weight defaults to 1). */
export class L2Loss extends Loss<WeightedLossInputs> {
  constructor(weight: number | null = 1, batchAxis = 0) {
    super(weight, batchAxis);
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    const l = reshapeLike(F, label, pred);
    const w = (this._weight ?? 1) / 2;
    return this._mean(F, this._applyWeighting(F, F.square(F.sub(l, pred)), w, sampleWeight));
  }
}

export interface SigmoidBCEOptions extends LossOptions {
  fromSigmoid?: boolean;
}
/**
 * Binary cross-entropy on logits (stable: relu(x) − x·y + softrelu(−|x|)) or, with
 * fromSigmoid, on probabilities: −(y·log(p+ε) + (1−y)·log(1−p+ε)), ε = 1e-12.
 */
const warned = new Set<string>();
/**
 * The tutorial's first pitfall: an activation applied by the network and again by the loss
 * (sigmoid before SigmoidBCE with fromSigmoid false). Warns once per loss class.
 */
function warnDoubleActivation(loss: string, pred: unknown, activations: readonly string[], option: string): void {
  const producer = (pred as { producer?: string | null } | null)?.producer;
  if (!producer || !activations.includes(producer) || warned.has(loss)) return;
  warned.add(loss);
  emitWarning(`${loss} applies ${activations[0]} itself, but its input already came out of \`${producer}\`: ` +
    `the activation is applied twice and training will not converge as expected. Remove the last activation ` +
    `of the network, or pass { ${option}: true }.`, 'WEBGLUON_DOUBLE_ACTIVATION');
}

export class SigmoidBinaryCrossEntropyLoss extends Loss<[pred: Tensor, label: Tensor, sampleWeight?: Tensor | null, posWeight?: Tensor | null]> {
  readonly fromSigmoid: boolean;
  constructor(opts: SigmoidBCEOptions = {}) {
    super(lossOptions(new.target.name, opts, ['fromSigmoid']).weight ?? null, opts.batchAxis ?? 0);
    this.fromSigmoid = checkBool(this.constructor.name, 'fromSigmoid', opts.fromSigmoid, false);
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null, posWeight?: T | null): T {
    const y = reshapeLike(F, label, pred);
    let loss: T;
    if (!this.fromSigmoid) warnDoubleActivation(this.constructor.name, pred, ['sigmoid'], 'fromSigmoid');
    if (!this.fromSigmoid) {
      if (posWeight == null) {
        loss = F.add(F.sub(F.relu(pred), F.mul(pred, y)), F.softrelu(F.neg(F.abs(pred))));
      } else {
        const logWeight = F.add(1, F.mul(F.sub(posWeight, 1), y));
        loss = F.add(F.sub(pred, F.mul(pred, y)), F.mul(logWeight, F.add(F.softrelu(F.neg(F.abs(pred))), F.relu(F.neg(pred)))));
      }
    } else {
      const eps = 1e-12;
      const pos = F.mul(F.log(F.add(pred, eps)), y);
      const neg = F.mul(F.log(F.add(F.sub(1, pred), eps)), F.sub(1, y));
      loss = F.neg(F.add(posWeight == null ? pos : F.mul(pos, posWeight), neg));
    }
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}
export { SigmoidBinaryCrossEntropyLoss as SigmoidBCELoss };

export interface SoftmaxCEOptions extends LossOptions {
  axis?: number;
  sparseLabel?: boolean;
  fromLogits?: boolean;
}
/** −log softmax(pred)[label] (sparse labels) or −Σ label·log softmax(pred) (dense labels). */
export class SoftmaxCrossEntropyLoss extends Loss<WeightedLossInputs> {
  readonly axis: number;
  readonly sparseLabel: boolean;
  readonly fromLogits: boolean;
  constructor(opts: SoftmaxCEOptions = {}) {
    super(lossOptions(new.target.name, opts, ['axis', 'sparseLabel', 'fromLogits']).weight ?? null, opts.batchAxis ?? 0);
    const where = this.constructor.name;
    this.axis = checkNumber(`${where} axis`, opts.axis ?? -1, { integer: true });
    this.sparseLabel = checkBool(where, 'sparseLabel', opts.sparseLabel, true);
    this.fromLogits = checkBool(where, 'fromLogits', opts.fromLogits, false);
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    if (!this.fromLogits) warnDoubleActivation(this.constructor.name, pred, ['softmax', 'logSoftmax'], 'fromLogits');
    const logp = this.fromLogits ? pred : F.logSoftmax(pred, this.axis);
    let loss: T;
    if (this.sparseLabel) {
      loss = F.neg(F.pick(logp, label, { axis: this.axis, keepdims: true }));
    } else {
      const l = reshapeLike(F, label, logp);
      loss = F.neg(F.sum(F.mul(logp, l), { axis: this.axis, keepdims: true }));
    }
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}
export { SoftmaxCrossEntropyLoss as SoftmaxCELoss };

export interface KLDivOptions extends LossOptions {
  fromLogits?: boolean;
  axis?: number;
}
/**
 * Σ label · (log(label + 1e-12) − pred) over the non-batch axes, pred being log-probabilities
 * (fromLogits) or logits. MXNet 1.9.1 sums here, where 1.8 and 2.0 take the mean: webgluon
 * follows 1.9.1 (the mean is this divided by the number of values per sample).
 */
export class KLDivLoss extends Loss<WeightedLossInputs> {
  readonly fromLogits: boolean;
  readonly axis: number;
  constructor(opts: KLDivOptions = {}) {
    super(lossOptions(new.target.name, opts, ['fromLogits', 'axis']).weight ?? null, opts.batchAxis ?? 0);
    this.fromLogits = checkBool(this.constructor.name, 'fromLogits', opts.fromLogits, true);
    this.axis = checkNumber(`${this.constructor.name} axis`, opts.axis ?? -1, { integer: true });
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    if (!this.fromLogits) warnDoubleActivation(this.constructor.name, pred, ['softmax', 'logSoftmax'], 'fromLogits');
    const logp = this.fromLogits ? pred : F.logSoftmax(pred, this.axis);
    const loss = F.mul(label, F.sub(F.log(F.add(label, 1e-12)), logp));
    return sumExceptBatch(F, this._applyWeighting(F, loss, this._weight, sampleWeight), this._batchAxis);
  }
}

/** Smooth L1: |d| − rho/2 where |d| > rho, else d²/(2·rho). */
export interface HuberOptions extends LossOptions {
  rho?: number;
}
export class HuberLoss extends Loss<WeightedLossInputs> {
  readonly rho: number;
  constructor(opts: HuberOptions = {}) {
    super(lossOptions(new.target.name, opts, ['rho']).weight ?? null, opts.batchAxis ?? 0);
    this.rho = checkNumber(`${this.constructor.name} rho`, opts.rho ?? 1, { min: 0, minOpen: true });
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    const l = reshapeLike(F, label, pred);
    const d = F.abs(F.sub(l, pred));
    const loss = F.where(F.greater(d, this.rho), F.sub(d, 0.5 * this.rho), F.mul(F.square(d), 0.5 / this.rho));
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}

/** max(0, margin − pred·label), labels ±1. */
export interface MarginOptions extends LossOptions {
  margin?: number;
}
export class HingeLoss extends Loss<WeightedLossInputs> {
  readonly margin: number;
  constructor(opts: MarginOptions = {}) {
    super(lossOptions(new.target.name, opts, ['margin']).weight ?? null, opts.batchAxis ?? 0);
    this.margin = checkNumber(`${this.constructor.name} margin`, opts.margin ?? 1);
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    const l = reshapeLike(F, label, pred);
    const loss = F.relu(F.sub(this.margin, F.mul(pred, l)));
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}

/** max(0, margin − pred·label)², labels ±1. */
export class SquaredHingeLoss extends Loss<WeightedLossInputs> {
  readonly margin: number;
  constructor(opts: MarginOptions = {}) {
    super(lossOptions(new.target.name, opts, ['margin']).weight ?? null, opts.batchAxis ?? 0);
    this.margin = checkNumber(`${this.constructor.name} margin`, opts.margin ?? 1);
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    const l = reshapeLike(F, label, pred);
    const loss = F.square(F.relu(F.sub(this.margin, F.mul(pred, l))));
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}

export interface LogisticOptions extends LossOptions {
  /** 'signed' (default): labels ±1; 'binary': labels 0/1. */
  labelFormat?: 'signed' | 'binary';
}
/**
 * Logistic loss, MXNet's stable form relu(x) − x·z + softrelu(−|x|), where z is the label as a
 * probability: (label + 1)/2 for 'signed' labels (±1), the label itself for 'binary' (0/1). For
 * those labels it equals log(1 + exp(−x·label)); written this way it is linear in the label, so
 * soft labels in between get MXNet's values and gradients.
 */
export class LogisticLoss extends Loss<WeightedLossInputs> {
  readonly labelFormat: 'signed' | 'binary';
  constructor(opts: LogisticOptions = {}) {
    super(lossOptions(new.target.name, opts, ['labelFormat']).weight ?? null, opts.batchAxis ?? 0);
    this.labelFormat = opts.labelFormat ?? 'signed';
    if (this.labelFormat !== 'signed' && this.labelFormat !== 'binary') {
      throw new ArgumentError(`LogisticLoss labelFormat must be 'signed' or 'binary', got '${String(this.labelFormat)}'`);
    }
  }
  override hybridForward(F: F, pred: T, label: T, sampleWeight?: T | null): T {
    let z = reshapeLike(F, label, pred);
    if (this.labelFormat === 'signed') z = F.mul(F.add(z, 1), 0.5);
    const loss = F.add(F.sub(F.relu(pred), F.mul(pred, z)), F.softrelu(F.neg(F.abs(pred))));
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}

/** max(0, Σ(positive − pred)² − Σ(negative − pred)² + margin), sums over non-batch axes. */
export class TripletLoss extends Loss<[pred: Tensor, positive: Tensor, negative: Tensor, sampleWeight?: Tensor | null]> {
  readonly margin: number;
  constructor(opts: MarginOptions = {}) {
    super(lossOptions(new.target.name, opts, ['margin']).weight ?? null, opts.batchAxis ?? 0);
    this.margin = checkNumber(`${this.constructor.name} margin`, opts.margin ?? 1);
  }
  override hybridForward(F: F, pred: T, positive: T, negative: T, sampleWeight?: T | null): T {
    const p = reshapeLike(F, positive, pred, ['positive', 'pred']);
    const n = reshapeLike(F, negative, pred, ['negative', 'pred']);
    const d = sumExceptBatch(F, F.sub(F.square(F.sub(p, pred)), F.square(F.sub(n, pred))), this._batchAxis);
    const loss = F.relu(F.add(d, this.margin));
    return this._applyWeighting(F, loss, this._weight, sampleWeight);
  }
}

/**
 * Poisson negative log-likelihood: exp(pred) − target·pred (fromLogits) or
 * pred − target·log(pred + ε); computeFull adds Stirling's term for target > 1.
 * Note: MXNet 1.9.1 returns the mean over everything (a scalar); webgluon keeps one value per
 * sample like every other loss (take .mean() for MXNet's number).
 */
export interface PoissonNLLOptions extends LossOptions {
  fromLogits?: boolean;
  computeFull?: boolean;
}
export class PoissonNLLLoss extends Loss<[pred: Tensor, target: Tensor, sampleWeight?: Tensor | null, epsilon?: number]> {
  readonly fromLogits: boolean;
  readonly computeFull: boolean;
  constructor(opts: PoissonNLLOptions = {}) {
    super(lossOptions(new.target.name, opts, ['fromLogits', 'computeFull']).weight ?? null, opts.batchAxis ?? 0);
    this.fromLogits = checkBool(this.constructor.name, 'fromLogits', opts.fromLogits, true);
    this.computeFull = checkBool(this.constructor.name, 'computeFull', opts.computeFull, false);
  }
  override hybridForward(F: F, pred: T, target: T, sampleWeight?: T | null, epsilon = 1e-8): T {
    const t = reshapeLike(F, target, pred);
    let loss = this.fromLogits ? F.sub(F.exp(pred), F.mul(t, pred)) : F.sub(pred, F.mul(t, F.log(F.add(pred, epsilon))));
    if (this.computeFull) {
      const gt1 = F.greater(t, 1);
      const safe = F.where(gt1, t, 1);
      const stirling = F.add(F.sub(F.mul(safe, F.log(safe)), safe), F.mul(F.log(F.mul(safe, 2 * Math.PI)), 0.5));
      loss = F.add(loss, F.mul(stirling, gt1));
    }
    return this._mean(F, this._applyWeighting(F, loss, this._weight, sampleWeight));
  }
}

/**
 * 1 − cos(a, b) for label 1, max(0, cos(a, b) − margin) for label −1; cosine over the last
 * axis with the norm product floored at 1e-12. Output (N,) (MXNet gives (N, 1)).
 */
export class CosineEmbeddingLoss extends Loss<[input1: Tensor, input2: Tensor, label: Tensor, sampleWeight?: Tensor | null]> {
  readonly margin: number;
  constructor(opts: MarginOptions = {}) {
    super(lossOptions(new.target.name, opts, ['margin']).weight ?? null, opts.batchAxis ?? 0);
    this.margin = checkNumber(`${this.constructor.name} margin`, opts.margin ?? 0);
  }
  override hybridForward(F: F, input1: T, input2: T, label: T, sampleWeight?: T | null): T {
    const a = reshapeLike(F, input1, input2, ['input1', 'input2']);
    const y = F.reshape(label, [-1, 1]);
    const norm = (x: T) => F.reshape(F.sqrt(F.sum(F.square(x), -1)), [-1, 1]);
    const dot = F.reshape(F.sum(F.mul(a, input2), -1), [-1, 1]);
    const cos = F.div(dot, F.maximum(F.mul(norm(a), norm(input2)), 1e-12));
    const lossA = F.mul(F.sub(1, cos), F.equal(y, 1));
    const lossB = F.maximum(0, F.mul(F.equal(y, -1), F.sub(cos, this.margin)));
    const loss = F.reshape(F.add(lossA, lossB), [-1]);
    return this._applyWeighting(F, loss, this._weight, sampleWeight == null ? null : F.reshape(sampleWeight, [-1]));
  }
}

export interface SDMLOptions extends LossOptions {
  /** Probability mass spread over the other rows of the batch (MXNet's smoothing_parameter, 0.3); in [0, 1). */
  smoothingParameter?: number;
}
/**
 * Batch-wise Smoothed Deep Metric Learning (MXNet 1.9.1's SDMLLoss; Bonadiman et al. 2019):
 * x1 and x2 are (batch, dim) with x1[i] and x2[i] a positive pair and every other row a negative.
 * Per row i: KL(labels_i ‖ softmax_j(−‖x1_i − x2_j‖²)), with labels 1 − s on the diagonal and
 * s/(batch − 1) elsewhere, summed over j (MXNet's KLDivLoss from log-probabilities). `weight`
 * (default 1) scales the result; MXNet stores it and never applies it.
 */
export class SDMLLoss extends Loss<[x1: Tensor, x2: Tensor]> {
  readonly smoothingParameter: number;
  constructor(opts: SDMLOptions = {}) {
    lossOptions(new.target.name, opts, ['smoothingParameter']);
    super(opts.weight === undefined ? 1 : opts.weight, opts.batchAxis ?? 0);
    const where = this.constructor.name;
    this.smoothingParameter = checkNumber(`${where} smoothingParameter`, opts.smoothingParameter ?? 0.3, { min: 0, max: 1, maxOpen: true });
    if (this._batchAxis !== 0) throw new ArgumentError(`${where} takes (batch, dim) inputs: batchAxis must be 0, got ${this._batchAxis}`);
  }
  override hybridForward(F: F, x1: T, x2: T): T {
    const same = x1.shape.length === 2 && x2.shape.length === 2 && x1.shape[0] === x2.shape[0] && x1.shape[1] === x2.shape[1];
    if (!same || x1.shape[0] < 2) {
      throw new ShapeError('SDMLLoss', currentOrigin(), same
        ? 'needs a batch of at least 2 pairs: the other rows of the batch are the negatives'
        : 'expects x1 and x2 of the same shape (batch, dim)', [x1.shape, x2.shape], ['x1', 'x2']);
    }
    const batch = x1.shape[0];
    const s = this.smoothingParameter;
    const off = s / (batch - 1);
    // The labels are a constant matrix (1 − s on the diagonal, `off` elsewhere), so the KL sum
    // Σ_j L_ij·(log(L_ij + 1e-12) − logp_ij) splits into a constant, the row sum of logp and the
    // diagonal logp_ii, which needs no identity matrix: logp_ii = −d_ii − logΣ_j exp(−d_ij).
    const entropy = (1 - s) * Math.log(1 - s + 1e-12) + (batch - 1) * off * Math.log(off + 1e-12);
    const negDist = F.neg(F.sum(F.square(F.sub(F.expandDims(x1, 1), F.expandDims(x2, 0))), 2));
    const logp = F.logSoftmax(negDist, 1);
    // −d_ij − logp_ij is the row's log-sum-exp, the same for every j.
    const logSumExp = F.mean(F.sub(negDist, logp), 1);
    const logpDiagonal = F.neg(F.add(F.sum(F.square(F.sub(x1, x2)), 1), logSumExp));
    const loss = F.sub(F.sub(entropy, F.mul(F.sum(logp, 1), off)), F.mul(logpDiagonal, 1 - s - off));
    return this._applyWeighting(F, loss, this._weight, null);
  }
}
