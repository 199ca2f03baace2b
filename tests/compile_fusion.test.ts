// Fusion targets that the benchmarks rely on, counted with runtime.stats(): gathers fused into
// elementwise kernels, and the tutorial's hybridized Siamese training step in at most 40 kernels.
import { describe, expect, it } from 'vitest';
import { compileFunction } from '../src/compiler/compile.js';
import type { TraceFn } from '../src/graph/trace.js';
import { autograd, gluon, init, nd, runtime, type F, type Tensor } from '../src/index.js';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';
import { evaluateAny } from '../src/cpu/host_namespace.js';
import { expectClose } from './op_harness.js';

async function dispatchesOf(fn: () => Tensor | Tensor[] | void): Promise<number> {
  await runtime.flush();
  runtime.resetStats();
  fn();
  await runtime.flush();
  return runtime.stats().dispatches;
}

describe('gather fusion', () => {
  it('a transpose and a slice feed an elementwise chain inside one kernel', async () => {
    const f = compileFunction(((F: F, x: Tensor, y: Tensor) =>
      F.mul(F.add(F.transpose(x, [1, 0]), F.slice(y, [1, 0], [4, 3])), 2)) as unknown as TraceFn);
    const x = nd.random.uniform(-1, 1, [3, 3]);
    const y = nd.random.uniform(-1, 1, [5, 3]);
    f(x, y);
    let out: Tensor | null = null;
    expect(await dispatchesOf(() => { out = f(x, y) as Tensor; })).toBe(1);
    const hx = { data: (await x.data()) as Float32Array, shape: [3, 3], dtype: 'float32' as const };
    const hy = { data: (await y.data()) as Float32Array, shape: [5, 3], dtype: 'float32' as const };
    const ref = evaluateAny('mul', [evaluateAny('add', [evaluateAny('transpose', [hx], { axes: [1, 0] }),
      evaluateAny('slice', [hy], { begin: [1, 0], end: [4, 3] })]), { data: Float32Array.of(2), shape: [], dtype: 'float32' }]);
    expectClose(await out!.data(), ref.data, 1e-6, 1e-6, 'fused gather');
  });
});

describe('the hybridized Siamese training step', () => {
  it('issues at most 40 kernels, and the same losses as eager', async () => {
    const losses: Record<string, number[]> = {};
    const kernels: Record<string, number> = {};
    for (const mode of ['eager', 'hybrid']) {
      nd.random.seed(1);
      const model = new Siamese();
      model.initialize(new init.Xavier());
      const loss = new ContrastiveLoss();
      if (mode === 'hybrid') {
        model.hybridize();
        loss.hybridize();
      }
      const x1 = nd.random.uniform(0, 1, [8, 1, 20, 20]);
      const x2 = nd.random.uniform(0, 1, [8, 1, 20, 20]);
      const y = nd.array(Float32Array.from({ length: 8 }, (_, i) => i % 2), { shape: [8, 1] });
      model.forward(x1, x2);
      const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: 0.001 });
      losses[mode] = [];
      for (let step = 0; step < 3; step++) {
        let value: Tensor | null = null;
        kernels[mode] = await dispatchesOf(() => {
          value = autograd.record(() => {
            const [o1, o2] = model.forward(x1, x2) as [Tensor, Tensor];
            return loss.forward(o1, o2, y) as Tensor;
          });
          value.backward();
          trainer.step(8);
        });
        losses[mode].push(await nd.sum(value!).item());
      }
    }
    expect(kernels.hybrid).toBeLessThanOrEqual(40);
    expect(kernels.hybrid).toBeLessThan(kernels.eager / 2);
    expectClose(losses.hybrid, losses.eager, 1e-4, 1e-4, 'eager vs hybridized losses');
  });
});
