// Training curves eager vs hybridized: the same seed gives the same initial weights and data, and
// 5 Adam steps give the same losses (rtol 1e-3, atol 1e-5) — for an MLP on a synthetic 2-class
// task and for the tutorial's Siamese network with its ContrastiveLoss on random 1x28x28 pairs.
// The hybridized step issues far fewer dispatches than the eager one (counted after flush()).
import { describe, expect, it } from 'vitest';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';
import { autograd, gluon, init, nd, runtime, type Tensor } from '../src/index.js';
import type { AnyHybridBlock } from '../src/nn/hybrid_block.js';
import { callBlock } from './nn_hybrid_helpers.js';
import { expectClose } from './op_harness.js';

const RTOL = 1e-3;
const ATOL = 1e-5;
const STEPS = 5;

interface Curve {
  losses: number[];
  /** Dispatches of each step (forward, loss, backward, Adam update). */
  dispatches: number[];
}

interface Setup {
  model: AnyHybridBlock;
  loss: AnyHybridBlock;
  inputs: Tensor[];
  label: Tensor;
  batch: number;
  learningRate: number;
}

async function trainCurve(hybrid: boolean, setup: () => Setup): Promise<Curve> {
  const { model, loss, inputs, label, batch, learningRate } = setup();
  if (hybrid) {
    model.hybridize();
    loss.hybridize();
  }
  autograd.pause(() => callBlock(model, inputs)); // deferred initialization, before the Trainer sees the parameters
  const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate });
  const curve: Curve = { losses: [], dispatches: [] };
  for (let step = 0; step < STEPS; step++) {
    await runtime.flush();
    runtime.resetStats();
    const value = autograd.record(() => {
      const out = callBlock(model, inputs);
      return callBlock(loss, [...(Array.isArray(out) ? out : [out]), label]) as Tensor;
    });
    value.backward();
    trainer.step(batch);
    await runtime.flush();
    curve.dispatches.push(runtime.stats().dispatches);
    curve.losses.push(await nd.mean(value).item());
  }
  return curve;
}

/** `maxRatio`: the hybridized step's dispatches must be below this fraction of the eager step's. */
async function compare(name: string, maxRatio: number, setup: () => Setup): Promise<{ eager: Curve; hybrid: Curve }> {
  const eager = await trainCurve(false, setup);
  const hybrid = await trainCurve(true, setup);
  console.log(`${name}: losses eager ${eager.losses.map((v) => v.toFixed(5)).join(' ')} | hybridized ${hybrid.losses.map((v) => v.toFixed(5)).join(' ')}\n` +
    `${name}: dispatches per step eager ${eager.dispatches.join(' ')} | hybridized ${hybrid.dispatches.join(' ')}`);
  expectClose(hybrid.losses, eager.losses, RTOL, ATOL, `${name} losses`);
  expect(eager.losses[STEPS - 1]).toBeLessThan(eager.losses[0]);
  // after the first step (which also creates Adam's state) every step is the same work
  const last = (c: Curve) => c.dispatches[STEPS - 1];
  expect(last(hybrid)).toBeLessThan(last(eager) * maxRatio);
  return { eager, hybrid };
}

describe('training curves: eager and hybridized give the same losses (5 Adam steps, rtol 1e-3)', () => {
  it('an MLP on two Gaussian blobs (SoftmaxCrossEntropyLoss)', async () => {
    // Adam's 4 parameter updates and the head gradient are 5 of the hybridized step's kernels
    await compare('MLP', 0.6, () => {
      nd.random.seed(31);
      const n = 32;
      const label = nd.array(Array.from({ length: n }, (_, i) => i % 2));
      const centers = nd.sub(nd.mul(nd.reshape(label, [n, 1]), 2), 1); // ±1
      const x = nd.add(nd.random.normal(0, 1, [n, 4]), nd.mul(centers, 1.5));
      const model = new gluon.nn.HybridSequential().add(new gluon.nn.Dense(16, { activation: 'relu' }), new gluon.nn.Dense(2));
      model.initialize(new init.Xavier());
      return { model, loss: new gluon.loss.SoftmaxCrossEntropyLoss(), inputs: [x], label, batch: n, learningRate: 0.01 };
    });
  });

  it('the tutorial Siamese network + ContrastiveLoss on random 1x28x28 pairs', async () => {
    await compare('Siamese', 0.5, () => {
      nd.random.seed(32);
      const n = 4;
      const a = nd.random.uniform(0, 1, [n, 1, 28, 28]);
      const b = nd.random.uniform(0, 1, [n, 1, 28, 28]);
      const label = nd.array(Array.from({ length: n }, (_, i) => i % 2), { shape: [n, 1] });
      const model = new Siamese();
      model.initialize(new init.Xavier());
      return { model, loss: new ContrastiveLoss(6), inputs: [a, b], label, batch: n, learningRate: 0.001 };
    });
  });
});
