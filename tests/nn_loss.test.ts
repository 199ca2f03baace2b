// Every loss vs MXNet 1.9.1's formula computed in plain JS on small random inputs (shape (N,)),
// gradients by finite differences on the CPU reference, and the tutorial's ContrastiveLoss.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, nd, type Tensor } from '../src/index.js';
import { host, HostTensor } from '../src/cpu/host_namespace.js';
import type { F } from '../src/nn/hybrid_block.js';
import { close, randArray, relu, softrelu } from './nn_helpers.js';
// The tutorial's loss, written as a user would: the example's own class.
import { ContrastiveLoss } from '../examples/siamese/model.js';

const N = 4;
const D = 3;
const t = (d: ArrayLike<number>, shape: number[]) => nd.array(Float32Array.from(d), { shape });
const rows = (a: ArrayLike<number>, n: number) => Array.from({ length: n }, (_, i) => Array.from(a).slice(i * (a.length / n), (i + 1) * (a.length / n)));
const meanRows = (a: number[], n: number) => rows(a, n).map((r) => r.reduce((x, y) => x + y, 0) / r.length);

async function run(loss: gluon.loss.Loss, pred: Tensor, label: Tensor, ...rest: Tensor[]): Promise<Float32Array | Int32Array> {
  const out = loss.forward(pred, label, ...rest);
  expect(out.shape).toEqual([pred.shape[0]]);
  return out.data();
}

const P = randArray(N * D, 11);
const Lb = randArray(N * D, 12);
const signs = Array.from(randArray(N * D, 13), (v) => (v > 0 ? 1 : -1));
const bin = Array.from(randArray(N * D, 14), (v) => (v > 0 ? 1 : 0));

