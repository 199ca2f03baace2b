// Shared by the compile tests: random host data, tensors, CPU-reference evaluation of a traced
// graph and its autodiff graph, and closeness checks.
import { evaluateGraph } from '../src/cpu/reference.js';
import { autodiff } from '../src/graph/autodiff.js';
import type { HostValue } from '../src/graph/registry.js';
import { trace, type TraceFn } from '../src/graph/trace.js';
import { sizeOf, type Shape } from '../src/base/types.js';
import { nd, type Tensor } from '../src/ndarray/index.js';

/** mulberry32 (the library's seeded stream): the same numbers on every machine. */
import { seededRandom as rng } from '../src/data/sampler.js';
export { rng };

export function randomHost(shape: Shape, r: () => number, lo = -2, hi = 2): HostValue {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return { data, shape, dtype: 'float32' };
}

export const toTensor = (h: HostValue): Tensor => nd.array(h.data, { shape: [...h.shape], dtype: h.dtype });

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-5): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`${what}: element ${i} is ${a}, expected ${e}`);
  }
}

/** CPU reference: forward outputs and gradients of sum(w_k * out_k) w.r.t. every input. */
export function cpuReference(fn: TraceFn, inputs: readonly HostValue[], heads?: HostValue[]): { outs: HostValue[]; grads: HostValue[]; heads: HostValue[] } {
  const g = trace(fn, inputs.map((x, i) => ({ shape: x.shape, dtype: x.dtype, name: `x${i}` })));
  const vals = new Map(g.inputs.map((n, i) => [n, inputs[i]] as const));
  const outs = evaluateGraph(g, vals);
  const hs = heads ?? outs.map((o) => ({ data: new Float32Array(o.data.length).fill(1), shape: o.shape, dtype: 'float32' as const }));
  const b = autodiff(g, g.inputs);
  const bvals = new Map(b.graph.inputs.map((n, i) => [n, i < inputs.length ? inputs[i] : undefined] as const));
  b.heads.forEach((h, i) => bvals.set(h, hs[i]));
  const fvals = evaluateGraph({ ...g, outputs: b.saved } as never, vals);
  b.savedInputs.forEach((s, i) => bvals.set(s, fvals[i]));
  const grads = evaluateGraph(b.graph, bvals as Map<never, HostValue>);
  return { outs, grads, heads: hs };
}
