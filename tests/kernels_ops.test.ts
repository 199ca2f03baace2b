// dot, conv2d and pool2d as registry ops, three ways: CPU reference, eager GPU (`nd`) and a compiled
// (hybridized) function with fused epilogues; gradients against finite differences of the reference.
import { describe, expect, it } from 'vitest';
import '../src/ops/nn_kernels.js';
import { evaluateAny } from '../src/cpu/host_namespace.js';
import { compileFunction } from '../src/compiler/compile.js';
import { codegenDefaults } from '../src/codegen/emit.js';
import type { GroupKernel } from '../src/ndarray/launch.js';
import { getBackend } from '../src/runtime/device.js';
import { tapDispatches, type Dispatch } from '../src/runtime/executor.js';
import type { HostValue } from '../src/graph/registry.js';
import type { TraceFn } from '../src/graph/trace.js';
import type { Attrs } from '../src/base/types.js';
import { autograd, nd, type Tensor } from '../src/ndarray/index.js';
import { cpuReference } from './compile_helpers.js';
import { callEager, eagerGradients, expectClose, numericGradient, randomHost, rng, toTensor } from './op_harness.js';

interface Case {
  op: string;
  shapes: number[][];
  attrs: Attrs;
}

const cases: Case[] = [
  { op: 'dot', shapes: [[7, 5], [5, 3]], attrs: {} },
  { op: 'dot', shapes: [[4, 6], [5, 6]], attrs: { transposeB: true } },
  { op: 'dot', shapes: [[6, 4], [6, 5]], attrs: { transposeA: true } },
  { op: 'dot', shapes: [[6, 4], [5, 6]], attrs: { transposeA: true, transposeB: true } },
  { op: 'dot', shapes: [[2, 3, 4], [2, 4, 5]], attrs: {} },
  { op: 'dot', shapes: [[3, 4, 2], [5, 4]], attrs: { transposeA: true, transposeB: true } },
  { op: 'dot', shapes: [[3, 2, 4], [4, 5]], attrs: {} },
  { op: 'dot', shapes: [[4, 3], [2, 4, 5]], attrs: { transposeA: true } },
  { op: 'conv2d', shapes: [[2, 2, 5, 6], [3, 2, 3, 3]], attrs: { stride: [1, 1], pad: [1, 1] } },
  { op: 'conv2d', shapes: [[1, 3, 7, 6], [2, 3, 2, 3]], attrs: { stride: [2, 1], pad: [0, 2] } },
  // A subgroup's worth of channels each way: the subgroup kernels, where the device has them.
  { op: 'conv2d', shapes: [[2, 9, 6, 13], [10, 9, 3, 3]], attrs: { stride: [1, 1], pad: [1, 1] } },
  { op: 'pool2d', shapes: [[2, 2, 6, 6]], attrs: { kernel: [2, 2], stride: [2, 2], poolType: 'max' } },
  { op: 'pool2d', shapes: [[1, 2, 7, 5]], attrs: { kernel: [3, 2], stride: [2, 1], pad: [1, 1], poolType: 'max' } },
  { op: 'pool2d', shapes: [[1, 2, 7, 5]], attrs: { kernel: [3, 3], stride: [2, 2], pad: [1, 1], poolType: 'avg' } },
];

const inputsFor = (c: Case, seed: number): HostValue[] => {
  const r = rng(seed);
  return c.shapes.map((s) => randomHost(s, 'any', r));
};

describe('heavy ops: eager GPU vs CPU reference', () => {
  it.each(cases.map((c, i) => [`${c.op} ${JSON.stringify(c.shapes)} ${JSON.stringify(c.attrs)}`, c, i] as const))('%s', async (_n, c, i) => {
    const inputs = inputsFor(c, 100 + i);
    const gpu = await callEager(c.op, inputs.map(toTensor), c.attrs).data();
    const cpu = evaluateAny(c.op, inputs, c.attrs);
    expectClose(gpu, cpu.data, 1e-5, 1e-5, c.op);
  });
});

describe('heavy ops: GPU autograd vs finite differences of the CPU reference', () => {
  it.each(cases.map((c, i) => [`${c.op} ${JSON.stringify(c.shapes)} ${JSON.stringify(c.attrs)}`, c, i] as const))('%s', async (_n, c, i) => {
    const inputs = inputsFor(c, 200 + i);
    const out = evaluateAny(c.op, inputs, c.attrs);
    const r = rng(300 + i);
    const w = Float32Array.from({ length: out.data.length }, () => r() - 0.5);
    const wrt = inputs.map((_, k) => k);
    const gpu = await eagerGradients(c.op, inputs, c.attrs, w, wrt);
    wrt.forEach((k) => expectClose(gpu[k], numericGradient(c.op, inputs, c.attrs, k, w), 1e-2, 1e-2, `${c.op} d/dx${k}`));
  });
});

