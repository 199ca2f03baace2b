// Parameters, initializers, Block/HybridBlock structure (names, deferred init, summary),
// elementwise layers (Activation, Flatten, Dropout, BatchNorm) and error origins.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import type { F } from '../src/nn/hybrid_block.js';
import { host, HostTensor } from '../src/cpu/host_namespace.js';
import { close, randArray, relu, sigmoid, softrelu } from './nn_helpers.js';

const { Parameter } = gluon;

/** y = x * w + b with w, b of shape (features,), features inferred at the first call. */
class Scale extends gluon.HybridBlock {
  weight = new gluon.Parameter('scale_weight', { shape: [0] });
  bias = new gluon.Parameter('scale_bias', { shape: [0] });
  protected override inferShape(x: Tensor): void {
    this.weight._mergeShape([x.shape[1]]);
    this.bias._mergeShape([x.shape[1]]);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.add(F.mul(x, this.weight.data()), this.bias.data());
  }
}

class Net extends gluon.HybridBlock {
  body = new gluon.nn.HybridSequential().add(new Scale(), new gluon.nn.Activation('tanh'), new Scale());
  head = new Scale();
  override hybridForward(_F: F, x: Tensor): Tensor {
    return this.head.forward(this.body.forward(x));
  }
}

describe('Parameter and initializers', () => {
  it('Xavier uniform stays within sqrt(magnitude / ((fanIn + fanOut) / 2)) and uses the range', async () => {
    nd.random.seed(1);
    const p = new Parameter('conv_weight', { shape: [16, 8, 3, 3] });
    p.initialize(new init.Xavier());
    const v = Array.from(await p.data().data());
    const fanIn = 8 * 9;
    const fanOut = 16 * 9;
    const scale = Math.sqrt(3 / ((fanIn + fanOut) / 2));
    const max = Math.max(...v.map(Math.abs));
    expect(max).toBeLessThanOrEqual(scale);
    expect(max).toBeGreaterThan(0.9 * scale);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.05 * scale * 3);
    expect(new init.Xavier({ factorType: 'in', magnitude: 2 }).scaleFor([16, 8, 3, 3])).toBeCloseTo(Math.sqrt(2 / fanIn), 6);
  });

  it('Xavier gaussian has std ≈ scale; Normal, Uniform, Constant, Zero, One', async () => {
    nd.random.seed(2);
    const g = Array.from(await new init.Xavier({ rndType: 'gaussian' }).create('w_weight', [200, 100]).data());
    const std = Math.sqrt(g.reduce((a, b) => a + b * b, 0) / g.length);
    expect(std).toBeCloseTo(Math.sqrt(3 / 150), 2);
    const n = Array.from(await new init.Normal(0.5).create('w_weight', [4000]).data());
    expect(Math.sqrt(n.reduce((a, b) => a + b * b, 0) / n.length)).toBeCloseTo(0.5, 1);
    const u = Array.from(await new init.Uniform(0.1).create('w_weight', [1000]).data());
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(0.1);
    expect(Array.from(await new init.Constant(2.5).create('w', [3]).data())).toEqual([2.5, 2.5, 2.5]);
    expect(Array.from(await new init.Zero().create('w', [2]).data())).toEqual([0, 0]);
    expect(Array.from(await new init.One().create('w', [2]).data())).toEqual([1, 1]);
    // biases start at zero whatever the global initializer, as in MXNet
    expect(Array.from(await new init.Xavier().create('dense0_bias', [3]).data())).toEqual([0, 0, 0]);
  });

  it('nd.random.seed makes initialization repeatable', async () => {
    const make = async () => {
      nd.random.seed(42);
      const p = new Parameter('w_weight', { shape: [5, 4] });
      p.initialize(new init.Xavier());
      return Array.from(await p.data().data());
    };
    expect(await make()).toEqual(await make());
  });

  it('gradReq, setData, zeroGrad, errors before initialization', async () => {
    const p = new Parameter('p_weight', { shape: [3] });
    expect(() => p.data()).toThrow(/not been initialized/);
    p.initialize(new init.One());
    expect(p.grad().shape).toEqual([3]);
    p.setData([1, 2, 3]);
    expect(Array.from(await p.data().data())).toEqual([1, 2, 3]);
    const x = nd.array([1, 1, 1]);
    const y = autograd.record(() => nd.sum(nd.mul(p.data(), x)));
    y.backward();
    expect(Array.from(await p.grad().data())).toEqual([1, 1, 1]);
    p.zeroGrad();
    expect(Array.from(await p.grad().data())).toEqual([0, 0, 0]);
    p.gradReq = 'null';
    expect(() => p.grad()).toThrow(/gradReq 'null'/);
    expect(() => p.setData([1, 2])).toThrow(/shape/);
  });
});

