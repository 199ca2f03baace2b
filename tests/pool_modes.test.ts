// Pooling's ceilMode (MXNet's pooling_convention 'full') and countIncludePad, three ways — the CPU
// reference, eager GPU and a hybridized (compiled) function — with gradients checked against
// finite differences of the CPU reference, through the `pooling` op that MaxPool2D and AvgPool2D
// call. The shapes include windows that hang over the padded input (their average divides by
// the part up to its edge, as MXNet's pool.h does) and the tiling case (its own backward kernel).
import { describe, expect, it } from 'vitest';
import { evaluateAny } from '../src/cpu/host_namespace.js';
import { compileFunction } from '../src/compiler/compile.js';
import type { TraceFn } from '../src/graph/trace.js';
import type { HostValue } from '../src/graph/registry.js';
import type { Attrs } from '../src/base/types.js';
import { autograd, nd, type Tensor } from '../src/ndarray/index.js';
import type { F } from '../src/nn/hybrid_block.js';
import { eagerGradients, expectClose, numericGradient, randomHost, rng, toTensor } from './op_harness.js';

interface Case {
  x: number[];
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
}
const geometries: Case[] = [
  { x: [2, 2, 7, 8], kernel: [3, 3], stride: [2, 2], pad: [0, 0] }, // ceil adds a window hanging over each axis
  { x: [1, 3, 6, 7], kernel: [3, 3], stride: [2, 2], pad: [1, 1] }, // padding, and ceil past H + pad
  { x: [1, 2, 8, 7], kernel: [2, 3], stride: [2, 1], pad: [1, 1] },
  { x: [2, 2, 7, 7], kernel: [3, 3], stride: [3, 3], pad: [0, 0] }, // tiles under floor, overhangs under ceil
  { x: [1, 2, 6, 6], kernel: [2, 2], stride: [2, 2], pad: [0, 0] }, // tiles both ways: the per-window backward kernel
];

const cases = geometries.flatMap((g) => (['max', 'avg'] as const).flatMap((poolType) => [false, true].flatMap((ceilMode) =>
  (poolType === 'avg' ? [true, false] : [true]).map((countIncludePad): [string, Case, Attrs] => [
    `${poolType} x${g.x.join('x')} k${g.kernel} s${g.stride} p${g.pad}${ceilMode ? ' ceil' : ''}${countIncludePad ? '' : ' excluding pad'}`,
    g, { kernel: g.kernel, stride: g.stride, pad: g.pad, poolType, ceilMode, countIncludePad }]))));

describe('pooling modes: CPU reference, eager GPU, hybridized GPU, finite differences', () => {
  it.each(cases.map((c, i) => [...c, i] as const))('%s', async (_name, g, attrs, i) => {
    const r = rng(500 + i);
    const x = randomHost(g.x, 'any', r);
    const cpu = evaluateAny('pooling', [x], attrs);
    const w = randomHost(cpu.shape, 'positive', r).data as Float32Array;

    // Eager: values and the gradient of Σ w·pool(x).
    const eager = toTensor(x);
    const y = nd.pooling(eager, attrs);
    expect(y.shape).toEqual(cpu.shape);
    expectClose(await y.data(), cpu.data, 1e-5, 1e-5, 'eager forward');
    const [eagerGrad] = await eagerGradients('pooling', [x], attrs, w, [0]);

    // Hybridized: the same through a compiled function (pool2d with an epilogue, its backward plan).
    const fn = compileFunction(((Fs: F, a: Tensor, b: Tensor) => Fs.sum(Fs.mul(Fs.pooling(a, attrs), b))) as unknown as TraceFn, { name: 'pool' });
    const xh = toTensor(x);
    xh.attachGrad();
    const loss = autograd.record(() => fn(xh, nd.array(w, { shape: [...cpu.shape] })) as Tensor);
    loss.backward();
    const want = Array.from(cpu.data).reduce((s, v, k) => s + v * w[k], 0);
    expect(Math.abs((await loss.item()) - want)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want)));
    const hybridGrad = await xh.grad!.data();

    // The CPU reference's backward op and finite differences of its forward agree with both.
    const backward = evaluateAny('pool2dBackward', [x, cpu, { data: w, shape: cpu.shape, dtype: 'float32' } as HostValue], {
      kernel: attrs.kernel, stride: attrs.stride, pad: attrs.pad, poolType: attrs.poolType, ceilMode: attrs.ceilMode, countIncludePad: attrs.countIncludePad,
    });
    const fd = numericGradient('pooling', [x], attrs, 0, w, 1e-3);
    expectClose(backward.data, fd, 1e-2, 1e-2, 'CPU backward vs finite differences');
    expectClose(eagerGrad, backward.data, 1e-5, 1e-5, 'eager gradient');
    expectClose(hybridGrad, backward.data, 1e-5, 1e-5, 'hybridized gradient');
  });
});