describe('backward references are the derivatives of the forward references', () => {
  // numericGradient(op, inputs, attrs, k, dy) is d(Σ dy·op)/d input k: exactly what the backward ops compute.
  const convs = [
    { x: [2, 2, 5, 6], w: [3, 2, 3, 3], stride: [1, 1], pad: [1, 1] },
    { x: [1, 2, 8, 7], w: [2, 2, 3, 2], stride: [2, 3], pad: [2, 1] },
  ];
  it.each(convs.map((c, i) => [JSON.stringify(c), c, i] as const))('conv2d %s', (_n, c, i) => {
    const r = rng(400 + i);
    const [x, w] = [randomHost(c.x, 'any', r), randomHost(c.w, 'any', r)];
    const attrs = { stride: c.stride, pad: c.pad };
    const dy = randomHost(evaluateAny('conv2d', [x, w], attrs).shape, 'any', r);
    const dx = evaluateAny('conv2dBackwardData', [dy, w], { ...attrs, xShape: c.x });
    const dw = evaluateAny('conv2dBackwardWeight', [x, dy], { ...attrs, wShape: c.w });
    expectClose(dx.data, numericGradient('conv2d', [x, w], attrs, 0, dy.data as Float32Array), 1e-2, 1e-2, 'dx');
    expectClose(dw.data, numericGradient('conv2d', [x, w], attrs, 1, dy.data as Float32Array), 1e-2, 1e-2, 'dw');
  });
  it.each(['max', 'avg'])('pool2d %s', (poolType) => {
    const r = rng(500);
    const x = randomHost([1, 2, 7, 6], 'any', r);
    const attrs = { kernel: [3, 2], stride: [2, 2], pad: [1, 1], poolType };
    const y = evaluateAny('pool2d', [x], attrs);
    const dy = randomHost(y.shape, 'any', r);
    const dx = evaluateAny('pool2dBackward', [x, y, dy], attrs);
    expectClose(dx.data, numericGradient('pool2d', [x], attrs, 0, dy.data as Float32Array, 1e-3), 1e-2, 1e-2, 'dx');
  });
});

type Fn = (F: Parameters<TraceFn>[0], ...x: Parameters<TraceFn>[1][]) => Parameters<TraceFn>[1];

/** A compiled function vs the CPU reference of its traced graph: outputs and input gradients. */
async function checkCompiled(name: string, fn: Fn, shapes: number[][], seed: number): Promise<string[]> {
  const r = rng(seed);
  const hosts = shapes.map((s) => randomHost(s, 'any', r));
  const ref = cpuReference(fn as TraceFn, hosts);
  const f = compileFunction(fn as TraceFn, { name });
  const xs = hosts.map(toTensor);
  xs.forEach((x) => x.attachGrad());
  let out: Tensor | undefined;
  const loss = autograd.record(() => {
    out = f(...xs) as Tensor;
    return nd.sum(out);
  });
  expectClose(await out!.data(), ref.outs[0].data, 1e-4, 1e-4, `${name} forward`);
  loss.backward();
  for (let k = 0; k < xs.length; k++) expectClose(await xs[k].grad!.data(), ref.grads[k].data, 1e-3, 1e-3, `${name} grad ${k}`);
  const plans = [...f.plans.values()][0];
  return [plans.trainForward, plans.backward].flatMap((p) => p?.kernels.map((k) => k.kernel.group.nodes.map((n) => n.op).join('+')) ?? []);
}

