// Dense, Conv2D, MaxPool2D, AvgPool2D forward vs hand-computed values / the CPU reference, and
// the tutorial's Siamese network structure. Kernel-backed checks wait for dot/conv2d/pool2d.
import { describe, expect, it } from 'vitest';
import { evaluateAny } from '../src/cpu/host_namespace.js';
import { allOps } from '../src/graph/registry.js';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import type { F } from '../src/nn/hybrid_block.js';
import { close, randArray, relu } from './nn_helpers.js';

const has = (name: string) => allOps().some((o) => o.name === name);

class Siamese extends gluon.HybridBlock<[Tensor, Tensor], [Tensor, Tensor]> {
  cnn = new gluon.nn.HybridSequential().add(
    new gluon.nn.Conv2D(64, 5, { activation: 'relu' }),
    new gluon.nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new gluon.nn.Conv2D(64, 5, { activation: 'relu' }),
    new gluon.nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new gluon.nn.Dense(256, { activation: 'relu' }),
    new gluon.nn.Dense(2, { activation: 'softrelu' }),
  );
  override hybridForward(_F: F, input0: Tensor, input1: Tensor): [Tensor, Tensor] {
    return [this.cnn.forward(input0), this.cnn.forward(input1)];
  }
}

describe('layer construction', () => {
  it('Siamese parameters are named by path and shapes wait for the first input', () => {
    const net = new Siamese();
    const params = net.collectParams();
    expect([...params.keys()]).toEqual(['cnn.0.weight', 'cnn.0.bias', 'cnn.2.weight', 'cnn.2.bias', 'cnn.4.weight', 'cnn.4.bias', 'cnn.5.weight', 'cnn.5.bias']);
    expect(params.get('cnn.0.weight')!.shape).toEqual([64, 0, 5, 5]);
    expect(params.get('cnn.4.weight')!.shape).toEqual([256, 0]);
    expect(params.get('cnn.5.bias')!.shape).toEqual([2]);
    net.initialize(new init.Xavier());
    expect(params.get('cnn.0.bias')!.isInitialized).toBe(true);
    expect(params.get('cnn.0.weight')!.hasDeferredInit).toBe(true);
    expect(String(net.cnn)).toMatch(/Conv2D\(None -> 64/);
  });

  it('options are validated', () => {
    expect(() => new gluon.nn.Dense(0)).toThrow(/positive integer/);
    expect(() => new gluon.nn.Conv2D(4, -1)).toThrow(/kernelSize/);
    expect(() => new gluon.nn.Dropout(1)).toThrow(/rate/);
    const d = new gluon.nn.Dense(3, { inUnits: 4, useBias: false });
    expect([...d.collectParams().keys()]).toEqual(['weight']);
    expect(d.weight.shape).toEqual([3, 4]);
    const p = new gluon.nn.MaxPool2D({ poolSize: 3 });
    expect(p.strides).toEqual([3, 3]);
  });
});

describe.skipIf(!has('dot'))('Dense (needs the dot kernel)', () => {
  it('matches x·Wᵀ + b by hand, with activation, flatten and deferred inUnits', async () => {
    nd.random.seed(1);
    const dense = new gluon.nn.Dense(3, { activation: 'relu' });
    dense.initialize(new init.Uniform(1));
    const xs = randArray(2 * 2 * 2, 2);
    const y = dense.forward(nd.array(xs, { shape: [2, 2, 2] }));
    expect(y.shape).toEqual([2, 3]);
    expect(dense.weight.shape).toEqual([3, 4]);
    const w = await dense.weight.data().data();
    const exp = [0, 1].flatMap((n) => [0, 1, 2].map((u) => relu([0, 1, 2, 3].reduce((s, k) => s + xs[n * 4 + k] * w[u * 4 + k], 0))));
    close(await y.data(), exp, 1e-5, 'dense');
    const nf = new gluon.nn.Dense(5, { flatten: false });
    nf.initialize();
    expect(nf.forward(nd.ones([2, 3, 4])).shape).toEqual([2, 3, 5]);
    expect(nf.weight.shape).toEqual([5, 4]);
  });

  it('gradients flow to Dense parameters', async () => {
    const dense = new gluon.nn.Dense(2, { inUnits: 3 });
    dense.initialize(new init.One());
    const x = nd.array([[1, 2, 3]]);
    autograd.record(() => nd.sum(dense.forward(x))).backward();
    expect(Array.from(await dense.weight.grad().data())).toEqual([1, 2, 3, 1, 2, 3]);
    expect(Array.from(await dense.bias!.grad().data())).toEqual([1, 1]);
  });
});

describe.skipIf(!has('conv2d') || !has('pool2d'))('Conv2D and pooling (need conv2d / pool2d kernels)', () => {
  it('Conv2D and pools match the CPU reference', async () => {
    nd.random.seed(2);
    const conv = new gluon.nn.Conv2D(4, 3, { strides: 2, padding: 1, activation: 'tanh' });
    conv.initialize(new init.Xavier());
    const xs = randArray(2 * 3 * 7 * 7, 3);
    const x = nd.array(xs, { shape: [2, 3, 7, 7] });
    const y = conv.forward(x);
    expect(conv.weight.shape).toEqual([4, 3, 3, 3]);
    const host = (t: Float32Array | Int32Array, shape: readonly number[]) => ({ data: t, shape, dtype: 'float32' as const });
    const ref = evaluateAny('convolution', [host(xs, [2, 3, 7, 7]), host(await conv.weight.data().data(), [4, 3, 3, 3]), host(await conv.bias!.data().data(), [4])],
      { stride: [2, 2], pad: [1, 1] });
    expect(y.shape).toEqual([...ref.shape]);
    close(await y.data(), Array.from(ref.data, Math.tanh), 1e-4, 'conv');
    for (const [Pool, type] of [[gluon.nn.MaxPool2D, 'max'], [gluon.nn.AvgPool2D, 'avg']] as const) {
      const p = new Pool({ poolSize: 2 }).forward(x);
      const r = evaluateAny('pooling', [host(xs, [2, 3, 7, 7])], { kernel: [2, 2], stride: [2, 2], pad: [0, 0], poolType: type });
      expect(p.shape).toEqual([2, 3, 3, 3]);
      close(await p.data(), r.data, 1e-5, type);
    }
  });

  it.skipIf(!has('dot'))('the Siamese network runs on 28x28 pairs and prints a summary', () => {
    const net = new Siamese();
    net.initialize(new init.Xavier());
    const a = nd.random.uniform(0, 1, [2, 1, 28, 28]);
    const [o0, o1] = net.forward(a, a);
    expect(o0.shape).toEqual([2, 2]);
    expect(o1.shape).toEqual([2, 2]);
    expect(net.collectParams().get('cnn.4.weight')!.shape).toEqual([256, 64 * 4 * 4]);
    const orig = console.log;
    console.log = () => {};
    try {
      expect(net.summary(a, a)).toMatch(/Parameters in total: /);
    } finally {
      console.log = orig;
    }
  });
});
