// A hybridized block fed many input shapes keeps bounded caches: plans beyond its last few
// signatures are dropped with their memory, and results stay right for every shape.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, nd, runtime, tidy, type Tensor } from '../src/index.js';
import { compileFunction } from '../src/compiler/compile.js';
import type { TraceFn } from '../src/graph/trace.js';

describe('many input shapes', () => {
  it('compiled functions keep at most maxSignatures plans, and live memory stays flat', async () => {
    const f = compileFunction(((F: typeof nd, x: Tensor) => F.sum(F.softmax(F.mul(x, 2)), 1)) as unknown as TraceFn,
      { name: 'shapes', maxSignatures: 4 });
    await runtime.flush();
    const base = runtime.stats().liveBytes;
    const live: number[] = [];
    for (let rows = 1; rows <= 24; rows++) {
      // tidy() frees the input and its intermediates now rather than at the next collection.
      const y = tidy(() => f(nd.ones([rows, 256])) as Tensor);
      expect(Array.from(await y.data()).every((v) => Math.abs(v - 1) < 1e-5)).toBe(true);
      y.dispose();
      await runtime.flush();
      live.push(runtime.stats().liveBytes);
      expect(f.plans.size).toBeLessThanOrEqual(4);
    }
    // Slots of evicted plans go back: what stays live is the slots of the 4 plans kept (in size
    // classes of at most 25% slack and 256 bytes at least), not those of all 24.
    const kept = [...f.plans.values()].reduce((sum, p) => sum + p.forward!.memory.slotBytes + 256 * p.forward!.memory.slots.length, 0);
    expect(live[23] - base).toBeGreaterThan(0);
    expect(live[23] - base).toBeLessThanOrEqual(1.25 * kept);
  });

  it('a plan evicted while its backward is pending still gives the right gradient', async () => {
    const f = compileFunction(((F: typeof nd, x: Tensor) => F.sum(F.square(x))) as unknown as TraceFn, { name: 'evicted', maxSignatures: 1 });
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    const loss = autograd.record(() => f(x) as Tensor);
    // Another shape evicts the plans of the first one before its backward runs.
    await (f(nd.ones([5])) as Tensor).data();
    loss.backward();
    expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6]);
  });

  it('a hybridized Dense layer gives the eager results for 5 batch sizes in a row', async () => {
    nd.random.seed(5);
    const net = new gluon.nn.Dense(3, { inUnits: 4, activation: 'tanh' });
    net.initialize();
    const xs = Array.from({ length: 5 }, (_, i) => nd.random.uniform(-1, 1, [2 * i + 1, 4]));
    const eager = await Promise.all(xs.map((x) => (net.forward(x) as Tensor).data()));
    net.hybridize();
    for (const [i, x] of xs.entries()) {
      const y = await (net.forward(x) as Tensor).data();
      Array.from(y).forEach((v, j) => expect(v).toBeCloseTo(eager[i][j], 5));
    }
  });
});
