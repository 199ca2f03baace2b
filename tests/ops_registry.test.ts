// Every elementwise, reduce, layout and composite op: CPU reference vs eager GPU on random shapes
// (sizes 1, 7, 65, 1000 and broadcasting), and gradients: finite differences vs GPU autograd.
import { describe, expect, it } from 'vitest';
import { evaluateAny } from '../src/cpu/host_namespace.js';
import { allOps, getOp, type HostValue } from '../src/graph/registry.js';
import type { Attrs } from '../src/base/types.js';
import { callEager, eagerGradients, expectClose, numericGradient, randomHost, rng, toTensor, type Domain } from './op_harness.js';

interface Case {
  op: string;
  shapes: number[][];
  attrs?: Attrs;
  domain?: Domain | Domain[];
  /** Inputs whose gradient is checked (default: all float inputs the op differentiates). */
  wrt?: number[];
  gradTol?: number;
}

const positiveOps = new Set(['sqrt', 'log', 'pow', 'log1p']);
// Ops whose gradient is zero almost everywhere or undefined at kinks: values only.
const noGradCheck = new Set(['greater', 'greaterEqual', 'lesser', 'lesserEqual', 'equal', 'notEqual', 'sign', 'inRange', 'blockGrad', 'astype', 'argmax', 'argmin', 'oneHot']);

const binaryShapes: number[][][] = [[[7], [7]], [[65, 7], [7]], [[1000], [1]], [[3, 1, 5], [1, 4, 1]], [[1], [2, 65]], [[]]];
const unaryShapes: number[][][] = [[[7]], [[65, 3]], [[1000]], [[1]], [[2, 3, 5, 7]]];

function elementwiseCases(): Case[] {
  const cases: Case[] = [];
  for (const op of allOps()) {
    if (op.kind !== 'elementwise' || op.name === 'broadcastTo' || op.name === 'where' || op.name === 'astype') continue;
    const domain: Domain = positiveOps.has(op.name) ? 'positive' : 'any';
    const attrs: Attrs = op.name === 'clip' || op.name === 'inRange' ? { lo: -0.5, hi: 0.7 } : {};
    const shapes = op.inputs.length === 2 ? binaryShapes.filter((s) => s.length === 2) : unaryShapes;
    for (const s of shapes) cases.push({ op: op.name, shapes: s, attrs, domain });
  }
  return cases;
}

const explicit: Case[] = [
  { op: 'where', shapes: [[65, 7], [65, 7], [7]], domain: ['int', 'any', 'any'], wrt: [1, 2] },
  { op: 'astype', shapes: [[7, 3]], attrs: { dtype: 'int32' } },
  { op: 'broadcastTo', shapes: [[1, 7]], attrs: { shape: [65, 7] } },
  { op: 'broadcastTo', shapes: [[3, 1]], attrs: { shape: [2, 3, 5] } },
  ...['sum', 'mean', 'max', 'min'].flatMap((op) => [
    { op, shapes: [[65, 7]], attrs: { axis: 1, keepdims: true } },
    { op, shapes: [[1000]], attrs: {} },
    { op, shapes: [[7, 65, 3]], attrs: { axis: [0, 2] } },
    { op, shapes: [[4, 1000]], attrs: { axis: -1 } },
    { op, shapes: [[2, 3, 4]], attrs: { axis: 0, keepdims: false } },
  ]),
  { op: 'argmax', shapes: [[65, 7]], attrs: { axis: 1 } },
  { op: 'argmin', shapes: [[5, 9, 3]], attrs: { axis: 1, keepdims: true } },
  { op: 'reshape', shapes: [[6, 4]], attrs: { shape: [3, -1, 2] } },
  { op: 'expandDims', shapes: [[6, 4]], attrs: { axis: 1 } },
  { op: 'squeeze', shapes: [[6, 1, 4]], attrs: {} },
  { op: 'flatten', shapes: [[2, 3, 4]] },
  { op: 'transpose', shapes: [[2, 3, 4]], attrs: { axes: [2, 0, 1] } },
  { op: 'transpose', shapes: [[65, 7]] },
  { op: 'slice', shapes: [[7, 9]], attrs: { begin: [1, null], end: [5, -2] } },
  { op: 'slicePad', shapes: [[2, 3]], attrs: { begin: [1, 2], shape: [5, 6] } },
  { op: 'concat', shapes: [[2, 3], [2, 4], [2, 1]], attrs: { axis: 1 } },
  { op: 'concat', shapes: [[1, 5], [3, 5]], attrs: { axis: 0 } },
  { op: 'pick', shapes: [[7, 5], [7]], attrs: { axis: 1 }, domain: ['any', 'int'], wrt: [0] },
  { op: 'pick', shapes: [[4, 6, 3], [4, 1, 3]], attrs: { axis: 1, keepdims: true }, domain: ['any', 'int'], wrt: [0] },
  { op: 'oneHot', shapes: [[7]], attrs: { depth: 5 }, domain: 'int' },
  { op: 'softmax', shapes: [[7, 65]], attrs: { axis: -1 } },
  { op: 'softmax', shapes: [[4, 3, 2]], attrs: { axis: 1 } },
  { op: 'logSoftmax', shapes: [[7, 9]], attrs: {} },
  { op: 'softrelu', shapes: [[65, 3]] },
  { op: 'softsign', shapes: [[7]] },
  { op: 'log1p', shapes: [[7]], domain: 'positive' },
  { op: 'activation', shapes: [[5, 7]], attrs: { actType: 'tanh' } },
];

