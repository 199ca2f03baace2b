// Eager vs hybridized, table-driven, for every layer in gluon.nn: the same random inputs and
// parameters, one recorded forward + backward each way; outputs, input gradients and parameter
// gradients must agree within rtol 1e-4 / atol 1e-5. Dropout (hybridized) draws a new mask per
// call and is the identity in predict mode.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import { auxUpdate, HybridBlock, type F } from '../src/nn/hybrid_block.js';
import { expectSameHybridized } from './nn_hybrid_helpers.js';

const RTOL = 1e-4;
const ATOL = 1e-5;
const { nn } = gluon;

interface LayerCase {
  name: string;
  make: () => HybridBlock;
  input: number[];
  /** autograd.record's trainMode (default true). */
  trainMode?: boolean;
  /** Runs after initialization and the first call (e.g. to set running statistics). */
  prepare?: (b: HybridBlock) => void;
}

const CASES: LayerCase[] = [
  { name: 'Dense (flatten, bias)', make: () => new nn.Dense(5), input: [2, 3, 4] },
  { name: 'Dense (flatten: false)', make: () => new nn.Dense(5, { flatten: false }), input: [2, 3, 4] },
  { name: 'Dense (no bias, inUnits)', make: () => new nn.Dense(4, { useBias: false, inUnits: 6 }), input: [3, 6] },
  { name: 'Dense (relu)', make: () => new nn.Dense(5, { activation: 'relu' }), input: [3, 6] },
  { name: 'Dense (softrelu, no flatten)', make: () => new nn.Dense(3, { activation: 'softrelu', flatten: false }), input: [2, 2, 5] },
  { name: 'Conv2D 3x3', make: () => new nn.Conv2D(4, 3), input: [2, 3, 7, 7] },
  { name: 'Conv2D strides 2 padding 1 relu', make: () => new nn.Conv2D(4, 3, { strides: 2, padding: 1, activation: 'relu' }), input: [2, 3, 7, 7] },
  { name: 'Conv2D 3x2 strides (2,1) padding (0,1) no bias', make: () => new nn.Conv2D(3, [3, 2], { strides: [2, 1], padding: [0, 1], useBias: false }), input: [1, 2, 6, 5] },
  { name: 'MaxPool2D 2', make: () => new nn.MaxPool2D(), input: [2, 3, 6, 6] },
  { name: 'MaxPool2D 3 stride 2 padding 1', make: () => new nn.MaxPool2D({ poolSize: 3, strides: 2, padding: 1 }), input: [2, 3, 7, 7] },
  { name: 'AvgPool2D 2', make: () => new nn.AvgPool2D(), input: [2, 3, 6, 6] },
  { name: 'AvgPool2D 3 stride 1 padding 1', make: () => new nn.AvgPool2D({ poolSize: 3, strides: 1, padding: 1 }), input: [1, 2, 5, 5] },
  { name: 'Flatten', make: () => new nn.Flatten(), input: [2, 3, 2, 2] },
  ...(['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'] as const).map((a) => ({ name: `Activation ${a}`, make: () => new nn.Activation(a), input: [3, 5] })),
  { name: 'Dropout (predict mode)', make: () => new nn.Dropout(0.5), input: [4, 6], trainMode: false },
  { name: 'BatchNorm (training: batch statistics)', make: () => new nn.BatchNorm(), input: [4, 3, 2, 2] },
  {
    name: 'BatchNorm (predict: running statistics)', make: () => new nn.BatchNorm({ epsilon: 1e-3 }), input: [4, 3, 2], trainMode: false,
    prepare: (b) => {
      const bn = b as InstanceType<typeof nn.BatchNorm>;
      bn.runningMean.setData([0.5, -1, 2]);
      bn.runningVar.setData([2, 0.5, 1.5]);
      bn.gamma.setData([1.5, -0.5, 1]);
      bn.beta.setData([0.1, 0.2, -0.3]);
    },
  },
  {
    name: 'HybridSequential (conv, pool, batchnorm, dense)', input: [2, 2, 6, 6],
    make: () => new nn.HybridSequential().add(new nn.Conv2D(3, 3, { padding: 1, activation: 'tanh' }), new nn.MaxPool2D(),
      new nn.BatchNorm(), new nn.Flatten(), new nn.Dense(4, { activation: 'sigmoid' }), new nn.Dropout(0.5), new nn.Dense(2)),
    trainMode: false,
  },
];

describe('every layer: eager and hybridized agree (rtol 1e-4, atol 1e-5), forward and gradients', () => {
  it('the table covers every layer class in gluon.nn', () => {
    const covered = new Set(CASES.map((c) => c.make().constructor.name));
    for (const c of CASES) if (c.name.startsWith('HybridSequential')) for (const child of (c.make() as InstanceType<typeof nn.HybridSequential>).children.values()) covered.add(child.constructor.name);
    const all = Object.values(nn).filter((v) => typeof v === 'function' && v.prototype instanceof gluon.HybridBlock).map((v) => v.name);
    expect(all.filter((n) => !covered.has(n))).toEqual([]);
  });

  CASES.forEach((c, k) => {
    it(c.name, async () => {
      nd.random.seed(100 + k);
      const block = c.make();
      block.initialize(new init.Xavier({ magnitude: 2 }));
      const x = nd.random.normal(0, 1, c.input);
      autograd.pause(() => block.forward(x)); // completes deferred initialization
      c.prepare?.(block);
      await expectSameHybridized(c.name, block, [x], { trainMode: c.trainMode, rtol: RTOL, atol: ATOL });
    });
  });
});

