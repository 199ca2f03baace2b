// The tutorial's NaN pitfall: with anomaly detection on, the first op whose output holds NaN or
// Inf is reported with its name, the phase (forward or backward) and the ranges of its inputs.
import { afterEach, describe, expect, it } from 'vitest';
import { autograd, nd } from '../src/ndarray/index.js';
import { withOrigin } from '../src/graph/errors.js';

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
