// Random sources: counter-based (a hash of seed and element index), so the CPU reference and
// the GPU produce the same numbers and a compiled plan needs no RNG state on the device.
import { defineOp } from '../graph/registry.js';
import { f32 } from '../codegen/literals.js';

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    randomUniform(opts: { shape: readonly number[]; lo?: number; hi?: number; seed: number }): T;
    randomNormal(opts: { shape: readonly number[]; mean?: number; std?: number; seed: number }): T;
  }
}

/** PCG-style 32-bit hash; the WGSL twin is `wg_hash` in the prelude. */
export function hash32(v: number): number {
  let s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  s = ((w >>> 22) ^ w) >>> 0;
  return s;
}
/** Uniform in [0, 1) from (seed, index, stream), using 24 bits so f32 represents it exactly. */
export function uniform01(seed: number, index: number, stream: number): number {
  const h = hash32((hash32((seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0) + index) >>> 0);
  return (h >>> 8) / 16777216;
}
/** The seed is an expression (a literal, or a value read at run time): one pipeline for every draw. */
const wgslUniform = (seed: string, index: string, stream: number) =>
  `wg_uniform01(${seed} ^ ${Math.imul(stream, 0x9e3779b9) >>> 0}u, ${index})`;

const shapeAttr = (_s: unknown, attrs: Record<string, unknown>) => [...(attrs.shape as number[])];

defineOp({
  name: 'randomUniform', kind: 'source', inputs: [], attrs: { shape: undefined, lo: 0, hi: 1, seed: 0 },
  shape: shapeAttr, dtype: () => 'float32',
  wgsl: (i, { lo, hi }, u32) => `(${f32(lo as number)} + (${f32(hi as number)} - ${f32(lo as number)}) * ${wgslUniform(u32('seed'), i, 0)})`,
  cpu: (i, { lo, hi, seed }) => Math.fround((lo as number) + ((hi as number) - (lo as number)) * uniform01(seed as number, i, 0)),
});
// Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
defineOp({
  name: 'randomNormal', kind: 'source', inputs: [], attrs: { shape: undefined, mean: 0, std: 1, seed: 0 },
  shape: shapeAttr, dtype: () => 'float32',
  wgsl: (i, { mean, std }, u32) =>
    `(${f32(mean as number)} + ${f32(std as number)} * sqrt(-2.0 * log(1.0 - ${wgslUniform(u32('seed'), i, 0)})) * cos(6.2831853 * ${wgslUniform(u32('seed'), i, 1)}))`,
  cpu: (i, { mean, std, seed }) =>
    (mean as number) + (std as number) * Math.sqrt(-2 * Math.log(1 - uniform01(seed as number, i, 0))) * Math.cos(6.2831853 * uniform01(seed as number, i, 1)),
});
