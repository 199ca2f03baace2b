// The heavy kernel templates run directly on Dawn, against their CPU references, on odd shapes and
// with non-default tunings (odd tiles, the workgroup-memory matmul) that the eager path never picks.
import { describe, expect, it } from 'vitest';
import type { KernelTemplate } from '../src/graph/kernel_template.js';
import { matmulKernel } from '../src/codegen/kernels/matmul.js';
import { conv2dBackwardDataKernel, conv2dBackwardWeightKernel, conv2dKernel } from '../src/codegen/kernels/conv2d.js';
import { pool2dBackwardKernel, pool2dKernel } from '../src/codegen/kernels/pool2d.js';
import {
  conv2dBackwardDataReference, conv2dBackwardWeightReference, conv2dReference, dotReference,
  pool2dBackwardReference, pool2dReference,
} from '../src/cpu/kernels.js';
import type { HostValue } from '../src/graph/registry.js';
import type { Attrs, Shape } from '../src/base/types.js';
import { deviceSubgroupSize, maxRelativeError, randomValue, runTemplate } from './kernels_harness.js';

type Reference = (x: readonly HostValue[], attrs: Attrs, outShape: Shape) => Float32Array;

async function compare(template: KernelTemplate, reference: Reference, inputs: HostValue[], attrs: Attrs, outShape: Shape,
  tuning: Record<string, number>): Promise<void> {
  const got = await runTemplate(template, inputs, attrs, outShape, tuning);
  const want = reference(inputs, attrs, outShape);
  expect(got.length).toBe(want.length);
  // Sums of up to a few thousand products of values in [-1, 1): f32 rounding stays far below this.
  expect(maxRelativeError(got, want)).toBeLessThan(2e-5);
}

describe('matmul template vs CPU reference', () => {
  // [a shape as stored, b shape as stored, transposeA, transposeB]
  const cases: [number[], number[], boolean, boolean][] = [
    [[1, 1], [1, 1], false, false],
    [[7, 5], [5, 3], false, false],
    [[65, 33], [7, 33], false, true],
    [[9, 65], [9, 13], true, false],
    [[13, 6], [10, 13], true, true],
    [[3, 5, 7], [3, 7, 9], false, false],
    [[2, 11, 4], [2, 6, 11], true, true],
    [[4, 9, 17], [17, 5], false, false],
    [[5, 9], [3, 5, 4], true, false],
    [[66, 130], [130, 67], false, false],
  ];
  const tunings: Record<string, number>[] = [{}, { tileM: 3, tileN: 5, unrollK: 4 }, { workgroupTiling: 1 }, { workgroupTiling: 1, tileM: 2, tileN: 3, tileK: 5 }, { storeLoop: 0, tileM: 4, tileN: 3 }];
  it.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_name, [as, bs, ta, tb], i) => {
    const a = randomValue(as, 10 + i);
    const b = randomValue(bs, 20 + i);
    const m = ta ? as[as.length - 1] : as[as.length - 2];
    const n = tb ? bs[bs.length - 2] : bs[bs.length - 1];
    const batch = as.length === 3 ? [as[0]] : bs.length === 3 ? [bs[0]] : [];
    const attrs = { transposeA: ta, transposeB: tb };
    // Every case runs the default tiling (one output per lane below 2²⁰ multiply-adds, which all of
    // these are: tune_matmul_splitk.test.ts has the larger defaults); most also one other (each
    // distinct shape is a pipeline compile of up to a second or two on lavapipe, so not all).
    const other = [0, 2, 3, 1, 2, 3, 1, 4, 4, 2][i];
    for (const tuning of other ? [tunings[0], tunings[other]] : [tunings[0]]) {
      await compare(matmulKernel, dotReference, [a, b], attrs, [...batch, m, n], tuning);
    }
  });
});