// Tensor._setGrad disposes the old gradient right after queuing the add that reads it: this
// holds only because the executor keeps a dead storage's memory until queued kernels have run.
it("gradReq 'add' accumulates over backward passes", async () => {
  const p = new Parameter('p_weight', { shape: [3], gradReq: 'add' });
  p.initialize(new init.One());
  const x = nd.array([1, 1, 1]);
  for (let i = 0; i < 2; i++) autograd.record(() => nd.sum(nd.mul(p.data(), x))).backward();
  expect(Array.from(await p.grad().data())).toEqual([2, 2, 2]);
});

describe('Block structure', () => {
  it('collectParams names children by property path and selects by RegExp', () => {
    const net = new Net();
    const names = [...net.collectParams().keys()];
    expect(names).toEqual(['body.0.weight', 'body.0.bias', 'body.2.weight', 'body.2.bias', 'head.weight', 'head.bias']);
    expect([...net.collectParams(/weight$/).keys()]).toEqual(['body.0.weight', 'body.2.weight', 'head.weight']);
    expect([...net.collectParams('head').keys()]).toEqual(['head.weight', 'head.bias']);
    const seq = new gluon.nn.Sequential();
    seq.add(new Scale(), new Scale());
    expect([...seq.collectParams().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const reg = new gluon.Block();
    reg.register('inner', new Scale());
    expect([...reg.collectParams().keys()]).toEqual(['inner.weight', 'inner.bias']);
  });

  it('deferred initialization infers shapes at the first call', async () => {
    nd.random.seed(3);
    const net = new Net();
    net.initialize(new init.Uniform(0.5));
    const w = net.head.weight;
    expect(w.isInitialized).toBe(false);
    expect(() => w.data()).toThrow(/first input/);
    const x = nd.array(randArray(12, 1), { shape: [3, 4] });
    const y = net.forward(x);
    expect(y.shape).toEqual([3, 4]);
    expect(w.shape).toEqual([4]);
    expect(w.isInitialized).toBe(true);
    // check the numbers by hand
    const xs = await x.data();
    const p = await Promise.all([...net.collectParams().values()].map((q) => q.data().data()));
    const expected = Array.from(xs, (v, i) => {
      const c = i % 4;
      let h = v * p[0][c] + p[1][c];
      h = Math.tanh(h);
      h = h * p[2][c] + p[3][c];
      return h * p[4][c] + p[5][c];
    });
    close(await y.data(), expected, 1e-5, 'net');
    expect(Array.from(p[1])).toEqual([0, 0, 0, 0]); // biases start at zero
  });

  it('forceReinit re-creates values; initialize twice keeps them', async () => {
    nd.random.seed(4);
    const s = new Scale();
    s.initialize();
    s.forward(nd.ones([2, 3]));
    const before = Array.from(await s.weight.data().data());
    s.initialize();
    expect(Array.from(await s.weight.data().data())).toEqual(before);
    s.initialize(new init.Constant(7), { forceReinit: true });
    expect(Array.from(await s.weight.data().data())).toEqual([7, 7, 7]);
  });

  it('summary lists layers, output shapes and parameter counts', () => {
    const net = new Net();
    net.initialize();
    const spy: string[] = [];
    const orig = console.log;
    console.log = (s: string) => spy.push(s);
    let text: string;
    try {
      text = net.summary(nd.ones([2, 5]));
    } finally {
      console.log = orig;
    }
    expect(spy.length).toBe(1);
    expect(text).toMatch(/head\(Scale\)\s+\(2, 5\)\s+10/);
    expect(text).toMatch(/Parameters in total: 30/);
  });

  it('hybridize marks the tree and still computes the same values; tracedFunction matches forward', async () => {
    nd.random.seed(5);
    const net = new Net();
    net.initialize(new init.Uniform(1));
    const x = nd.array(randArray(8, 2), { shape: [2, 4] });
    const eager = await net.forward(x).data();
    net.hybridize({ staticAlloc: true, staticShape: true });
    expect(net.isHybridized && net.body.isHybridized && net.body.at(0).isHybridized).toBe(true);
    close(await net.forward(x).data(), eager, 1e-6, 'hybridized');
    const traced = net.tracedFunction();
    expect(traced.params.map(([k]) => k)).toEqual([...net.collectParams().keys()]);
    const viaTrace = traced.fn(nd as unknown as F, x, ...traced.params.map(([, p]) => p.data())) as Tensor;
    close(await viaTrace.data(), eager, 1e-6, 'traced');
    // the traced function runs on any namespace, e.g. the CPU reference, with params as inputs
    const h = (t: Tensor, d: Float32Array | Int32Array) => new HostTensor(d, t.shape, 'float32');
    const hostParams = await Promise.all(traced.params.map(async ([, p]) => h(p.data(), await p.data().data())));
    const onCpu = traced.fn(host as unknown as F, h(x, await x.data()), ...hostParams) as unknown as HostTensor;
    close(onCpu.data, eager, 1e-5, 'cpu');
  });

  it('errors inside a block name the block path', () => {
    const net = new Net();
    net.initialize();
    net.forward(nd.ones([2, 3]));
    expect(() => net.forward(nd.ones([2, 4]))).toThrow(/head\(Scale\)|body|Scale/);
  });
});

describe('elementwise layers', () => {
  it('Activation, Flatten', async () => {
    const xs = randArray(24, 7);
    const x = nd.array(xs, { shape: [2, 3, 4] });
    for (const [name, f] of [['relu', relu], ['sigmoid', sigmoid], ['tanh', Math.tanh], ['softrelu', softrelu]] as const) {
      const y = new gluon.nn.Activation(name).forward(x);
      close(await y.data(), Array.from(xs, f), 1e-5, name);
    }
    expect(() => new gluon.nn.Activation('nope' as 'relu')).toThrow(/unknown activation/);
    const f = new gluon.nn.Flatten().forward(x);
    expect(f.shape).toEqual([2, 12]);
  });

  it('Dropout is identity outside training and drops ~rate while training, rescaling the rest', async () => {
    nd.random.seed(8);
    const d = new gluon.nn.Dropout(0.25);
    const x = nd.ones([4000]);
    expect(d.forward(x)).toBe(x);
    const y = await autograd.record(() => d.forward(x)).data();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / y.length).toBeGreaterThan(0.2);
    expect(zeros / y.length).toBeLessThan(0.3);
    for (const v of y) if (v !== 0) expect(v).toBeCloseTo(1 / 0.75, 5);
  });

  it('BatchNorm normalizes with batch statistics while training and updates running stats', async () => {
    const bn = new gluon.nn.BatchNorm();
    bn.initialize();
    const xs = randArray(2 * 3 * 2, 9);
    const x = nd.array(xs, { shape: [2, 3, 2] });
    const y = await autograd.record(() => bn.forward(x)).data();
    for (let c = 0; c < 3; c++) {
      const idx = [0, 1, 6, 7].map((o) => o + c * 2);
      const v = idx.map((i) => xs[i]);
      const m = v.reduce((a, b) => a + b, 0) / 4;
      const va = v.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
      close(idx.map((i) => y[i]), v.map((e) => (e - m) / Math.sqrt(va + 1e-5)), 1e-4, `bn c${c}`);
      expect((await bn.runningMean.data().data())[c]).toBeCloseTo(0.1 * m, 5);
    }
    expect(bn.forward(x).shape).toEqual([2, 3, 2]);
  });
});