describe('Dropout hybridized', () => {
  it('draws a new mask at every call (no seed baked into the plan), scales by 1/(1-rate), and is the identity in predict mode', async () => {
    nd.random.seed(7);
    const rate = 0.4;
    const drop = new nn.Dropout(rate);
    drop.hybridize();
    const x = nd.ones([64, 64]);
    const masks: Float32Array[] = [];
    for (let i = 0; i < 3; i++) masks.push(await autograd.record(() => drop.forward(x)).data() as Float32Array);
    expect((drop as unknown as { _compiled: unknown })._compiled).not.toBeNull();
    for (const m of masks) {
      const zeros = m.filter((v) => v === 0).length / m.length;
      expect(zeros).toBeGreaterThan(rate - 0.05);
      expect(zeros).toBeLessThan(rate + 0.05);
      for (const v of m) if (v !== 0) expect(v).toBeCloseTo(1 / (1 - rate), 5);
    }
    const differ = (a: Float32Array, b: Float32Array) => a.filter((v, i) => v !== b[i]).length / a.length;
    // two independent masks differ in 2·p·(1-p) = 48% of places
    expect(differ(masks[0], masks[1])).toBeGreaterThan(0.4);
    expect(differ(masks[1], masks[2])).toBeGreaterThan(0.4);
    // the gradient goes through the same mask as the forward
    const xs = nd.random.normal(0, 1, [32, 8]);
    xs.attachGrad();
    const y = autograd.record(() => {
      const out = drop.forward(xs);
      out.backward();
      return out;
    });
    const [yv, gv] = [await y.data(), await xs.grad!.data()];
    for (let i = 0; i < yv.length; i++) expect(gv[i]).toBeCloseTo(yv[i] === 0 ? 0 : 1 / (1 - rate), 5);
    // predict mode: the identity, also compiled
    const xv = await xs.data();
    expect(Array.from(await drop.forward(xs).data())).toEqual(Array.from(xv));
    expect(Array.from(await autograd.record(() => drop.forward(xs), { trainMode: false }).data())).toEqual(Array.from(xv));
  });

  it('inside a hybridized network: training outputs vary between calls, predict outputs do not', async () => {
    nd.random.seed(8);
    const net = new nn.HybridSequential().add(new nn.Dense(16, { activation: 'relu' }), new nn.Dropout(0.5), new nn.Dense(4));
    net.initialize(new init.Xavier());
    const x = nd.random.normal(0, 1, [8, 10]);
    const eager = await net.forward(x).data();
    net.hybridize();
    const p1 = await net.forward(x).data();
    const p2 = await net.forward(x).data();
    expect(Array.from(p1)).toEqual(Array.from(p2));
    Array.from(p1).forEach((v, i) => expect(v).toBeCloseTo(eager[i], 5));
    const t1 = await autograd.record(() => net.forward(x)).data();
    const t2 = await autograd.record(() => net.forward(x)).data();
    expect(Array.from(t1)).not.toEqual(Array.from(t2));
    expect(Array.from(t1)).not.toEqual(Array.from(p1));
  });
});

/** Centers by a running mean that training updates (the pattern of BatchNorm's running statistics). */
class RunningCenter extends gluon.HybridBlock {
  running = new gluon.Parameter('running', { shape: [3], init: 'zeros', gradReq: 'null' });
  scale = new gluon.Parameter('scale', { shape: [3], init: 'ones' });
  override hybridForward(F: F, x: Tensor): Tensor {
    const running = this.running.data();
    const out = F.mul(F.sub(x, running), this.scale.data());
    if (autograd.isTraining()) {
      // After the swap the old value is disposed (using it would throw): `out` is computed first.
      const next = F.add(F.mul(running, 0.5), F.mul(F.mean(x, 0), 0.5));
      if (!auxUpdate(this.running, next) && F === (nd as unknown as F)) autograd.pause(() => this.running._swap(next.detach()));
    }
    return out;
  }
}

describe('state updated by a hybridized forward (auxUpdate)', () => {
  it('a running mean moves the same way eagerly and hybridized; gradients still agree', async () => {
    const results: { running: number[][]; outs: number[][]; grads: number[][] }[] = [];
    for (const hybrid of [false, true]) {
      nd.random.seed(9);
      const b = new RunningCenter();
      b.initialize();
      if (hybrid) b.hybridize();
      const r = { running: [] as number[][], outs: [] as number[][], grads: [] as number[][] };
      for (let i = 0; i < 3; i++) {
        const x = nd.random.normal(i, 1, [4, 3]);
        const y = autograd.record(() => {
          const out = b.forward(x);
          nd.sum(nd.square(out)).backward();
          return out;
        });
        r.outs.push(Array.from(await y.data()));
        r.running.push(Array.from(await b.running.data().data()));
        r.grads.push(Array.from(await b.scale.grad().data()));
      }
      // predict mode reads the running mean and leaves it alone
      const before = r.running[2];
      r.outs.push(Array.from(await b.forward(nd.ones([2, 3])).data()));
      expect(Array.from(await b.running.data().data())).toEqual(before);
      if (hybrid) expect((b as unknown as { _compiled: unknown })._compiled).not.toBeNull();
      results.push(r);
    }
    const [eager, hybrid] = results;
    expect(eager.running[2].some((v) => v !== 0)).toBe(true);
    for (const k of ['running', 'outs', 'grads'] as const) {
      eager[k].forEach((v, i) => v.forEach((e, j) => expect(hybrid[k][i][j]).toBeCloseTo(e, 5)));
    }
  });
});