describe('losses vs MXNet formulas', () => {
  it('L1Loss, L2Loss (weight/2 · square), sample weights', async () => {
    close(await run(new gluon.loss.L1Loss(), t(P, [N, D]), t(Lb, [N, D])), meanRows(Array.from(P, (p, i) => Math.abs(Lb[i] - p)), N), 1e-5, 'L1');
    close(await run(new gluon.loss.L2Loss(), t(P, [N, D]), t(Lb, [N, D])), meanRows(Array.from(P, (p, i) => 0.5 * (Lb[i] - p) ** 2), N), 1e-5, 'L2');
    close(await run(new gluon.loss.L2Loss(3), t(P, [N, D]), t(Lb, [N, D])), meanRows(Array.from(P, (p, i) => 1.5 * (Lb[i] - p) ** 2), N), 1e-5, 'L2 w');
    const sw = [1, 0, 2, 0.5];
    const out = await new gluon.loss.L1Loss(2).forward(t(P, [N, D]), t(Lb, [N, D]), t(sw, [N, 1])).data();
    close(out, meanRows(Array.from(P, (p, i) => 2 * sw[Math.floor(i / D)] * Math.abs(Lb[i] - p)), N), 1e-5, 'L1 sw');
    // label (N,) meets pred (N, 1): reshaped like MXNet, not broadcast to (N, N)
    close(await run(new gluon.loss.L2Loss(), t(P.slice(0, N), [N, 1]), t(Lb.slice(0, N), [N])),
      Array.from(P.slice(0, N), (p, i) => 0.5 * (Lb[i] - p) ** 2), 1e-5, 'L2 reshape');
  });

  it('SigmoidBinaryCrossEntropyLoss from logits and from sigmoid', async () => {
    const exp = Array.from(P, (x, i) => relu(x) - x * bin[i] + softrelu(-Math.abs(x)));
    close(await run(new gluon.loss.SigmoidBinaryCrossEntropyLoss(), t(P, [N, D]), t(bin, [N, D])), meanRows(exp, N), 1e-5, 'bce');
    const prob = Array.from(P, (x) => 1 / (1 + Math.exp(-x)));
    const exp2 = prob.map((p, i) => -(Math.log(p + 1e-12) * bin[i] + Math.log(1 - p + 1e-12) * (1 - bin[i])));
    close(await run(new gluon.loss.SigmoidBinaryCrossEntropyLoss({ fromSigmoid: true }), t(prob, [N, D]), t(bin, [N, D])), meanRows(exp2, N), 1e-4, 'bce sig');
    const pw = [2, 1, 0.5];
    const exp3 = Array.from(P, (x, i) => {
      const lw = 1 + (pw[i % D] - 1) * bin[i];
      return x - x * bin[i] + lw * (softrelu(-Math.abs(x)) + relu(-x));
    });
    const out = await new gluon.loss.SigmoidBinaryCrossEntropyLoss().forward(t(P, [N, D]), t(bin, [N, D]), null, t(pw, [D])).data();
    close(out, meanRows(exp3, N), 1e-5, 'bce posWeight');
  });

  it('SoftmaxCrossEntropyLoss sparse and dense, fromLogits', async () => {
    const C = 5;
    const logits = randArray(N * C, 21);
    const labels = [0, 3, 4, 1];
    const lsm = rows(logits, N).map((r) => {
      const m = Math.max(...r);
      const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
      return r.map((v) => v - lse);
    });
    close(await run(new gluon.loss.SoftmaxCrossEntropyLoss(), t(logits, [N, C]), t(labels, [N])), labels.map((l, i) => -lsm[i][l]), 1e-5, 'sce');
    const dense = rows(randArray(N * C, 22, 0, 1), N);
    close(await run(new gluon.loss.SoftmaxCrossEntropyLoss({ sparseLabel: false }), t(logits, [N, C]), t(dense.flat(), [N, C])),
      dense.map((r, i) => -r.reduce((a, v, j) => a + v * lsm[i][j], 0)), 1e-5, 'sce dense');
    close(await run(new gluon.loss.SoftmaxCrossEntropyLoss({ fromLogits: true }), t(lsm.flat(), [N, C]), t(labels, [N, 1])),
      labels.map((l, i) => -lsm[i][l]), 1e-5, 'sce fromLogits');
  });

  it('KLDivLoss, HuberLoss, HingeLoss, SquaredHingeLoss, LogisticLoss', async () => {
    const q = Array.from(randArray(N * D, 31, 0.05, 1));
    const logp = Array.from(P, (v) => v - 3);
    // 1.9.1 sums over the non-batch axes (1.8 and 2.0 take the mean).
    close(await run(new gluon.loss.KLDivLoss(), t(logp, [N, D]), t(q, [N, D])),
      meanRows(q.map((l, i) => l * (Math.log(l + 1e-12) - logp[i])), N).map((m) => m * D), 1e-5, 'kl');
    const rho = 0.7;
    close(await run(new gluon.loss.HuberLoss({ rho }), t(P, [N, D]), t(Lb, [N, D])), meanRows(Array.from(P, (p, i) => {
      const d = Math.abs(Lb[i] - p);
      return d > rho ? d - 0.5 * rho : (0.5 / rho) * d * d;
    }), N), 1e-5, 'huber');
    close(await run(new gluon.loss.HingeLoss(), t(P, [N, D]), t(signs, [N, D])), meanRows(Array.from(P, (p, i) => relu(1 - p * signs[i])), N), 1e-5, 'hinge');
    close(await run(new gluon.loss.SquaredHingeLoss({ margin: 2 }), t(P, [N, D]), t(signs, [N, D])), meanRows(Array.from(P, (p, i) => relu(2 - p * signs[i]) ** 2), N), 1e-5, 'sqhinge');
    const logistic = Array.from(P, (p, i) => relu(-p * signs[i]) + softrelu(-Math.abs(p * signs[i])));
    close(await run(new gluon.loss.LogisticLoss(), t(P, [N, D]), t(signs, [N, D])), meanRows(logistic, N), 1e-5, 'logistic');
    close(await run(new gluon.loss.LogisticLoss({ labelFormat: 'binary' }), t(P, [N, D]), t(signs.map((s) => (s + 1) / 2), [N, D])), meanRows(logistic, N), 1e-5, 'logistic bin');
  });

  it('TripletLoss, PoissonNLLLoss, CosineEmbeddingLoss', async () => {
    const pos = randArray(N * D, 41);
    const neg = randArray(N * D, 42);
    close(await run(new gluon.loss.TripletLoss(), t(P, [N, D]), t(pos, [N, D]), t(neg, [N, D])), rows(Array.from(P, (p, i) => (pos[i] - p) ** 2 - (neg[i] - p) ** 2), N)
      .map((r) => relu(r.reduce((a, b) => a + b, 0) + 1)), 1e-5, 'triplet');
    const target = Array.from(randArray(N * D, 43, 0, 4), Math.round);
    close(await run(new gluon.loss.PoissonNLLLoss(), t(P, [N, D]), t(target, [N, D])), meanRows(Array.from(P, (p, i) => Math.exp(p) - target[i] * p), N), 1e-5, 'poisson');
    const rate = Array.from(randArray(N * D, 44, 0.1, 3));
    const full = rate.map((p, i) => {
      const y = target[i];
      const st = y > 1 ? y * Math.log(y) - y + 0.5 * Math.log(2 * y * Math.PI) : 0;
      return p - y * Math.log(p + 1e-8) + st;
    });
    close(await run(new gluon.loss.PoissonNLLLoss({ fromLogits: false, computeFull: true }), t(rate, [N, D]), t(target, [N, D])), meanRows(full, N), 1e-4, 'poisson full');
    const lab = [1, -1, 1, -1];
    const a = rows(P, N);
    const b = rows(pos, N);
    const cos = a.map((r, i) => {
      const dot = r.reduce((s, v, j) => s + v * b[i][j], 0);
      const na = Math.hypot(...r);
      const nb = Math.hypot(...b[i]);
      return dot / Math.max(na * nb, 1e-12);
    });
    const margin = 0.1;
    close(await run(new gluon.loss.CosineEmbeddingLoss({ margin }), t(P, [N, D]), t(pos, [N, D]), t(lab, [N])),
      cos.map((c, i) => (lab[i] === 1 ? 1 - c : Math.max(0, c - margin))), 1e-5, 'cosine');
  });
});

