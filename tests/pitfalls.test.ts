// The tutorial's four pitfalls, each caught by the library at the point of the mistake: a loss
// broadcast to (N, N), NaN from sqrt (see anomaly.test.ts), an op without a gradient, and an
// activation applied twice.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, nd, type Tensor } from '../src/index.js';
import type { Ops } from '../src/graph/registry.js';

type F = Ops<Tensor>;

class ForgotKeepdims extends gluon.loss.Loss {
  override hybridForward(F: F, a: Tensor, b: Tensor, label: Tensor): Tensor {
    const d2 = F.sum(F.square(F.sub(a, b)), 1); // (N,) — keepdims forgotten
    return F.mul(label, d2); // (N, 1) * (N,) broadcasts to (N, N)
  }
}

/** Warnings emitted while fn runs and in the ticks after (process warnings are async). */
async function warningsDuring(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }) => seen.push(`${w.code}: ${w.message}`);
  process.on('warning', listener);
  try {
    fn();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('the tutorial pitfalls', () => {
  it('reports a per-sample loss that silently broadcast to (N, N), with the shapes', () => {
    const a = nd.random.uniform(0, 1, [4, 2]);
    const label = nd.array([[0], [1], [1], [0]]);
    expect(() => new ForgotKeepdims().forward(a, nd.zeros([4, 2]), label)).toThrow(/returned shape \(4, 4\), more values than the batch of 4.*\(4, 2\), \(4, 2\), \(4, 1\)/s);
  });

  it('the same loss hybridized reports it too', () => {
    const loss = new ForgotKeepdims();
    loss.hybridize();
    const a = nd.random.uniform(0, 1, [4, 2]);
    expect(() => loss.forward(a, nd.zeros([4, 2]), nd.array([[0], [1], [1], [0]]))).toThrow(/returned shape \(4, 4\)/);
  });

  it('fails at backward() naming an op that has no gradient', () => {
    const x = nd.array([[1, 5], [3, 2]]);
    x.attachGrad();
    const y = autograd.record(() => nd.sum(nd.mul(nd.argmax(x, 1), 2)));
    expect(() => y.backward()).toThrow(/`argmax` has no gradient/);
  });

  it('warns once when sigmoid is applied before SigmoidBinaryCrossEntropyLoss', async () => {
    const logits = nd.array([[0.5], [-1]]);
    const label = nd.array([[1], [0]]);
    const clean = await warningsDuring(() => new gluon.loss.SigmoidBinaryCrossEntropyLoss({ fromSigmoid: true }).forward(nd.sigmoid(logits), label));
    const plain = await warningsDuring(() => new gluon.loss.SigmoidBinaryCrossEntropyLoss().forward(logits, label));
    const loss = new gluon.loss.SigmoidBinaryCrossEntropyLoss();
    const first = await warningsDuring(() => loss.forward(nd.sigmoid(logits), label));
    const second = await warningsDuring(() => loss.forward(nd.sigmoid(logits), label));
    expect(clean).toEqual([]);
    expect(plain).toEqual([]);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/WEBGLUON_DOUBLE_ACTIVATION: SigmoidBinaryCrossEntropyLoss applies sigmoid itself.*fromSigmoid: true/);
    expect(second).toEqual([]);
  });

  it('warns when softmax is applied before SoftmaxCrossEntropyLoss', async () => {
    const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
    const x = nd.array([[1, 2, 3], [3, 2, 1]]);
    const seen = await warningsDuring(() => loss.forward(nd.softmax(x), nd.array([0, 2])));
    expect(seen.join('\n')).toMatch(/input already came out of `softmax`/);
  });
});
