// Shared by the op tests: random inputs, the CPU reference through a registry-derived host
// namespace, the eager GPU path, and finite-difference gradients on the CPU reference.
import { evaluateAny } from '../src/cpu/host_namespace.js';
import { getOp, type HostValue } from '../src/graph/registry.js';
import { sizeOf, type Attrs, type Shape } from '../src/base/types.js';
import { nd, autograd, type Tensor } from '../src/ndarray/index.js';

export type Domain = 'any' | 'positive' | 'unit' | 'int';

/** mulberry32 (the library's seeded stream): the same numbers on every machine. */
import { seededRandom as rng } from '../src/data/sampler.js';
export { rng };

export function randomHost(shape: Shape, domain: Domain, r: () => number): HostValue {
  const n = sizeOf(shape);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    data[i] = domain === 'positive' ? 0.2 + 2 * u : domain === 'unit' ? 0.05 + 0.9 * u : domain === 'int' ? Math.floor(u * 5) : 4 * u - 2;
  }
  return { data, shape, dtype: 'float32' };
}

export function toTensor(h: HostValue): Tensor {
  return nd.array(h.data, { shape: [...h.shape], dtype: h.dtype });
}

/** Calls an op through `nd` with its inputs and attributes (attributes by name). */
export function callEager(name: string, inputs: readonly Tensor[], attrs: Attrs): Tensor {
  const op = getOp(name);
  const table = nd as unknown as Record<string, (...args: unknown[]) => Tensor>;
  const args: unknown[] = op.inputs[0]?.startsWith('...') ? [inputs] : [...inputs];
  return table[name](...args, attrs);
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}: element ${i} is ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** d(sum(w * op(x)))/dx_k by central differences on the CPU reference, in float64 steps. */
export function numericGradient(name: string, inputs: readonly HostValue[], attrs: Attrs, k: number, w: Float32Array, h = 2e-3): Float64Array {
  const x = inputs[k];
  const g = new Float64Array(x.data.length);
  const loss = (vals: readonly HostValue[]) => {
    const out = evaluateAny(name, vals, attrs);
    let s = 0;
    for (let i = 0; i < out.data.length; i++) s += w[i] * out.data[i];
    return s;
  };
  for (let i = 0; i < x.data.length; i++) {
    const plus = Float32Array.from(x.data);
    const minus = Float32Array.from(x.data);
    plus[i] += h;
    minus[i] -= h;
    const with_ = (d: Float32Array) => inputs.map((v, j) => (j === k ? { ...v, data: d } : v));
    g[i] = (loss(with_(plus)) - loss(with_(minus))) / (2 * h);
  }
  return g;
}

/** Eager GPU gradients of sum(w * op(x)) w.r.t. each input. */
export async function eagerGradients(name: string, inputs: readonly HostValue[], attrs: Attrs, w: Float32Array, wrt: readonly number[]): Promise<Float32Array[]> {
  const xs = inputs.map(toTensor);
  for (const k of wrt) xs[k].attachGrad();
  const out = autograd.record(() => callEager(name, xs, attrs));
  const loss = autograd.record(() => nd.sum(nd.mul(out, nd.array(w, { shape: [...out.shape] }))));
  loss.backward();
  return Promise.all(wrt.map(async (k) => (await xs[k].grad!.data()) as Float32Array));
}
