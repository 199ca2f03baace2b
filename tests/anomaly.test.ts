// The tutorial's NaN pitfall: with anomaly detection on, the first op whose output holds NaN or
// Inf is reported with its name, the phase (forward or backward) and the ranges of its inputs.
import { afterEach, describe, expect, it } from 'vitest';
import { autograd, nd, type Tensor } from '../src/ndarray/index.js';
import { withOrigin } from '../src/base/errors.js';
import { gluon, init, runtime, type F } from '../src/index.js';

afterEach(() => autograd.detectAnomaly(false));

describe('anomaly detection', () => {
  it('names sqrt of a negative number in forward, with the Block path and input range', async () => {
    autograd.detectAnomaly(true);
    const x = nd.array([4, -1, 9]);
    const y = withOrigin('ContrastiveLoss.hybridForward', () => nd.sqrt(x));
    await expect(y.data()).rejects.toThrow(/NaN\/Inf value\(s\) in the output of `sqrt` during forward \(ContrastiveLoss.hybridForward\); input ranges: \[-1\.000, 9\.000\]/);
  });

  it('catches the gradient of sqrt at zero (the tutorial missing epsilon) during backward', async () => {
    autograd.detectAnomaly(true);
    const a = nd.array([[1, 2], [3, 4]]);
    a.attachGrad();
    const b = nd.array([[1, 2], [0, 1]]);
    const d = autograd.record(() => nd.sum(nd.sqrt(nd.sum(nd.square(nd.sub(a, b)), 1))));
    await expect(d.data()).resolves.toBeDefined();
    d.backward();
    await expect(a.grad!.data()).rejects.toThrow(/during backward/);
  });

  it('stays silent when off, and when the values are finite', async () => {
    const x = nd.array([4, -1, 9]);
    expect(Number.isNaN((await nd.sqrt(x).data())[1])).toBe(true);
    autograd.detectAnomaly(true);
    await expect(nd.sqrt(nd.abs(x)).data()).resolves.toBeDefined();
  });
});

/** The tutorial's loss without the epsilon under the square root (its NaN pitfall). */
class NoEpsilonLoss extends gluon.loss.Loss {
  override hybridForward(F: F, a: Tensor, b: Tensor, label: Tensor): Tensor {
    const d2 = F.sum(F.square(F.sub(a, b)), 1, true);
    const d = F.sqrt(d2);
    const c = F.clip(F.sub(1, d), 0, 1);
    return F.mul(0.5, F.add(F.mul(F.sub(1, label), d2), F.mul(label, F.square(c))));
  }
}

/** A tower whose forward takes a log: a negative input makes NaN inside a fused kernel. */
class LogTower extends gluon.HybridBlock {
  readonly dense = new gluon.nn.Dense(3, { inUnits: 2 });
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.log(this.dense.forward(x) as Tensor);
  }
}

describe('anomaly detection in hybridized blocks', () => {
  it('names the fused kernel, its ops, the Block path and the input ranges, in forward', async () => {
    const net = new LogTower();
    net.initialize(new init.Constant(1));
    net.hybridize();
    autograd.detectAnomaly(true);
    const y = net.forward(nd.array([[1, 2], [-3, 1]])) as Tensor;
    await expect(y.data()).rejects.toThrow(
      /3 NaN\/Inf value\(s\) in the output of `dot\+add\+log` \(kernel 0 of compiled LogTower_predict_forward\) during forward \(logtower\d+\(LogTower\) → .*dense\(Dense\)\); input ranges: \[-3\.000, 2\.000\], \[1\.000, 1\.000\], \[0\.000, 0\.000\]\. A log of zero/);
  });

  it('catches the missing epsilon (sqrt at zero) in the compiled backward', async () => {
    const loss = new NoEpsilonLoss();
    loss.hybridize();
    autograd.detectAnomaly(true);
    const a = nd.array([[1, 2], [3, 4]]);
    a.attachGrad();
    const b = nd.array([[1, 2], [0, 1]]);
    const l = autograd.record(() => loss.forward(a, b, nd.array([[0], [1]])) as Tensor);
    await expect(l.data()).resolves.toBeDefined();
    l.backward();
    await expect(a.grad!.data()).rejects.toThrow(/NaN\/Inf value\(s\) in the output of `.*` \(kernel \d+ of compiled NoEpsilonLoss_\w*backward\) during backward \(noepsilonloss\d+\(NoEpsilonLoss\)/);
  });

  it('an input that already holds NaN is said to come from outside', async () => {
    const loss = new NoEpsilonLoss();
    loss.hybridize();
    autograd.detectAnomaly(true);
    const l = loss.forward(nd.array([[Number.NaN, 1]]), nd.array([[0, 1]]), nd.array([[1]])) as Tensor;
    await expect(l.data()).rejects.toThrow(/input ranges: .*\[1\.000, 1\.000\] with 1 NaN\/Inf.*An input already held NaN\/Inf/);
  });

  it('costs nothing when off, and stays silent when values are finite', async () => {
    const net = new LogTower();
    net.initialize(new init.Constant(1));
    net.hybridize();
    const x = nd.array([[1, 2], [3, 1]]);
    const plain = (net.forward(x) as Tensor);
    const expected = Array.from(await plain.data());
    runtime.resetStats();
    await (net.forward(x) as Tensor).data();
    const off = runtime.stats();
    autograd.detectAnomaly(true);
    const checked = net.forward(x) as Tensor;
    expect(Array.from(await checked.data())).toEqual(expected);
    runtime.resetStats();
    await (net.forward(x) as Tensor).data();
    const on = runtime.stats();
    expect(off.dispatches).toBe(1);
    // One fused check kernel for the plan's values, and one more readback for its stats.
    expect(on.dispatches).toBe(2);
    expect(on.readbacks).toBe(off.readbacks + 1);
  });
});