const allCases = [...elementwiseCases(), ...explicit];

function inputsFor(c: Case, seed: number): HostValue[] {
  const r = rng(seed);
  return c.shapes.map((s, i) => randomHost(s, (Array.isArray(c.domain) ? c.domain[i] : c.domain) ?? 'any', r));
}

function reference(c: Case, inputs: HostValue[]): HostValue {
  return evaluateAny(c.op, inputs, c.attrs ?? {});
}

describe('registry ops: CPU reference vs eager GPU', () => {
  it.each(allCases.map((c, i) => [`${c.op} ${JSON.stringify(c.shapes)} ${JSON.stringify(c.attrs ?? {})}`, c, i] as const))('%s', async (_n, c, i) => {
    const inputs = inputsFor(c, 1000 + i);
    const gpu = await callEager(c.op, inputs.map(toTensor), c.attrs ?? {}).data();
    const cpu = reference(c, inputs);
    expect(gpu.length).toBe(cpu.data.length);
    expectClose(gpu, cpu.data, 2e-5, 2e-5, c.op);
  });
});

describe('registry ops: gradients, finite differences on the CPU vs GPU autograd', () => {
  const gradCases = allCases.filter((c) => !noGradCheck.has(c.op) && c.shapes.every((s) => s.reduce((n, d) => n * d, 1) <= 100));
  it.each(gradCases.map((c, i) => [`${c.op} ${JSON.stringify(c.shapes)}`, c, i] as const))('%s', async (_n, c, i) => {
    const inputs = inputsFor(c, 5000 + i);
    const out = evaluateAny(c.op, inputs, c.attrs ?? {});
    const r = rng(77 + i);
    const w = Float32Array.from({ length: out.data.length }, () => r() - 0.5);
    const wrt = c.wrt ?? inputs.map((_, k) => k);
    const gpu = await eagerGradients(c.op, inputs, c.attrs ?? {}, w, wrt);
    wrt.forEach((k, j) => {
      const num = numericGradient(c.op, inputs, c.attrs ?? {}, k, w);
      // Kinks (relu at 0, abs, max ties, clip edges) are avoided by random inputs; f32 noise
      // in the differences sets the tolerance.
      expectClose(gpu[j], num, 3e-2, 3e-2, `${c.op} d/dx${k}`);
    });
  });
});

describe('eager pipelines', () => {
  it('a scalar that changes every step reuses one pipeline', async () => {
    const { stats, resetStats } = await import('../src/runtime/stats.js');
    const { nd } = await import('../src/ndarray/index.js');
    const x = nd.array([1, 2, 3]);
    await nd.mul(x, 0.5).data();
    resetStats();
    const outs = [0.25, 0.125, 3].map((lr) => nd.mul(x, lr));
    expect(Array.from(await outs[2].data())).toEqual([3, 6, 9]);
    expect(Array.from(await outs[0].data())).toEqual([0.25, 0.5, 0.75]);
    expect(stats().pipelines).toBe(0);
  });
});

describe('random draws', () => {
  it('match the CPU reference, differ between draws, and share one pipeline', async () => {
    const { stats, resetStats } = await import('../src/runtime/stats.js');
    const { nd } = await import('../src/ndarray/index.js');
    await nd.random.uniform(0, 1, [64]).data();
    resetStats();
    const a = nd.randomUniform({ shape: [1000], lo: -1, hi: 2, seed: 12345 });
    const b = nd.randomNormal({ shape: [1000], mean: 1, std: 2, seed: 999 });
    expectClose(await a.data(), evaluateAny('randomUniform', [], { shape: [1000], lo: -1, hi: 2, seed: 12345 }).data, 1e-6, 1e-6, 'uniform');
    expectClose(await b.data(), evaluateAny('randomNormal', [], { shape: [1000], mean: 1, std: 2, seed: 999 }).data, 1e-4, 1e-4, 'normal');
    resetStats();
    const c = nd.random.uniform(0, 1, [1000]);
    const d = nd.random.uniform(0, 1, [1000]);
    const [dc, dd] = [await c.data(), await d.data()];
    expect(dc.some((v, i) => v !== dd[i])).toBe(true);
    expect(stats().pipelines).toBe(0);
  });
});