describe('heavy ops compiled (hybridized), with fused epilogues', () => {
  it('convolution + bias + relu, then max pooling', async () => {
    const kernels = await checkCompiled('convPool', (F, x, w, b) => F.pool2d(F.relu(F.convolution(x, w, b, { pad: [1, 1] })),
      { kernel: [2, 2], stride: [2, 2] }), [[2, 3, 8, 8], [4, 3, 3, 3], [4]], 1);
    expect(kernels).toContain('conv2dBackwardData');
    expect(kernels.some((k) => k.startsWith('conv2dBackwardWeight'))).toBe(true);
    expect(kernels.some((k) => k.startsWith('pool2dBackward'))).toBe(true);
  });
  it('with subgroups on the device, the three convolution kernels use them (eager and compiled)', async () => {
    const backend = await getBackend();
    const dispatched: Dispatch[] = [];
    tapDispatches((d) => dispatched.push(d));
    try {
      await checkCompiled('convPoolWide', (F, x, w, b) => F.pool2d(F.relu(F.convolution(x, w, b, { pad: [1, 1] })),
        { kernel: [2, 2], stride: [2, 2] }), [[2, 32, 8, 8], [32, 32, 3, 3], [32]], 3);
    } finally {
      tapDispatches(null);
    }
    // Read after the kernels ran: a kernel emitted before the device was known is emitted again.
    const withLanes = dispatched.filter((d) => d.kernel.wgsl.includes('subgroupShuffle')).map((d) => (d.kernel as GroupKernel).group.nodes[0].op);
    // 32 channels each way: every subgroup size up to 32 lanes (NVIDIA's) qualifies.
    const lanes = backend.kind === 'gpu' ? backend.subgroupSize : 0;
    const expected = lanes > 0 && lanes <= 32 ? ['conv2d', 'conv2dBackwardData', 'conv2dBackwardWeight'] : [];
    expect([...new Set(withLanes)].sort()).toEqual(expected);
  });
  it('a convolution compiled before the device was known runs with the device\'s subgroups', async () => {
    const backend = await getBackend();
    const lanes = backend.kind === 'gpu' ? backend.subgroupSize : 0;
    const r = rng(11);
    const [x, w] = [[2, 16, 6, 9], [32, 16, 3, 3]].map((sh) => randomHost(sh, 'any', r));
    const conv = compileFunction(((F, a, b) => F.conv2d(a, b)) as Fn as TraceFn, { name: 'early' });
    const dispatched: Dispatch[] = [];
    // As in a script whose first forward runs while the adapter is still being requested.
    const saved = codegenDefaults.subgroupSize;
    codegenDefaults.subgroupSize = 0;
    tapDispatches((d) => dispatched.push(d));
    let y: Tensor;
    try {
      y = conv(toTensor(x), toTensor(w)) as Tensor;
    } finally {
      codegenDefaults.subgroupSize = saved;
      tapDispatches(null);
    }
    expect(dispatched.map((d) => d.kernel.wgsl.includes('subgroupShuffle'))).toEqual([false]);
    expectClose(await y.data(), evaluateAny('conv2d', [x, w], {}).data, 1e-5, 1e-5, 'conv2d');
    expect(dispatched[0].kernel.wgsl.includes('subgroupShuffle')).toBe(lanes > 0 && lanes <= 32);
  });
  it('inference fuses the bias add and the relu into the kernel epilogue', async () => {
    const conv = compileFunction(((F, x, w, b) => F.relu(F.convolution(x, w, b, { pad: [1, 1] }))) as Fn as TraceFn, { name: 'conv' });
    const dense = compileFunction(((F, x, w, b) => F.relu(F.add(F.dot(x, w), b))) as Fn as TraceFn, { name: 'dense' });
    const r = rng(9);
    const [x, w, b] = [[2, 3, 8, 8], [4, 3, 3, 3], [4]].map((s) => randomHost(s, 'any', r));
    const y = conv(toTensor(x), toTensor(w), toTensor(b)) as Tensor;
    expectClose(await y.data(), evaluateAny('relu', [evaluateAny('convolution', [x, w, b], { pad: [1, 1] })]).data, 1e-5, 1e-5, 'conv');
    const [a, m, c] = [[5, 7], [7, 3], [3]].map((s) => randomHost(s, 'any', r));
    const z = dense(toTensor(a), toTensor(m), toTensor(c)) as Tensor;
    expectClose(await z.data(), evaluateAny('relu', [evaluateAny('add', [evaluateAny('dot', [a, m]), c])]).data, 1e-5, 1e-5, 'dense');
    const ops = (f: typeof conv) => [...f.plans.values()][0].forward!.kernels.map((k) => k.kernel.group.nodes.map((n) => n.op).join('+'));
    expect(ops(conv)).toEqual(['conv2d+add+relu']);
    expect(ops(dense)).toEqual(['dot+add+relu']);
  });
  it('dense layers: dot + bias + sigmoid, batched dot', async () => {
    await checkCompiled('dense', (F, x, w, b) => F.sigmoid(F.add(F.dot(x, w, { transposeB: true }), b)),
      [[5, 7], [3, 7], [3]], 2);
    await checkCompiled('batched', (F, a, b) => F.tanh(F.dot(a, b)), [[2, 3, 4], [4, 5]], 3);
  });
});

describe('shape errors name the op and the shapes', () => {
  const fails = (f: () => unknown, ...parts: string[]) => {
    let message = '';
    try {
      f();
    } catch (e) {
      message = (e as Error).message;
    }
    for (const p of parts) expect(message).toContain(p);
  };
  it('dot', () => {
    fails(() => nd.dot(nd.zeros([2, 3]), nd.zeros([4, 5])), '`dot`', 'inner dimensions differ (3 vs 4)', '(2, 3)', '(4, 5)');
    fails(() => nd.dot(nd.zeros([2, 3, 4]), nd.zeros([3, 4, 5])), 'batch sizes differ (2 vs 3)');
    fails(() => nd.dot(nd.zeros([3]), nd.zeros([3, 2])), '2-D or batched 3-D');
  });
  it('conv2d and pool2d', () => {
    fails(() => nd.conv2d(nd.zeros([1, 3, 8, 8]), nd.zeros([4, 2, 3, 3])), '`conv2d`', 'input channels differ (data 3 vs weight 2)', '(1, 3, 8, 8)');
    fails(() => nd.conv2d(nd.zeros([1, 1, 4, 4]), nd.zeros([1, 1, 7, 7]), { pad: [1, 1] }), 'window is larger than the padded input (6x6)');
    fails(() => nd.pool2d(nd.zeros([1, 1, 4, 4]), { kernel: [2, 2], pad: [2, 0] }), '`pool2d`', 'must be smaller than the kernel');
    fails(() => nd.pool2d(nd.zeros([4, 4]), { kernel: [2, 2] }), 'expects data (N, C, H, W)');
  });
});
