// BatchNorm's running statistics move the same way eagerly and hybridized (where they are
// extra outputs of the compiled graph), and predict mode then uses them.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, nd } from '../src/index.js';
import { expectClose } from './op_harness.js';

async function runningStats(hybrid: boolean): Promise<{ mean: Float32Array; variance: Float32Array; predicted: Float32Array }> {
  nd.random.seed(4);
  const bn = new gluon.nn.BatchNorm();
  bn.initialize();
  const x = nd.random.normal(2, 3, [8, 3, 4, 4]);
  bn.forward(x);
  if (hybrid) bn.hybridize();
  for (let i = 0; i < 3; i++) autograd.record(() => bn.forward(x));
  const predicted = (await autograd.predictMode(() => bn.forward(x)).data()) as Float32Array;
  return {
    mean: (await bn.runningMean.data().data()) as Float32Array,
    variance: (await bn.runningVar.data().data()) as Float32Array,
    predicted,
  };
}

describe('BatchNorm running statistics', () => {
  it('are updated by hybridized training steps as by eager ones', async () => {
    const eager = await runningStats(false);
    const hybrid = await runningStats(true);
    // After a few steps with momentum 0.9 the mean has moved from 0 toward about 2.
    expect(Math.min(...eager.mean)).toBeGreaterThan(0.3);
    expectClose(hybrid.mean, eager.mean, 1e-5, 1e-5, 'running mean');
    expectClose(hybrid.variance, eager.variance, 1e-4, 1e-4, 'running variance');
    expectClose(hybrid.predicted, eager.predicted, 1e-4, 1e-4, 'predict-mode output');
  });
});
