// The matmul template's K-split tiling (tuning splitK, one of the tuner's candidates) and its defaults
// by shape against the CPU reference: random shapes, transposes, batches, tiles and lanes, long K.
import { describe, expect, it } from 'vitest';
import { matmulKernel } from '../src/codegen/kernels/matmul.js';
import { dotReference } from '../src/cpu/kernels.js';
import { maxRelativeError, randomValue, runTemplate } from './kernels_harness.js';

/** xorshift, seeded: each case reproduces from its index. */
function picker(seed: number): (lo: number, hi: number) => number {
  let s = seed * 2654435761 >>> 0 || 1;
  return (lo, hi) => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return lo + (s % (hi - lo + 1));
  };
}

describe('matmul splitK vs CPU reference', () => {
  const cases = Array.from({ length: 8 }, (_, i) => {
    const pick = picker(i + 1);
    const [M, N] = [pick(1, 20), pick(1, 40)];
    // Long K in a few cases (the dense layer after a convolution); K not a multiple of the lanes.
    const K = i % 3 === 0 ? pick(2000, 5000) : pick(1, 300);
    const batch = i % 4 === 1 ? pick(2, 3) : 0;
    const ta = pick(0, 1) === 1;
    const tb = pick(0, 1) === 1;
    const tuning = { splitK: [8, 32, 64, 256, 13][pick(0, 4)], tileM: pick(1, 8), tileN: pick(1, 8) };
    return { M, N, K, batch, ta, tb, tuning, i };
  });
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const aShape = [...(c.batch ? [c.batch] : []), ...(c.ta ? [c.K, c.M] : [c.M, c.K])];
    const bShape = [...(c.batch && c.i % 2 ? [c.batch] : []), ...(c.tb ? [c.N, c.K] : [c.K, c.N])];
    const a = randomValue(aShape, 100 + c.i);
    const b = randomValue(bShape, 200 + c.i);
    const attrs = { transposeA: c.ta, transposeB: c.tb };
    const outShape = [...(c.batch ? [c.batch] : []), c.M, c.N];
    const got = await runTemplate(matmulKernel, [a, b], attrs, outShape, c.tuning);
    const want = dotReference([a, b], attrs, outShape);
    expect(got.length).toBe(want.length);
    // Sums of up to 5000 products of values in [-1, 1), in another order than the reference's.
    expect(maxRelativeError(got, want)).toBeLessThan(1e-4);
  });
});

describe('matmul defaults by shape vs CPU reference', () => {
  // Tiny: one output per lane; long K: the K split; otherwise the 8 × 8 register tile.
  const cases = [
    { name: 'tiny (16x2 · 2x256, the last dense layer input gradient)', M: 16, K: 2, N: 256, ta: false, tb: false, marker: 'var acc0_0 = f32();', absent: 'acc1_0' },
    { name: 'tiny, transposed A', M: 2, K: 16, N: 256, ta: true, tb: false, marker: 'var acc0_0 = f32();', absent: 'acc1_0' },
    { name: 'long K (a dense layer on a flattened convolution)', M: 16, K: 4100, N: 24, ta: false, tb: true, marker: 'kernelPartial', absent: 'acc7_1' },
    { name: 'regular', M: 40, K: 300, N: 96, ta: false, tb: false, marker: 'acc7_1', absent: 'kernelPartial' },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const a = randomValue(c.ta ? [c.K, c.M] : [c.M, c.K], 7);
    const b = randomValue(c.tb ? [c.N, c.K] : [c.K, c.N], 8);
    const attrs = { transposeA: c.ta, transposeB: c.tb };
    const source = matmulKernel({ inShapes: [a.shape, b.shape], inDTypes: ['float32', 'float32'], outShape: [c.M, c.N], outDType: 'float32', attrs, tuning: {}, subgroupSize: 0 });
    expect(source.body).toContain(c.marker);
    expect(source.body).not.toContain(c.absent);
    const got = await runTemplate(matmulKernel, [a, b], attrs, [c.M, c.N], {});
    expect(maxRelativeError(got, dotReference([a, b], attrs, [c.M, c.N]))).toBeLessThan(1e-4);
  });
});
