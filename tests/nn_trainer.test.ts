// Trainer: Adam, SGD (momentum, wd), RMSProp, AdaGrad vs their MXNet formulas for 3 steps;
// an MLP on 2-class blobs whose loss falls by more than half in 50 steps.
import { describe, expect, it } from 'vitest';
import { allOps } from '../src/graph/registry.js';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import type { F } from '../src/nn/hybrid_block.js';
import { close, randArray } from './nn_helpers.js';

const hasDot = allOps().some((o) => o.name === 'dot');
const W0 = [0.5, -1, 2, 0.1];
const C = [1, -2, 0.5, 3];
const BATCH = 2;

/** Runs 3 steps of loss = Σ(w·c + w²/2) (grad = c + w) and returns the weights after each. */
async function runSteps(optimizer: string, opts: Record<string, number>): Promise<number[][]> {
  const p = new gluon.Parameter('w_weight', { shape: [4] });
  p.initialize();
  p.setData(W0);
  const trainer = new gluon.Trainer([p], optimizer as 'sgd', opts);
  const c = nd.array(C);
  const out: number[][] = [];
  for (let s = 0; s < 3; s++) {
    autograd.record(() => nd.sum(nd.add(nd.mul(p.data(), c), nd.mul(nd.square(p.data()), 0.5)))).backward();
    trainer.step(BATCH);
    out.push(Array.from(await p.data().data()));
  }
  return out;
}

function reference(update: (w: number[], g: number[], state: number[][], t: number) => number[], nState: number): number[][] {
  let w = [...W0];
  const state = Array.from({ length: nState }, () => [0, 0, 0, 0]);
  const out: number[][] = [];
  for (let t = 1; t <= 3; t++) {
    const g = w.map((v, i) => C[i] + v);
    w = update(w, g, state, t);
    out.push(w);
  }
  return out;
}

const clip = (v: number, c?: number) => (c === undefined ? v : Math.max(-c, Math.min(c, v)));

describe('optimizers vs MXNet 1.9.1 formulas (3 steps)', () => {
  it('Adam with wd and clipping', async () => {
    const o = { learningRate: 0.1, wd: 0.01, beta1: 0.8, beta2: 0.9, epsilon: 1e-6, clipGradient: 1.2 };
    const got = await runSteps('adam', o);
    const exp = reference((w, g, [m, v], t) => w.map((wi, i) => {
      const gi = clip(g[i] / BATCH + o.wd * wi, o.clipGradient);
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      const lrT = o.learningRate * Math.sqrt(1 - o.beta2 ** t) / (1 - o.beta1 ** t);
      return wi - lrT * m[i] / (Math.sqrt(v[i]) + o.epsilon);
    }), 2);
    got.forEach((w, s) => close(w, exp[s], 1e-5, `adam step ${s + 1}`));
  });

  it('Adam defaults (lr 0.001, β1 0.9, β2 0.999, ε 1e-8)', async () => {
    const got = await runSteps('adam', {});
    const exp = reference((w, g, [m, v], t) => w.map((wi, i) => {
      const gi = g[i] / BATCH;
      m[i] = 0.9 * m[i] + 0.1 * gi;
      v[i] = 0.999 * v[i] + 0.001 * gi * gi;
      return wi - 0.001 * Math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m[i] / (Math.sqrt(v[i]) + 1e-8);
    }), 2);
    got.forEach((w, s) => close(w, exp[s], 1e-5, `adam default step ${s + 1}`));
  });

  it('SGD with momentum and wd; plain SGD', async () => {
    const o = { learningRate: 0.1, momentum: 0.9, wd: 0.05 };
    const got = await runSteps('sgd', o);
    const exp = reference((w, g, [mom]) => w.map((wi, i) => {
      mom[i] = o.momentum * mom[i] - o.learningRate * (g[i] / BATCH + o.wd * wi);
      return wi + mom[i];
    }), 1);
    got.forEach((w, s) => close(w, exp[s], 1e-5, `sgd step ${s + 1}`));
    const plain = await runSteps('sgd', { learningRate: 0.2, wd: 0.1, clipGradient: 0.5 });
    const exp2 = reference((w, g) => w.map((wi, i) => wi - 0.2 * (clip(g[i] / BATCH, 0.5) + 0.1 * wi)), 0);
    plain.forEach((w, s) => close(w, exp2[s], 1e-5, `plain sgd step ${s + 1}`));
  });

  it('RMSProp and AdaGrad', async () => {
    const got = await runSteps('rmsprop', { learningRate: 0.01, wd: 0.01 });
    const exp = reference((w, g, [n]) => w.map((wi, i) => {
      const gi = g[i] / BATCH + 0.01 * wi;
      n[i] = 0.1 * gi * gi + 0.9 * n[i];
      return wi - 0.01 * gi / Math.sqrt(n[i] + 1e-8);
    }), 1);
    got.forEach((w, s) => close(w, exp[s], 1e-5, `rmsprop step ${s + 1}`));
    const ada = await runSteps('adagrad', { learningRate: 0.1, wd: 0.01 });
    const exp2 = reference((w, g, [h]) => w.map((wi, i) => {
      const gi = g[i] / BATCH;
      h[i] += gi * gi;
      return wi - 0.1 * (gi / Math.sqrt(h[i] + 1e-7) + 0.01 * wi);
    }), 1);
    ada.forEach((w, s) => close(w, exp2[s], 1e-5, `adagrad step ${s + 1}`));
  });

  it('lrScheduler, gradReq null parameters are skipped, unknown optimizer names fail', async () => {
    const p = new gluon.Parameter('w_weight', { shape: [2] });
    const frozen = new gluon.Parameter('f_weight', { shape: [2], gradReq: 'null' });
    p.initialize(new init.One());
    frozen.initialize(new init.One());
    const tr = new gluon.Trainer([p, frozen], 'sgd', { learningRate: 1, lrScheduler: (n) => 0.5 ** n });
    autograd.record(() => nd.sum(nd.add(p.data(), frozen.data()))).backward();
    tr.step(1);
    expect(Array.from(await p.data().data())).toEqual([0.5, 0.5]);
    expect(Array.from(await frozen.data().data())).toEqual([1, 1]);
    expect(() => new gluon.Trainer([p], 'nope' as 'sgd')).toThrow(/unknown optimizer/);
  });
});