class ForgotKeepdims extends gluon.loss.Loss {
  override hybridForward(F: F, a: Tensor, b: Tensor, label: Tensor): Tensor {
    return F.mul(label, F.sum(F.square(F.sub(a, b)), 1));
  }
}

function contrastiveJs(a: number[][], b: number[][], label: number[], margin: number): number[] {
  return a.map((r, i) => {
    const ds = r.reduce((s, v, j) => s + (v - b[i][j]) ** 2, 0);
    const d = Math.min(margin, Math.max(0, margin - Math.sqrt(ds + 1e-4)));
    return 0.5 * ((1 - label[i]) * ds + label[i] * d * d);
  });
}

describe('custom loss (tutorial ContrastiveLoss)', () => {
  const A = randArray(N * 2, 51);
  const B = randArray(N * 2, 52);
  const label = [0, 1, 1, 0];

  it('matches the formula and keeps one value per sample', async () => {
    const loss = new ContrastiveLoss(2);
    const out = loss.forward(t(A, [N, 2]), t(B, [N, 2]), t(label, [N, 1]));
    expect(out.shape).toEqual([N, 1]);
    close(await out.data(), contrastiveJs(rows(A, N), rows(B, N), label, 2), 1e-5, 'contrastive');
  });

  it('gradient matches finite differences of the loss on the CPU reference', async () => {
    const loss = new ContrastiveLoss(2);
    const a = t(A, [N, 2]).attachGrad();
    const out = autograd.record(() => loss.forward(a, t(B, [N, 2]), t(label, [N, 1])));
    out.backward();
    const grad = await a.grad!.data();
    const traced = loss.tracedFunction();
    const h = (d: ArrayLike<number>, shape: number[]) => new HostTensor(Float32Array.from(d), shape, 'float32');
    const total = (x: Float32Array) => {
      const o = traced.fn(host as unknown as F, h(x, [N, 2]), h(B, [N, 2]), h(label, [N, 1])) as unknown as HostTensor;
      return Array.from(o.data).reduce((s, v) => s + v, 0);
    };
    const eps = 1e-2;
    const numeric = Array.from(A, (_, k) => {
      const up = Float32Array.from(A);
      const dn = Float32Array.from(A);
      up[k] += eps;
      dn[k] -= eps;
      return (total(up) - total(dn)) / (2 * eps);
    });
    close(grad, numeric, 2e-2, 'dLoss/da');
  });

  it('SoftmaxCrossEntropyLoss gradient matches finite differences too', async () => {
    const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
    const X = randArray(N * 3, 61);
    const lab = [2, 0, 1, 1];
    const x = t(X, [N, 3]).attachGrad();
    autograd.record(() => loss.forward(x, t(lab, [N]))).backward();
    const traced = loss.tracedFunction();
    const total = (v: Float32Array) => Array.from((traced.fn(host as unknown as F, new HostTensor(v, [N, 3], 'float32'),
      new HostTensor(Float32Array.from(lab), [N], 'float32')) as unknown as HostTensor).data).reduce((s, q) => s + q, 0);
    const numeric = Array.from(X, (_, k) => {
      const up = Float32Array.from(X);
      const dn = Float32Array.from(X);
      up[k] += 1e-2;
      dn[k] -= 1e-2;
      return (total(up) - total(dn)) / 2e-2;
    });
    close(await x.grad!.data(), numeric, 1e-2, 'dSCE/dx');
  });

  it('a loss with more values than the batch (missing keepdims) is reported with the shapes', () => {
    const loss = new ForgotKeepdims();
    expect(() => loss.forward(t(A, [N, 2]), t(B, [N, 2]), t(label, [N, 1]))).toThrow(/returned shape \(4, 4\).*batch of 4/s);
  });
});