interface ConvCase { x: number[]; w: number[]; stride: number[]; pad: number[] }
const convCases: ConvCase[] = [
  { x: [1, 1, 1, 1], w: [1, 1, 1, 1], stride: [1, 1], pad: [0, 0] },
  { x: [2, 3, 9, 11], w: [5, 3, 3, 2], stride: [1, 1], pad: [0, 0] },
  { x: [1, 2, 7, 7], w: [3, 2, 3, 3], stride: [2, 2], pad: [1, 1] },
  { x: [2, 1, 10, 13], w: [9, 1, 5, 5], stride: [1, 2], pad: [2, 1] },
  { x: [3, 4, 8, 6], w: [2, 4, 3, 1], stride: [2, 1], pad: [2, 0] },
  { x: [1, 7, 12, 65], w: [11, 7, 2, 4], stride: [1, 1], pad: [1, 2] },
];

function convOut(c: ConvCase): number[] {
  const oh = Math.floor((c.x[2] + 2 * c.pad[0] - c.w[2]) / c.stride[0]) + 1;
  const ow = Math.floor((c.x[3] + 2 * c.pad[1] - c.w[3]) / c.stride[1]) + 1;
  return [c.x[0], c.w[0], oh, ow];
}

describe('conv2d templates vs CPU references', () => {
  // Alternates: odd tiles, and each of the two ways dw splits its reduction (the default picks
  // the row split for all of these small shapes).
  const alternates: Record<string, number>[] = [
    { splitRows: 0 },
    { tileChannels: 3, tilePixels: 3, workgroupSize: 16 },
    { tileChannels: 5, tilePixels: 2, splitRows: 0 },
  ];
  it.each(convCases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_name, c, i) => {
    const y = convOut(c);
    const x = randomValue(c.x, 30 + i);
    const w = randomValue(c.w, 40 + i);
    const dy = randomValue(y, 50 + i);
    const attrs = { stride: c.stride, pad: c.pad };
    // subgroups: 0 keeps the row-tiled kernels tested on devices that have subgroups.
    for (const tuning of i % 2 === 1 ? [{}, { ...alternates[(i - 1) / 2], subgroups: 0 }] : [{ subgroups: 0 }]) {
      await compare(conv2dKernel, conv2dReference, [x, w], attrs, y, tuning);
      await compare(conv2dBackwardDataKernel, conv2dBackwardDataReference, [dy, w], attrs, c.x, tuning);
      await compare(conv2dBackwardWeightKernel, conv2dBackwardWeightReference, [x, dy], attrs, c.w, tuning);
    }
  });
});

