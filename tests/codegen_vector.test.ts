// vec4 elementwise kernels in compiled plans: taken exactly when every input is the output's
// shape or one value and the size is a multiple of 4; values and gradients equal the scalar
// kernels and the CPU reference, over random shapes.
import { afterEach, describe, expect, it } from 'vitest';
import { codegenDefaults } from '../src/codegen/emit.js';
import { compileFunction } from '../src/compiler/compile.js';
import type { TraceFn } from '../src/graph/trace.js';
import { autograd, nd, type Tensor } from '../src/ndarray/index.js';
import { cpuReference, expectClose, randomHost, rng, toTensor } from './compile_helpers.js';

const saved = codegenDefaults.vectorWidth;
afterEach(() => {
  codegenDefaults.vectorWidth = saved;
});

/** Two outputs from a same-shape input, a one-value input and a scalar constant. */
const chain: TraceFn = (F, x, y, s) => {
  const t = F.tanh(F.add(F.mul(x, y), s));
  return [F.relu(F.sub(t, 0.25)), F.mul(F.exp(F.neg(F.square(x))), s)];
};

async function run(width: 1 | 4, shape: number[], seed: number) {
  codegenDefaults.vectorWidth = width;
  const r = rng(seed);
  const hosts = [randomHost(shape, r), randomHost(shape, r), randomHost([1], r)];
  const f = compileFunction(chain, { name: `vec${width}` });
  const xs = hosts.map(toTensor);
  xs.forEach((x) => x.attachGrad());
  let outs: Tensor[] = [];
  const total = autograd.record(() => {
    outs = f(...xs) as Tensor[];
    return nd.add(nd.sum(outs[0]), nd.sum(outs[1]));
  });
  total.backward();
  const plans = [...f.plans.values()][0];
  const wgsl = [plans.trainForward!, plans.backward!].flatMap((p) => p.kernels.map((k) => k.kernel.wgsl));
  return {
    outs: await Promise.all(outs.map((o) => o.data())),
    grads: await Promise.all(xs.map((x) => x.grad!.data())),
    vec4Kernels: wgsl.filter((w) => w.includes('array<vec4<f32>>')).length,
    hosts,
  };
}

describe('vec4 elementwise kernels', () => {
  it('agree with scalar kernels and the CPU reference on random shapes, and are used only where they fit', async () => {
    const r = rng(77);
    const shapes = [[4], [8, 3], [5, 7], [2, 65, 4], [1000], [7], [3, 1, 9], [64, 64]];
    for (let k = 0; k < 4; k++) shapes.push([1 + Math.floor(r() * 30), 1 + Math.floor(r() * 30)]);
    for (const [i, shape] of shapes.entries()) {
      const wide = await run(4, shape, i);
      const narrow = await run(1, shape, i);
      const ref = cpuReference(chain, wide.hosts);
      const fits = shape.reduce((a, b) => a * b, 1) % 4 === 0;
      expect(narrow.vec4Kernels, `shape ${shape}`).toBe(0);
      if (fits) expect(wide.vec4Kernels, `shape ${shape}`).toBeGreaterThanOrEqual(1);
      else expect(wide.vec4Kernels, `shape ${shape}`).toBe(0);
      wide.outs.forEach((o, j) => {
        expectClose(o, ref.outs[j].data, `output ${j} at ${shape}`);
        expectClose(o, narrow.outs[j], `output ${j} vec4 vs scalar at ${shape}`, 1e-6, 1e-7);
      });
      wide.grads.forEach((g, j) => {
        expectClose(g, ref.grads[j].data, `gradient ${j} at ${shape}`, 1e-4, 1e-4);
        expectClose(g, narrow.grads[j], `gradient ${j} vec4 vs scalar at ${shape}`, 1e-6, 1e-6);
      });
    }
  });

  it('read per-row values and last-axis vectors, and agree with scalar kernels and the CPU reference', async () => {
    // The contrastive loss's backward: per-row scalars (computed once per four lanes) times rows.
    const rowwise: TraceFn = (F, a, b, d2, bias) => {
      const d = F.sqrt(F.add(d2, 1e-4));
      const g = F.div(F.clip(F.sub(6, d), 0, 6), d);
      return [F.mul(g, F.sub(a, b)), F.add(F.mul(a, bias), F.broadcastTo(d, a.shape as number[]))];
    };
    const r = rng(11);
    // Rows of a multiple of 4 share row values across lanes; rows of 2 or 6 load them per lane.
    for (const [n, dim] of [[3, 4], [5, 8], [16, 128], [7, 12], [8, 2], [6, 6], [10, 2]]) {
      const hosts = [randomHost([n, dim], r), randomHost([n, dim], r), randomHost([n, 1], r, 0, 4), randomHost([dim], r)];
      const results: { outs: (Float32Array | Int32Array)[]; vec4: boolean }[] = [];
      for (const width of [4, 1] as const) {
        codegenDefaults.vectorWidth = width;
        const f = compileFunction(rowwise, { name: `rows${width}` });
        const outs = f(...hosts.map(toTensor)) as Tensor[];
        const wgsl = [...f.plans.values()][0].forward!.kernels.map((k) => k.kernel.wgsl).join('\n');
        results.push({ outs: await Promise.all(outs.map((o) => o.data())), vec4: wgsl.includes('array<vec4<f32>>') });
      }
      expect(results[0].vec4, `${n}x${dim}`).toBe(true);
      expect(results[1].vec4).toBe(false);
      const ref = cpuReference(rowwise, hosts);
      results[0].outs.forEach((o, j) => {
        expectClose(o, ref.outs[j].data, `output ${j} at ${n}x${dim}`);
        expectClose(o, results[1].outs[j], `output ${j} vec4 vs scalar at ${n}x${dim}`, 1e-6, 1e-7);
      });
    }
  });

  it('are not used when an input broadcasts along a middle axis', async () => {
    codegenDefaults.vectorWidth = 4;
    const r = rng(3);
    for (const [xs, bs] of [[[2, 3, 4], [2, 1, 4]], [[4, 2, 6], [1, 2, 1]]]) {
      const f = compileFunction((F, x, b) => F.relu(F.add(x, b)), { name: 'bias' });
      const x = randomHost(xs, r);
      const b = randomHost(bs, r);
      const out = await (f(toTensor(x), toTensor(b)) as Tensor).data();
      const plan = [...f.plans.values()][0].forward!;
      expect(plan.kernels.some((k) => k.kernel.wgsl.includes('vec4')), `${xs} + ${bs}`).toBe(false);
      expectClose(out, cpuReference((F, p, q) => F.relu(F.add(p, q)), [x, b]).outs[0].data, 'bias + relu');
    }
  });
});