/** A dense layer from broadcasting (no matmul kernel needed): y = Σ_k x[n,k]·W[u,k] + b[u]. */
class BroadcastDense extends gluon.HybridBlock {
  weight: gluon_Parameter;
  bias: gluon_Parameter;
  constructor(readonly units: number, readonly act: 'relu' | null = null) {
    super();
    this.weight = new gluon.Parameter('bd_weight', { shape: [units, 0] });
    this.bias = new gluon.Parameter('bd_bias', { shape: [units] });
  }
  protected override inferShape(x: Tensor): void {
    this.weight._mergeShape([this.units, x.shape[1]]);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    const y = F.add(F.sum(F.mul(F.expandDims(x, 1), this.weight.data()), 2), this.bias.data());
    return this.act ? F.relu(y) : y;
  }
}
type gluon_Parameter = InstanceType<typeof gluon.Parameter>;

function blobs(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const noise = randArray(n * 2, seed, -1, 1);
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    const c = y[i] ? [1.5, 1] : [-1, -1.5];
    x[2 * i] = c[0] + noise[2 * i];
    x[2 * i + 1] = c[1] + noise[2 * i + 1];
  }
  return { x, y };
}

async function train(net: gluon.HybridBlock): Promise<[number, number]> {
  nd.random.seed(7);
  net.initialize(new init.Xavier());
  const { x, y } = blobs(32, 3);
  const X = nd.array(x, { shape: [32, 2] });
  const Y = nd.array(y);
  const lossFn = new gluon.loss.SoftmaxCrossEntropyLoss();
  const trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.05 });
  let first = 0;
  let last = 0;
  for (let s = 0; s < 50; s++) {
    const l = autograd.record(() => lossFn.forward(net.forward(X), Y));
    l.backward();
    trainer.step(32);
    const v = await l.mean().item();
    if (s === 0) first = v;
    last = v;
  }
  return [first, last];
}

describe('training', () => {
  it('an MLP (broadcast dense layers) on 2-class blobs: loss falls by > 50% in 50 steps, repeatably', async () => {
    const make = () => {
      const net = new gluon.nn.HybridSequential();
      net.add(new BroadcastDense(8, 'relu'), new BroadcastDense(2));
      return net;
    };
    const [first, last] = await train(make());
    expect(last).toBeLessThan(0.5 * first);
    const again = await train(make());
    expect(again[1]).toBeCloseTo(last, 5);
  });

  it.skipIf(!hasDot)('an MLP of gluon.nn.Dense layers trains the same way', async () => {
    const net = new gluon.nn.HybridSequential();
    net.add(new gluon.nn.Dense(8, { activation: 'relu' }), new gluon.nn.Dense(2));
    const [first, last] = await train(net);
    expect(last).toBeLessThan(0.5 * first);
  });
});

describe('fused updates', () => {
  it('each parameter update is one kernel, and steps after the first compile nothing', async () => {
    const { stats, resetStats } = await import('../src/runtime/stats.js');
    const { flush } = await import('../src/runtime/executor.js');
    const params = [new gluon.Parameter('a_weight', { shape: [3, 4] }), new gluon.Parameter('b_weight', { shape: [5] })];
    for (const p of params) p.initialize(new init.One());
    const trainer = new gluon.Trainer(params, 'adam', { learningRate: 0.1, wd: 0.01 });
    for (let step = 0; step < 3; step++) {
      autograd.record(() => nd.add(nd.sum(nd.square(params[0].data())), nd.sum(params[1].data()))).backward();
      await flush();
      resetStats();
      trainer.step(2);
      await flush();
      // The first step also creates the optimizer state (zeros).
      if (step > 0) {
        expect(stats().dispatches).toBe(2);
        expect(stats().pipelines).toBe(0);
      }
    }
  });
});