describe('conv2d subgroup kernels vs CPU references', () => {
  // Output channels ≥ the subgroup size S in all three directions (one partial group of lanes),
  // strides and pads, rows split into several tiles with a ragged last one, and workgroups of
  // one subgroup (dw's split across subgroups degenerates to none). Channel counts follow S.
  const cases: [(S: number) => ConvCase, Record<string, number>][] = [
    [(S) => ({ x: [2, S + 1, 7, 60], w: [S + 2, S + 1, 3, 5], stride: [1, 1], pad: [1, 2] }), {}],
    [(S) => ({ x: [1, S, 9, 11], w: [S, S, 3, 3], stride: [2, 2], pad: [1, 1] }), {}],
    [(S) => ({ x: [3, 2 * S, 6, 5], w: [2 * S + 1, 2 * S, 2, 1], stride: [1, 2], pad: [0, 0] }), { workgroupSize: 1 }],
    [(S) => ({ x: [2, S + 4, 11, 101], w: [S, S + 4, 5, 5], stride: [1, 1], pad: [0, 0] }), { lanePixels: 7, tilePixels: 5 }],
    // The unrolled stores (a tuner candidate; the default is a loop), with a ragged last tile.
    [(S) => ({ x: [2, S + 1, 7, 60], w: [S + 2, S + 1, 3, 5], stride: [1, 1], pad: [1, 2] }), { storeLoop: 0, lanePixels: 25 }],
  ];
  it.each(cases.map(([c, t], i) => [`${JSON.stringify(c(8))} at 8 lanes`, c, t, i] as const))('%s', async (_name, caseFor, tuning, i) => {
    const size = await deviceSubgroupSize();
    if (size === 0) {
      console.warn('skipped: this device has no subgroups of one fixed size');
      return;
    }
    const c = caseFor(size);
    const y = convOut(c);
    const x = randomValue(c.x, 80 + i);
    const w = randomValue(c.w, 90 + i);
    const dy = randomValue(y, 100 + i);
    const attrs = { stride: c.stride, pad: c.pad };
    // The template says whether it used subgroups: each of the three must have.
    const ctx = (inShapes: Shape[], outShape: Shape) => ({ inShapes, inDTypes: inShapes.map(() => 'float32' as const), outShape, outDType: 'float32' as const, attrs, tuning, subgroupSize: size });
    expect(conv2dKernel(ctx([c.x, c.w], y)).subgroups).toBe(true);
    expect(conv2dBackwardDataKernel(ctx([y, c.w], c.x)).subgroups).toBe(true);
    expect(conv2dBackwardWeightKernel(ctx([c.x, y], c.w)).subgroups).toBe(true);
    await compare(conv2dKernel, conv2dReference, [x, w], attrs, y, tuning);
    await compare(conv2dBackwardDataKernel, conv2dBackwardDataReference, [dy, w], attrs, c.x, tuning);
    await compare(conv2dBackwardWeightKernel, conv2dBackwardWeightReference, [x, dy], attrs, c.w, tuning);
  });
});

describe('pool2d templates vs CPU references', () => {
  const cases = [
    { x: [2, 3, 8, 8], kernel: [2, 2], stride: [2, 2], pad: [0, 0] },
    { x: [1, 2, 7, 9], kernel: [3, 3], stride: [1, 1], pad: [1, 1] },
    { x: [2, 1, 10, 13], kernel: [3, 2], stride: [2, 3], pad: [1, 0] },
    { x: [1, 1, 1, 1], kernel: [1, 1], stride: [1, 1], pad: [0, 0] },
    // Integer values: windows with tied maxima, where only the first one gets the gradient.
    { x: [1, 2, 5, 6], kernel: [2, 3], stride: [1, 1], pad: [0, 1], ties: true },
    // Tiling windows (one invocation per window), with rows and columns left over past the last.
    { x: [2, 3, 9, 7], kernel: [2, 2], stride: [2, 2], pad: [0, 0], ties: true },
    { x: [1, 2, 11, 10], kernel: [3, 2], stride: [3, 2], pad: [0, 0] },
  ];
  it.each(cases.flatMap((c, i) => (['max', 'avg'] as const).map((t) => [`${t} ${JSON.stringify(c)}`, c, t, i] as const)))(
    '%s', async (_name, c, poolType, i) => {
      const oh = Math.floor((c.x[2] + 2 * c.pad[0] - c.kernel[0]) / c.stride[0]) + 1;
      const ow = Math.floor((c.x[3] + 2 * c.pad[1] - c.kernel[1]) / c.stride[1]) + 1;
      const yShape = [c.x[0], c.x[1], oh, ow];
      const x = randomValue(c.x, 60 + i);
      if (c.ties) x.data.forEach((v, k) => (x.data[k] = Math.round(v * 2)));
      const attrs = { kernel: c.kernel, stride: c.stride, pad: c.pad, poolType };
      await compare(pool2dKernel, pool2dReference, [x], attrs, yShape, {});
      const y: HostValue = { data: pool2dReference([x], attrs, yShape), shape: yShape, dtype: 'float32' };
      await compare(pool2dBackwardKernel, pool2dBackwardReference, [x, y, randomValue(yShape, 70 + i)], attrs, c.x, {});
    });
});
