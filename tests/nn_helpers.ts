// Shared by the nn tests: small deterministic random data and closeness checks.
import { expect } from 'vitest';
import { rng } from './op_harness.js';

export function randArray(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

export const relu = (x: number) => Math.max(0, x);
export const softrelu = (x: number) => Math.max(0, x) + Math.log1p(Math.exp(-Math.abs(x)));
export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
