// The matmul template's K-split tiling (tuning splitK, one of the tuner's candidates) against the
// CPU reference: random shapes, transposes, batches, tiles and lane counts, long K included.
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
