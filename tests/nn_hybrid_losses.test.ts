// Eager vs hybridized, table-driven, for every loss in gluon.loss (and the tutorial's custom
// ContrastiveLoss): same random inputs, one recorded forward + backward each way; the per-sample
// losses and the gradients w.r.t. the predictions agree within rtol 1e-4 / atol 1e-5.
import { describe, expect, it } from 'vitest';
import { ContrastiveLoss } from '../examples/siamese/model.js';
import { gluon, nd, type Tensor } from '../src/index.js';
import type { AnyHybridBlock } from '../src/nn/hybrid_block.js';
import { expectSameHybridized } from './nn_hybrid_helpers.js';
import { rng } from './op_harness.js';

const RTOL = 1e-4;
const ATOL = 1e-5;
const L = gluon.loss;
const N = 4;
const C = 5;

const normal = (shape: number[]) => nd.random.normal(0, 1, shape);
const uniform = (lo: number, hi: number, shape: number[]) => nd.random.uniform(lo, hi, shape);
const signs = (shape: number[]) => nd.sub(nd.mul(nd.greater(nd.random.uniform(0, 1, shape), 0.5), 2), 1);
const bits = (shape: number[]) => nd.greater(nd.random.uniform(0, 1, shape), 0.5);
const classes = (n: number, c: number) => nd.array(Array.from({ length: n }, (_, i) => (i * 3 + 1) % c));
const counts = (shape: number[], r = rng(shape.length + 7)) => nd.array(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(4 * r())), { shape });
const logProbs = (shape: number[]) => nd.logSoftmax(normal(shape));
const probs = (shape: number[]) => nd.softmax(normal(shape));

interface LossCase {
  name: string;
  make: () => AnyHybridBlock;
  /** The inputs, made after nd.random.seed. */
  inputs: () => Tensor[];
  /** Inputs to differentiate (default: the prediction, input 0). */
  wrt?: number[];
}

const CASES: LossCase[] = [
  { name: 'L1Loss', make: () => new L.L1Loss(), inputs: () => [normal([N, C]), normal([N, C])] },
  { name: 'L1Loss (weight 0.5, sampleWeight)', make: () => new L.L1Loss(0.5), inputs: () => [normal([N, C]), normal([N, C]), uniform(0, 1, [N, 1])] },
  { name: 'L2Loss', make: () => new L.L2Loss(), inputs: () => [normal([N, C]), normal([N, C])] },
  { name: 'L2Loss (3-D pred, label reshaped like it)', make: () => new L.L2Loss(), inputs: () => [normal([N, 2, 3]), normal([N, 6])] },
  { name: 'SigmoidBinaryCrossEntropyLoss (logits)', make: () => new L.SigmoidBinaryCrossEntropyLoss(), inputs: () => [normal([N, C]), bits([N, C])] },
  { name: 'SigmoidBinaryCrossEntropyLoss (logits, posWeight)', make: () => new L.SigmoidBinaryCrossEntropyLoss(), inputs: () => [normal([N, C]), bits([N, C]), nd.ones([N, 1]), uniform(0.5, 2, [1, C])] },
  { name: 'SigmoidBinaryCrossEntropyLoss (fromSigmoid)', make: () => new L.SigmoidBinaryCrossEntropyLoss({ fromSigmoid: true }), inputs: () => [uniform(0.05, 0.95, [N, C]), bits([N, C])] },
  { name: 'SoftmaxCrossEntropyLoss (sparse)', make: () => new L.SoftmaxCrossEntropyLoss(), inputs: () => [normal([N, C]), classes(N, C)] },
  { name: 'SoftmaxCrossEntropyLoss (dense labels)', make: () => new L.SoftmaxCrossEntropyLoss({ sparseLabel: false }), inputs: () => [normal([N, C]), probs([N, C])] },
  { name: 'SoftmaxCrossEntropyLoss (fromLogits)', make: () => new L.SoftmaxCrossEntropyLoss({ fromLogits: true }), inputs: () => [logProbs([N, C]), classes(N, C)] },
  { name: 'KLDivLoss (fromLogits)', make: () => new L.KLDivLoss(), inputs: () => [logProbs([N, C]), probs([N, C])] },
  { name: 'KLDivLoss (probabilities)', make: () => new L.KLDivLoss({ fromLogits: false }), inputs: () => [normal([N, C]), probs([N, C])] },
  { name: 'HuberLoss', make: () => new L.HuberLoss({ rho: 0.7 }), inputs: () => [normal([N, C]), normal([N, C])] },
  { name: 'HingeLoss', make: () => new L.HingeLoss(), inputs: () => [normal([N, C]), signs([N, C])] },
  { name: 'SquaredHingeLoss', make: () => new L.SquaredHingeLoss({ margin: 2 }), inputs: () => [normal([N, C]), signs([N, C])] },
  { name: 'LogisticLoss (signed)', make: () => new L.LogisticLoss(), inputs: () => [normal([N, C]), signs([N, C])] },
  { name: 'LogisticLoss (binary)', make: () => new L.LogisticLoss({ labelFormat: 'binary' }), inputs: () => [normal([N, C]), bits([N, C])] },
  { name: 'TripletLoss', make: () => new L.TripletLoss({ margin: 1 }), inputs: () => [normal([N, C]), normal([N, C]), normal([N, C])], wrt: [0, 1, 2] },
  { name: 'PoissonNLLLoss (fromLogits)', make: () => new L.PoissonNLLLoss(), inputs: () => [normal([N, C]), counts([N, C])] },
  { name: 'PoissonNLLLoss (rates, computeFull)', make: () => new L.PoissonNLLLoss({ fromLogits: false, computeFull: true }), inputs: () => [uniform(0.1, 3, [N, C]), counts([N, C])] },
  { name: 'CosineEmbeddingLoss', make: () => new L.CosineEmbeddingLoss({ margin: 0.1 }), inputs: () => [normal([N, C]), normal([N, C]), signs([N])], wrt: [0, 1] },
  { name: 'SDMLLoss', make: () => new L.SDMLLoss({ smoothingParameter: 0.2 }), inputs: () => [normal([N, C]), normal([N, C])], wrt: [0, 1] },
  { name: 'ContrastiveLoss (tutorial, custom)', make: () => new ContrastiveLoss(2), inputs: () => [normal([N, 2]), normal([N, 2]), bits([N, 1])], wrt: [0, 1] },
];

describe('every loss: eager and hybridized agree (rtol 1e-4, atol 1e-5), forward and gradients w.r.t. pred', () => {
  it('the table covers every loss class in gluon.loss', () => {
    const covered = new Set(CASES.map((c) => c.make().constructor));
    const missing = Object.entries(L).filter(([k, v]) => k !== 'Loss' && !covered.has(v as never)).map(([k]) => k);
    expect(missing).toEqual([]);
  });

  CASES.forEach((c, k) => {
    it(c.name, async () => {
      nd.random.seed(200 + k);
      const inputs = c.inputs();
      const { eager } = await expectSameHybridized(c.name, c.make(), inputs, { wrt: c.wrt, rtol: RTOL, atol: ATOL });
      expect(eager.outputs[0].length).toBe(N);
      for (const g of eager.grads) expect(g.some((v) => v !== 0)).toBe(true);
    });
  });
});
