import { describe, expect, it } from 'vitest';
import { compileFunction } from '../src/compiler/compile.js';
import type { TraceFn } from '../src/graph/trace.js';
import { nd, autograd, type Tensor } from '../src/ndarray/index.js';
import { flush } from '../src/runtime/executor.js';
import { resetStats, stats } from '../src/runtime/stats.js';
import type { Symbol } from '../src/graph/symbol.js';
import { cpuReference, expectClose, randomHost, rng, toTensor } from './compile_helpers.js';

type AnyF = Parameters<TraceFn>[0];
// The tutorial's contrastive loss, written once against F (nd or sym).
function contrastive<T extends Tensor | Symbol>(F: AnyF, a: T, b: T, label: T): T {
  const G = F as unknown as typeof nd;
  const [x, y, l] = [a, b, label] as unknown as Tensor[];
  const d = G.sub(x, y);
  const d2 = G.sum(G.square(d), 1, true);
  const e = G.sqrt(G.add(d2, 1e-4));
  const c = G.clip(G.sub(6, e), 0, 6);
  return G.mul(0.5, G.add(G.mul(G.sub(1, l), d2), G.mul(l, G.square(c)))) as unknown as T;
}

describe('compiled contrastive loss', () => {
  for (const [N, D] of [[64, 2], [16, 128]]) {
    it(`N=${N} D=${D}: 1 forward dispatch, ≤2 backward, equals eager and CPU`, async () => {
      const r = rng(N * 1000 + D);
      const ha = randomHost([N, D], r);
      const hb = randomHost([N, D], r, -0.5, 0.5);
      const hl = randomHost([N, 1], r, 0, 1);
      for (let i = 0; i < N; i++) hl.data[i] = hl.data[i] > 0.5 ? 1 : 0;
      const f = compileFunction((F, a, b, l) => contrastive(F, a, b, l), { name: 'contrastive' });

      // Inference: exactly one kernel.
      const [a, b, l] = [ha, hb, hl].map(toTensor);
      await flush();
      resetStats();
      const y0 = f(a, b, l) as Tensor;
      await flush();
      expect(stats().dispatches).toBe(1);

      // Training: one forward kernel (the saved reduction is an extra output), ≤ 2 backward.
      a.attachGrad();
      b.attachGrad();
      await flush();
      resetStats();
      const y = autograd.record(() => f(a, b, l)) as Tensor;
      await flush();
      expect(stats().dispatches).toBe(1);
      const head = nd.ones([N, 1]);
      await flush();
      resetStats();
      y.backward(head);
      await flush();
      const bwd = stats().dispatches;
      expect(bwd).toBeLessThanOrEqual(2);
      const plans = [...f.plans.values()].find((p) => p.backward)!;
      expect(plans.backward!.dispatchCount).toBe(bwd);

      const ref = cpuReference((F, a, b, l) => contrastive(F, a, b, l), [ha, hb, hl]);
      expectClose(await y0.data(), ref.outs[0].data, 'compiled inference');
      expectClose(await y.data(), ref.outs[0].data, 'compiled forward');
      expectClose(await a.grad!.data(), ref.grads[0].data, 'grad a');
      expectClose(await b.grad!.data(), ref.grads[1].data, 'grad b');

      // Eager agrees too.
      const [ea, eb, el] = [ha, hb, hl].map(toTensor);
      ea.attachGrad();
      eb.attachGrad();
      const ey = autograd.record(() => contrastive(nd as unknown as AnyF, ea, eb, el));
      ey.backward();
      expectClose(await y.data(), await ey.data(), 'compiled vs eager forward');
      expectClose(await a.grad!.data(), await ea.grad!.data(), 'compiled vs eager grad a');
      expectClose(await b.grad!.data(), await eb.grad!.data(), 'compiled vs eager grad b');
    });
  }
});
