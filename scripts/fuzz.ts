// Differential fuzzer of the compiler: random op graphs and random small Blocks, each run four
// ways — the CPU reference (host namespace, and the traced graph with its autodiff graph), eager
// on the GPU (one kernel per op, tape gradients) and compiled (hybridize: fused kernels, planned
// memory) — comparing forward values and gradients. Smooth graphs also get a finite-difference
// check of their gradients on the CPU, which shares nothing with the registry's gradient rules.
//
//   node --import tsx scripts/fuzz.ts --count 300 --seed 1 [--kind graph|block|both] [--sizes small|mixed|big]
//                                     [--stop] [--verbose] [--case graph:SEED | block:SEED]
//
// A failure prints the case as code (the program of a graph case, the layers of a block case)
// so that it can become a regression test.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostTensor, host } from '../src/cpu/host_namespace.js';
import { evaluateGraph } from '../src/cpu/reference.js';
import { autodiff } from '../src/graph/autodiff.js';
import { compileFunction } from '../src/compiler/compile.js';
import { getOp, type HostValue } from '../src/graph/registry.js';
import { trace, type TraceFn } from '../src/graph/trace.js';
import { sizeOf, type AttrValue, type Shape } from '../src/base/types.js';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import { flush } from '../src/runtime/executor.js';

// ---------------------------------------------------------------- random numbers

/** mulberry32 (the library's seeded stream): the same numbers on every machine. */
import { seededRandom as rng } from '../src/data/sampler.js';
export { rng };

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function randomHost(shape: Shape, r: Rng, lo = -2, hi = 2): HostTensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return new HostTensor(data, [...shape], 'float32');
}

// ---------------------------------------------------------------- programs (random graphs)

/** An argument: the index of an earlier value, or a number constant. */
export type Arg = number | { c: number };
export interface Step {
  op: string;
  args: Arg[];
  attrs: Record<string, AttrValue>;
}
export interface Program {
  inputs: Shape[];
  steps: Step[];
  /** Indices of the returned values (inputs first, then one value per step). */
  outputs: number[];
}

type Namespace = Record<string, (...a: unknown[]) => unknown>;

function applyStep<V>(F: unknown, step: Step, vals: readonly V[]): V {
  const table = F as Namespace;
  const xs = step.args.map((a) => (typeof a === 'number' ? vals[a] : a.c));
  const attrs = { ...step.attrs };
  if (getOp(step.op).inputs[0]?.startsWith('...')) return table[step.op](xs, attrs) as V;
  return table[step.op](...xs, attrs) as V;
}

/** The program as a function of F (nd, sym or the CPU host namespace). */
export function programFn(p: Program): (F: unknown, ...xs: unknown[]) => unknown[] {
  return (F, ...xs) => {
    const vals: unknown[] = [...xs];
    for (const s of p.steps) vals.push(applyStep(F, s, vals));
    return p.outputs.map((i) => vals[i]);
  };
}

/** The program as TypeScript, for a failure report or a regression test. */
export function programCode(p: Program): string {
  const name = (i: number) => (i < p.inputs.length ? `x${i}` : `v${i}`);
  const arg = (a: Arg) => (typeof a === 'number' ? name(a) : String(a.c));
  const lines = p.steps.map((s, k) => {
    const args = getOp(s.op).inputs[0]?.startsWith('...') ? [`[${s.args.map(arg).join(', ')}]`] : s.args.map(arg);
    const attrs = Object.keys(s.attrs).length ? [JSON.stringify(s.attrs)] : [];
    return `  const ${name(p.inputs.length + k)} = F.${s.op}(${[...args, ...attrs].join(', ')});`;
  });
  return `// inputs: ${p.inputs.map((s) => JSON.stringify(s)).join(', ')}\n` +
    `(F, ${p.inputs.map((_, i) => `x${i}`).join(', ')}) => {\n${lines.join('\n')}\n  return [${p.outputs.map(name).join(', ')}];\n}`;
}

const UNARY = ['neg', 'abs', 'square', 'tanh', 'sigmoid', 'relu', 'softrelu', 'softsign', 'sign', 'identity'] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'] as const;
const REDUCE = ['sum', 'mean', 'max', 'min'] as const;
/** Ops whose gradient has kinks or steps: a finite difference across one is meaningless. */
const NONSMOOTH = new Set(['abs', 'relu', 'sign', 'maximum', 'minimum', 'max', 'min', 'clip', 'where', 'greater', 'lesser', 'argmax', 'pick']);

function stats(v: HostTensor): { min: number; max: number; absMax: number; finite: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let finite = true;
  for (const x of v.data) {
    if (!Number.isFinite(x)) finite = false;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max, absMax: Math.max(Math.abs(min), Math.abs(max)), finite };
}

/** Sizes around the kernels' tile and workgroup edges (8×8 matmul tiles, 4×8 conv tiles, 64-wide groups). */
const EDGE_SIZES = [7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 129] as const;

/** Small shapes, or (big) shapes with sizes at tile edges, at most ~8k elements. */
function randomShape(r: Rng, big = false): number[] {
  const rank = int(r, 1, 3);
  if (!big) return Array.from({ length: rank }, () => (r() < 0.15 ? 1 : int(r, 2, 5)));
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const room = Math.floor(8192 / Math.max(1, shape.reduce((a, b) => a * b, 1)));
    const fits = EDGE_SIZES.filter((d) => d <= room);
    shape.push(fits.length && r() < 0.8 ? pick(r, fits) : int(r, 1, Math.max(1, Math.min(5, room))));
  }
  return shape;
}

/** A shape that broadcasts against `s`: drop leading axes, set some to 1. */
function broadcastPartner(r: Rng, s: Shape): number[] {
  const drop = int(r, 0, s.length - 1);
  return s.slice(drop).map((d) => (r() < 0.3 ? 1 : d));
}

function factorizations(n: number): number[][] {
  const out: number[][] = [[n]];
  for (let a = 2; a <= n; a++) {
    if (n % a) continue;
    out.push([a, n / a]);
    const m = n / a;
    for (let b = 2; b <= m; b++) if (m % b === 0 && m / b > 1) out.push([a, b, m / b]);
  }
  return out;
}

function permutation(r: Rng, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = int(r, 0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Candidate steps for the current values; `null` when this kind does not fit. */
function candidate(r: Rng, vals: readonly HostTensor[], indices: ReadonlySet<number>): Step[] | null {
  const n = vals.length;
  const a = int(r, 0, n - 1);
  // argmax results are indices: only pick reads them (anything else would need their gradient).
  if (indices.has(a)) return null;
  const x = vals[a];
  const s = x.shape;
  const st = stats(x);
  const kind = r();
  if (kind < 0.22) {
    const op = pick(r, [...UNARY, 'exp', 'sqrt', 'log', 'log1p']);
    if (op === 'exp' && st.absMax > 3) return null;
    if ((op === 'sqrt' || op === 'log') && st.min < 0.05) return null;
    if (op === 'log1p' && st.min < -0.9) return null;
    return [{ op, args: [a], attrs: {} }];
  }
  if (kind < 0.45) {
    const op = pick(r, BINARY);
    if (r() < 0.25) {
      const c = { c: Math.round((r() * 4 - 2) * 4) / 4 || 0.5 };
      if (op === 'pow') return st.min > 0.1 ? [{ op, args: [a, { c: pick(r, [2, 0.5, 3, -1]) }], attrs: {} }] : null;
      if (op === 'div') return r() < 0.5 ? [{ op, args: [a, { c: c.c || 2 }], attrs: {} }] : st.min > 0.1 || st.max < -0.1 ? [{ op, args: [c, a], attrs: {} }] : null;
      return [{ op, args: r() < 0.5 ? [a, c] : [c, a], attrs: {} }];
    }
    const partners = vals.map((v, i) => i).filter((i) => {
      if (indices.has(i)) return false;
      try {
        getOp('add').shape([s, vals[i].shape], {});
        return true;
      } catch {
        return false;
      }
    });
    const b = pick(r, partners);
    const y = stats(vals[b]);
    if (op === 'div' && !(y.min > 0.1 || y.max < -0.1)) return null;
    if (op === 'pow' && !(st.min > 0.1 && y.absMax <= 3)) return null;
    return [{ op, args: r() < 0.5 ? [a, b] : [b, a], attrs: {} }];
  }
  if (kind < 0.5) {
    const partners = vals.map((v, i) => i).filter((i) => !indices.has(i) && vals[i].shape.join() === s.join());
    const b = pick(r, partners);
    return [{ op: pick(r, ['greater', 'lesser']), args: [a, b], attrs: {} }, { op: 'where', args: [n, a, b], attrs: {} }];
  }
  if (kind < 0.54) {
    const lo = Math.round(r() * -8) / 4;
    return [{ op: 'clip', args: [a], attrs: { lo, hi: lo + 0.25 + Math.round(r() * 8) / 4 } }];
  }
  if (kind < 0.68) {
    const op = pick(r, REDUCE);
    const keepdims = r() < 0.5;
    const mode = r();
    let axis: AttrValue = null;
    if (mode < 0.45) axis = int(r, 0, s.length - 1) - (r() < 0.3 ? s.length : 0);
    else if (mode < 0.8 && s.length > 1) axis = s.map((_, i) => i).filter(() => r() < 0.5);
    if (Array.isArray(axis) && axis.length === 0) axis = [0];
    return [{ op, args: [a], attrs: { axis, keepdims } }];
  }
  if (kind < 0.74) {
    if (s.length === 0) return null;
    return [{ op: pick(r, ['softmax', 'logSoftmax']), args: [a], attrs: { axis: int(r, 0, s.length - 1) - (r() < 0.5 ? s.length : 0) } }];
  }
  if (kind < 0.88) {
    const which = int(r, 0, 6);
    const size = sizeOf(s);
    if (which === 0) return [{ op: 'reshape', args: [a], attrs: { shape: pick(r, factorizations(size)) } }];
    if (which === 1 && s.length >= 2) return [{ op: 'transpose', args: [a], attrs: { axes: r() < 0.3 ? null : permutation(r, s.length) } }];
    if (which === 2 && s.length <= 3) {
      const axis = int(r, 0, s.length);
      const to = [...s.slice(0, axis), int(r, 2, 3), ...s.slice(axis)];
      return [{ op: 'expandDims', args: [a], attrs: { axis } }, { op: 'broadcastTo', args: [n], attrs: { shape: to } }];
    }
    if (which === 3 && s.length >= 2) return [{ op: 'flatten', args: [a], attrs: {} }];
    if (which === 4 && s.some((d) => d > 1)) {
      const begin = s.map((d) => int(r, 0, Math.max(0, d - 2)));
      const end = s.map((d, i) => int(r, begin[i] + 1, d));
      return [{ op: 'slice', args: [a], attrs: { begin, end } }];
    }
    if (which === 5 && s.length >= 1) {
      const axis = int(r, 0, s.length - 1);
      const partners = vals.map((v, i) => i).filter((i) => !indices.has(i) && vals[i].shape.length === s.length && vals[i].shape.every((d, k) => k === axis || d === s[k]));
      return [{ op: 'concat', args: [a, pick(r, partners)], attrs: { axis } }];
    }
    if (which === 6 && s.includes(1)) return [{ op: 'squeeze', args: [a], attrs: {} }];
    return null;
  }
  if (kind < 0.96) {
    // dot: (m, k) · (k, n), possibly transposed; batched for rank 3.
    if (s.length < 2 || s.length > 3) return null;
    const k = s[s.length - 1];
    const partners = vals.map((v, i) => i).filter((i) => !indices.has(i) && vals[i].shape.length === s.length &&
      (s.length === 2 || vals[i].shape[0] === s[0]) && vals[i].shape.slice(-2).includes(k));
    if (!partners.length) return null;
    const b = pick(r, partners);
    const bs = vals[b].shape;
    const transposeB = bs[bs.length - 1] === k && (bs[bs.length - 2] !== k || r() < 0.5);
    if (st.absMax * stats(vals[b]).absMax * Math.sqrt(k) > 30) return null;
    return [{ op: 'dot', args: [a, b], attrs: transposeB ? { transposeB: true } : {} }];
  }
  if (s.length === 0) return null;
  const axis = int(r, 0, s.length - 1);
  return [{ op: 'argmax', args: [a], attrs: { axis } }, { op: 'pick', args: [a, n], attrs: { axis, keepdims: r() < 0.5 } }];
}

/** A random program; values are evaluated on the CPU as it grows, so that every step is valid and finite. */
export function randomProgram(seed: number, opts: { big?: boolean } = {}): Program {
  const r = rng(seed);
  // One case in four uses sizes at the kernels' tile edges (unless opts.big says).
  const roll = r() < 0.25;
  const big = opts.big ?? roll;
  const first = randomShape(r, big);
  const inputs: Shape[] = [first];
  const nIn = int(r, 1, 3);
  for (let i = 1; i < nIn; i++) {
    if (big && first.length === 2 && r() < 0.5) inputs.push([first[1], pick(r, EDGE_SIZES.filter((d) => d * first[1] <= 8192))]);
    else inputs.push(r() < 0.6 ? broadcastPartner(r, first) : r() < 0.5 ? [...first] : randomShape(r, big));
  }
  const vals: HostTensor[] = inputs.map((s) => randomHost(s, rng(seed * 7 + 1)));
  const steps: Step[] = [];
  const indices = new Set<number>();
  const target = big ? int(r, 3, 8) : int(r, 3, 14);
  for (let attempts = 0; steps.length < target && attempts < 400; attempts++) {
    const c = candidate(r, vals, indices);
    if (!c) continue;
    const added: HostTensor[] = [];
    try {
      for (const step of c) {
        const v = applyStep<HostTensor>(host, step, [...vals, ...added]);
        const st = stats(v);
        if (!st.finite || st.absMax > 40 || v.data.length === 0) throw new Error('out of range');
        added.push(v);
      }
    } catch {
      continue;
    }
    c.forEach((step, k) => step.op === 'argmax' && indices.add(vals.length + k));
    steps.push(...c);
    vals.push(...added);
  }
  // Outputs: the last float value, and sometimes a second one (multi-output plans), or an input.
  const isFloat = (i: number) => vals[i].dtype === 'float32' && !indices.has(i);
  const outputs = [vals.length - 1];
  while (!isFloat(outputs[0])) outputs[0]--;
  if (r() < 0.4) {
    const other = int(r, 0, vals.length - 1);
    if (isFloat(other) && !outputs.includes(other)) outputs.push(other);
  }
  return { inputs, steps, outputs };
}

// ---------------------------------------------------------------- comparisons

export class Mismatch extends Error {}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Element-wise closeness, with an absolute floor relative to the largest expected value. */
export function compare(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 2e-3, atolScale = 2e-4): void {
  if (actual.length !== expected.length) throw new Mismatch(`${what}: ${actual.length} values, expected ${expected.length}`);
  const atol = 1e-5 + atolScale * Math.max(1, maxAbs(expected));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Mismatch(`${what}: element ${i} is ${a}, expected ${e} (of ${expected.length}; max |expected| ${maxAbs(expected).toPrecision(3)})`);
    }
  }
}

const toTensor = (h: HostValue): Tensor => nd.array(h.data, { shape: [...h.shape], dtype: h.dtype });

/** CPU reference through the traced graph: outputs, and gradients of Σ sum(head_k · out_k). */
function graphReference(fn: TraceFn, inputs: readonly HostValue[], heads: readonly HostValue[]): { outs: HostValue[]; grads: HostValue[] } {
  const g = trace(fn, inputs.map((x, i) => ({ shape: x.shape, dtype: x.dtype, name: `x${i}` })));
  const vals = new Map(g.inputs.map((node, i) => [node, inputs[i]] as const));
  const outs = evaluateGraph(g, vals);
  const b = autodiff(g, g.inputs);
  const bvals = new Map<unknown, HostValue | undefined>(b.graph.inputs.map((node, i) => [node, i < inputs.length ? inputs[i] : undefined] as const));
  b.heads.forEach((h, i) => bvals.set(h, heads[i]));
  const saved = evaluateGraph({ ...g, outputs: b.saved } as never, vals);
  b.savedInputs.forEach((s, i) => bvals.set(s, saved[i]));
  const grads = evaluateGraph(b.graph, bvals as never);
  return { outs, grads };
}

function weightedSum(F: Namespace, outs: readonly unknown[], heads: readonly unknown[]): unknown {
  return outs.map((o, k) => F.sum(F.mul(o, heads[k]))).reduce((p, q) => F.add(p, q));
}

// ---------------------------------------------------------------- one graph case

export interface CaseResult {
  kind: 'graph' | 'block';
  seed: number;
  ok: boolean;
  /** The case as code (program or layer list). */
  code: string;
  error?: string;
  /** Number of arrays compared. */
  checks: number;
  fd?: 'passed' | 'skipped' | 'inconclusive';
}

/** compare() that counts the arrays it checked, for a case's report. */
function countedCompare(): { check: (what: string, a: ArrayLike<number>, e: ArrayLike<number>, rtol?: number) => void; count: () => number } {
  let checks = 0;
  return {
    check: (what, a, e, rtol) => {
      compare(what, a, e, rtol);
      checks++;
    },
    count: () => checks,
  };
}

export async function runGraphCase(seed: number, program = randomProgram(seed)): Promise<CaseResult> {
  const code = programCode(program);
  const counted = countedCompare();
  const check = counted.check;
  let fdResult: CaseResult['fd'] = 'skipped';
  try {
    const r = rng(seed * 31 + 7);
    const hosts = program.inputs.map((s) => randomHost(s, rng(seed * 7 + 1)));
    const fn = programFn(program);
    const hostOuts = fn(host, ...hosts) as HostTensor[];
    const heads = hostOuts.map((o) => randomHost(o.shape, r));
    const ref = graphReference(fn as unknown as TraceFn, hosts, heads);
    hostOuts.forEach((o, k) => check(`CPU graph vs CPU host namespace, output ${k}`, ref.outs[k].data, o.data, 1e-5));

    // Eager on the GPU, gradients from the tape.
    const ex = hosts.map(toTensor);
    ex.forEach((x) => x.attachGrad());
    const hs = heads.map(toTensor);
    let eouts: Tensor[] = [];
    const eloss = autograd.record(() => {
      eouts = fn(nd, ...ex) as Tensor[];
      return weightedSum(nd as unknown as Namespace, eouts, hs) as Tensor;
    });
    eloss.backward();
    for (let k = 0; k < eouts.length; k++) check(`eager output ${k}`, await eouts[k].data(), ref.outs[k].data);
    for (let i = 0; i < ex.length; i++) check(`eager gradient of x${i}`, await ex[i].grad!.data(), ref.grads[i].data);

    // Compiled: inference plan, then training plans twice (the second run reuses planned memory).
    const f = compileFunction(fn as unknown as TraceFn, { name: `fuzz${seed}` });
    const cx = hosts.map(toTensor);
    const pouts = [f(...cx)].flat();
    for (let k = 0; k < pouts.length; k++) check(`compiled inference output ${k}`, await pouts[k].data(), ref.outs[k].data);
    cx.forEach((x) => x.attachGrad());
    for (const run of [1, 2]) {
      let couts: Tensor[] = [];
      const closs = autograd.record(() => {
        couts = [f(...cx)].flat();
        return weightedSum(nd as unknown as Namespace, couts, hs) as Tensor;
      });
      closs.backward();
      for (let k = 0; k < couts.length; k++) check(`compiled training output ${k} (run ${run})`, await couts[k].data(), ref.outs[k].data);
      for (let i = 0; i < cx.length; i++) check(`compiled gradient of x${i} (run ${run})`, await cx[i].grad!.data(), ref.grads[i].data);
    }
    await flush();

    // Finite differences on the CPU along a random direction (unless the segment crosses a kink).
    fdResult = directionalCheck(program, hosts, heads, ref.grads, r);
    const checks = counted.count() + (fdResult === 'passed' ? 1 : 0);
    return { kind: 'graph', seed, ok: true, code, checks, fd: fdResult };
  } catch (e) {
    return { kind: 'graph', seed, ok: false, code, checks: counted.count(), error: describeError(e), fd: fdResult };
  }
}

function describeError(e: unknown): string {
  if (e instanceof Mismatch) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n') ?? ''}` : String(e);
}

/** Every value of the program (inputs, then one per step), on the CPU. */
function programValues(p: Program, xs: readonly HostTensor[]): HostTensor[] {
  const vals: HostTensor[] = [...xs];
  for (const s of p.steps) vals.push(applyStep<HostTensor>(host, s, vals));
  return vals;
}

/**
 * Which piece of a piecewise op each element is on (the sign of a relu input, the winner of a
 * maximum, the arg of a max...): equal signatures at both ends of a segment mean the program is
 * smooth along it, so a finite difference there measures the gradient.
 */
function branchSignature(p: Program, vals: readonly HostTensor[]): string {
  const H = host as unknown as Namespace;
  const val = (a: Arg) => (typeof a === 'number' ? vals[a] : new HostTensor(Float32Array.of(a.c), [], 'float32'));
  const parts: string[] = [];
  for (const [k, s] of p.steps.entries()) {
    const x = val(s.args[0]);
    let sig: HostTensor | null = null;
    if (s.op === 'relu' || s.op === 'abs' || s.op === 'sign') sig = H.sign(x) as HostTensor;
    else if (s.op === 'maximum' || s.op === 'minimum') sig = H.sign(H.sub(x, val(s.args[1]))) as HostTensor;
    else if (s.op === 'clip') sig = H.add(H.lesser(x, s.attrs.lo as number), H.mul(2, H.greater(x, s.attrs.hi as number))) as HostTensor;
    else if (s.op === 'max' || s.op === 'min') sig = H.equal(x, H[s.op](x, { axis: s.attrs.axis, keepdims: true })) as HostTensor;
    else if (NONSMOOTH.has(s.op)) sig = vals[p.inputs.length + k];
    if (sig) parts.push(Array.from(sig.data).join(','));
  }
  return parts.join('|');
}

/** (L(x + εd) − L(x − εd)) / 2ε against Σ <grad, d>, at two ε; inconclusive when the two disagree. */
function directionalCheck(p: Program, hosts: readonly HostTensor[], heads: readonly HostTensor[],
  grads: readonly HostValue[], r: Rng): 'passed' | 'skipped' | 'inconclusive' {
  const dirs = hosts.map((h) => randomHost(h.shape, r, -1, 1));
  let analytic = 0;
  grads.forEach((g, i) => g.data.forEach((v, j) => (analytic += v * dirs[i].data[j])));
  const at = (eps: number) => programValues(p, hosts.map((h, i) =>
    new HostTensor(h.data.map((v, j) => v + eps * dirs[i].data[j]) as Float32Array, h.shape, 'float32')));
  const loss = (vals: readonly HostTensor[]) => {
    let total = 0;
    p.outputs.forEach((o, k) => vals[o].data.forEach((v, j) => (total += v * heads[k].data[j])));
    return total;
  };
  const centre = branchSignature(p, at(0));
  const estimates: number[] = [];
  for (const eps of [1e-2, 5e-3]) {
    const [plus, minus] = [at(eps), at(-eps)];
    if (branchSignature(p, plus) !== centre || branchSignature(p, minus) !== centre) return 'skipped';
    estimates.push((loss(plus) - loss(minus)) / (2 * eps));
  }
  const [a, b] = estimates;
  const tol = (x: number) => 0.02 * (Math.abs(x) + Math.abs(analytic)) + 2e-3;
  if (Math.abs(a - b) > tol(a)) return 'inconclusive';
  if (Math.abs(b - analytic) > tol(b)) {
    throw new Mismatch(`finite differences: the directional derivative is ${b.toPrecision(6)} (ε 5e-3; ${a.toPrecision(6)} at 1e-2), the gradients give ${analytic.toPrecision(6)}`);
  }
  return 'passed';
}

// ---------------------------------------------------------------- random Blocks

export type LayerSpec =
  | { type: 'conv'; channels: number; kernel: number; stride: number; pad: number; act: string | null }
  | { type: 'pool'; pool: 'max' | 'avg'; size: number; stride: number }
  | { type: 'act'; act: string }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; act: string | null; flatten: boolean };

export type LossName = 'l2' | 'l1' | 'huber' | 'sbce' | 'sce' | 'kl' | 'hinge' | 'logistic';

export interface BlockCase {
  input: number[];
  layers: LayerSpec[];
  /** Two inputs through the same tower as one batch, then split (the tutorial's Siamese network). */
  twin?: boolean;
  /** A loss applied to the output, with a random label as one more input. */
  loss?: LossName | null;
}

const LOSSES: readonly LossName[] = ['l2', 'l1', 'huber', 'sbce', 'sce', 'kl', 'hinge', 'logistic'];

/** Twin towers and a final loss are decided after the layers, from a separate stream. */
function decorate(seed: number, c: BlockCase): BlockCase {
  const r = rng(seed * 3 + 11);
  const twin = r() < 0.3;
  let loss: LossName | null = r() < 0.4 ? pick(r, LOSSES) : null;
  if (loss === 'sce' && blockOutputRank(c) !== 2) loss = 'l2';
  return { ...c, twin, loss };
}

/** Rank of the tower's output: Dense and Flatten make 2-D (Dense without flatten keeps the rank). */
function blockOutputRank(c: BlockCase): number {
  let rank = c.input.length;
  for (const l of c.layers) {
    if (l.type === 'flatten' || (l.type === 'dense' && l.flatten)) rank = 2;
  }
  return rank;
}

const ACTS = ['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'];

export function randomBlock(seed: number, opts: { big?: boolean } = {}): BlockCase {
  const r = rng(seed);
  const layers: LayerSpec[] = [];
  let shape: number[];
  // One case in four has channel counts and sizes at the conv and matmul tile edges (unless opts.big says).
  const roll = r() < 0.25;
  const big = opts.big ?? roll;
  const channelsOf = () => (big ? pick(r, [3, 4, 5, 8, 9, 17]) : int(r, 1, 4));
  const unitsOf = () => (big ? pick(r, [7, 8, 9, 16, 17, 33]) : int(r, 1, 7));
  if (r() < 0.6) {
    shape = big ? [int(r, 1, 2), pick(r, [1, 3, 5, 9]), int(r, 9, 20), int(r, 9, 20)] : [int(r, 1, 3), int(r, 1, 3), int(r, 5, 10), int(r, 5, 10)];
    const input = [...shape];
    const nConv = int(r, 1, 4);
    for (let i = 0; i < nConv; i++) {
      const [, , h, w] = shape;
      const roll = r();
      if (roll < 0.55) {
        const kernel = int(r, 1, Math.min(big ? 5 : 3, h, w));
        const pad = r() < 0.3 && kernel > 1 ? 1 : 0;
        const stride = r() < 0.25 ? 2 : 1;
        const oh = Math.floor((h + 2 * pad - kernel) / stride) + 1;
        const ow = Math.floor((w + 2 * pad - kernel) / stride) + 1;
        if (oh < 1 || ow < 1) continue;
        const channels = channelsOf();
        layers.push({ type: 'conv', channels, kernel, stride, pad, act: r() < 0.6 ? pick(r, ACTS) : null });
        shape = [shape[0], channels, oh, ow];
      } else if (roll < 0.85) {
        const size = Math.min(2, h, w);
        const stride = r() < 0.3 ? 1 : size;
        layers.push({ type: 'pool', pool: r() < 0.6 ? 'max' : 'avg', size, stride });
        shape = [shape[0], shape[1], Math.floor((h - size) / stride) + 1, Math.floor((w - size) / stride) + 1];
      } else layers.push({ type: 'act', act: pick(r, ACTS) });
    }
    if (r() < 0.3) layers.push({ type: 'flatten' });
    const nDense = int(r, 0, 2);
    for (let i = 0; i < nDense; i++) layers.push({ type: 'dense', units: unitsOf(), act: r() < 0.5 ? pick(r, ACTS) : null, flatten: true });
    return decorate(seed, { input, layers });
  }
  const input = big ? [pick(r, [1, 8, 9, 17, 33]), pick(r, [7, 16, 17, 65])]
    : r() < 0.3 ? [int(r, 1, 4), int(r, 2, 3), int(r, 1, 6)] : [int(r, 1, 5), int(r, 1, 9)];
  const nDense = int(r, 1, 3);
  for (let i = 0; i < nDense; i++) {
    if (r() < 0.25) layers.push({ type: 'act', act: pick(r, ACTS) });
    // flatten: false keeps leading axes (x · Wᵀ over the last one).
    layers.push({ type: 'dense', units: unitsOf(), act: r() < 0.5 ? pick(r, ACTS) : null, flatten: input.length === 2 || r() < 0.5 });
  }
  return decorate(seed, { input, layers });
}

export function blockCode(c: BlockCase): string {
  const layer = (l: LayerSpec) => {
    switch (l.type) {
      case 'conv': return `new gluon.nn.Conv2D(${l.channels}, ${l.kernel}, { strides: ${l.stride}, padding: ${l.pad}, activation: ${JSON.stringify(l.act)} })`;
      case 'pool': return `new gluon.nn.${l.pool === 'max' ? 'MaxPool2D' : 'AvgPool2D'}({ poolSize: ${l.size}, strides: ${l.stride} })`;
      case 'act': return `new gluon.nn.Activation('${l.act}')`;
      case 'flatten': return 'new gluon.nn.Flatten()';
      case 'dense': return `new gluon.nn.Dense(${l.units}, { activation: ${JSON.stringify(l.act)}, flatten: ${l.flatten} })`;
    }
  };
  return `// input ${JSON.stringify(c.input)}${c.twin ? ', twin towers (concat → tower → slice → subtract)' : ''}` +
    `${c.loss ? `, then loss '${c.loss}'` : ''}\nnew gluon.nn.HybridSequential().add(\n  ${c.layers.map(layer).join(',\n  ')},\n)`;
}

function makeLoss(name: LossName): InstanceType<typeof gluon.loss.Loss> {
  const L = gluon.loss;
  switch (name) {
    case 'l2': return new L.L2Loss();
    case 'l1': return new L.L1Loss();
    case 'huber': return new L.HuberLoss();
    case 'sbce': return new L.SigmoidBinaryCrossEntropyLoss();
    case 'sce': return new L.SoftmaxCrossEntropyLoss();
    case 'kl': return new L.KLDivLoss();
    case 'hinge': return new L.HingeLoss();
    case 'logistic': return new L.LogisticLoss();
  }
}

/** A label for `loss` against a prediction of `shape`. */
function randomLabel(name: LossName, shape: Shape, r: Rng): HostTensor {
  if (name === 'sce') {
    const data = Float32Array.from({ length: shape[0] }, () => int(r, 0, shape[1] - 1));
    return new HostTensor(data, [shape[0]], 'float32');
  }
  const t = randomHost(shape, r, name === 'kl' ? 0.05 : -1, 1);
  if (name === 'sbce') t.data.forEach((v, i) => (t.data[i] = v > 0 ? 1 : 0));
  if (name === 'hinge' || name === 'logistic') t.data.forEach((v, i) => (t.data[i] = v > 0 ? 1 : -1));
  return t;
}

/** The case's model: the tower, twin or not, with its loss. Inputs: x (x0, x1 when twin), then the label. */
class FuzzModel extends gluon.HybridBlock<Tensor[], Tensor> {
  constructor(readonly tower: InstanceType<typeof gluon.nn.HybridSequential>, readonly twin: boolean,
    readonly lossBlock: InstanceType<typeof gluon.loss.Loss> | null) {
    super();
  }
  override hybridForward(F: import('../src/index.js').F, ...xs: Tensor[]): Tensor {
    let out: Tensor;
    if (this.twin) {
      const n = xs[0].shape[0];
      const both = this.tower.forward(F.concat([xs[0], xs[1]], 0)) as Tensor;
      const rest = both.shape.slice(1).map(() => null);
      out = F.sub(F.slice(both, [0, ...rest], [n, ...rest]), F.slice(both, [n, ...rest], [2 * n, ...rest]));
    } else out = this.tower.forward(xs[0]) as Tensor;
    return this.lossBlock ? this.lossBlock.forward(out, xs[this.twin ? 2 : 1]) as Tensor : out;
  }
}

type Act = 'relu' | 'sigmoid' | 'tanh' | 'softrelu' | 'softsign';

export function buildBlock(c: BlockCase): InstanceType<typeof gluon.nn.HybridSequential> {
  const bias = new init.Uniform(0.3);
  const net = new gluon.nn.HybridSequential();
  for (const l of c.layers) {
    switch (l.type) {
      case 'conv':
        net.add(new gluon.nn.Conv2D(l.channels, l.kernel, { strides: l.stride, padding: l.pad, activation: l.act as Act | null, biasInitializer: bias }));
        break;
      case 'pool':
        net.add(l.pool === 'max' ? new gluon.nn.MaxPool2D({ poolSize: l.size, strides: l.stride }) : new gluon.nn.AvgPool2D({ poolSize: l.size, strides: l.stride }));
        break;
      case 'act':
        net.add(new gluon.nn.Activation(l.act as Act));
        break;
      case 'flatten':
        net.add(new gluon.nn.Flatten());
        break;
      case 'dense':
        net.add(new gluon.nn.Dense(l.units, { activation: l.act as Act | null, flatten: l.flatten, biasInitializer: bias }));
        break;
    }
  }
  return net;
}

export async function runBlockCase(seed: number, spec = randomBlock(seed)): Promise<CaseResult> {
  const code = blockCode(spec);
  const counted = countedCompare();
  const check = counted.check;
  try {
    const r = rng(seed * 13 + 5);
    const tower = buildBlock(spec);
    const net = new FuzzModel(tower, spec.twin ?? false, spec.loss ? makeLoss(spec.loss) : null);
    nd.random.seed(seed);
    net.initialize(new init.Xavier({ magnitude: 3 }));
    const xHosts = Array.from({ length: spec.twin ? 2 : 1 }, () => randomHost(spec.input, r, -1, 1));
    const towerOut = tower.forward(toTensor(xHosts[0])) as Tensor; // deferred initialization
    const inputs = spec.loss ? [...xHosts, randomLabel(spec.loss, towerOut.shape, r)] : xHosts;
    const traced = net.tracedFunction();
    const params = await Promise.all(traced.params.map(async ([, p]) => {
      const t = p.data();
      return new HostTensor(await t.data() as Float32Array, [...t.shape], 'float32');
    }));
    const fn = (F: unknown, ...xs: unknown[]) => [traced.fn(F as never, ...xs)];
    const hostOut = fn(host, ...inputs, ...params)[0] as HostTensor;
    const head = randomHost(hostOut.shape, r);
    const ref = graphReference(fn as unknown as TraceFn, [...inputs, ...params], [head]);
    check('CPU graph vs CPU host namespace', ref.outs[0].data, hostOut.data, 1e-5);

    // Gradients are compared for the images and the parameters (not the label).
    const names = [...xHosts.map((_, i) => `input ${i}`), ...traced.params.map(([n]) => n)];
    const refGrads = [...ref.grads.slice(0, xHosts.length), ...ref.grads.slice(inputs.length)];
    const run = async (mode: string) => {
      const xs = inputs.map(toTensor);
      const infer = net.forward(...xs) as Tensor;
      check(`${mode} inference output`, await infer.data(), ref.outs[0].data);
      xs.slice(0, xHosts.length).forEach((x) => x.attachGrad());
      const hd = toTensor(head);
      const out = autograd.record(() => net.forward(...xs) as Tensor);
      const loss = autograd.record(() => nd.sum(nd.mul(out, hd)));
      loss.backward();
      check(`${mode} training output`, await out.data(), ref.outs[0].data);
      const grads = [...xs.slice(0, xHosts.length).map((x) => x.grad!), ...traced.params.map(([, p]) => p.grad())];
      for (let i = 0; i < grads.length; i++) check(`${mode} gradient of ${names[i]}`, await grads[i].data(), refGrads[i].data);
    };
    await run('eager');
    net.hybridize();
    await run('hybridized');
    await run('hybridized (second call)');
    await flush();
    return { kind: 'block', seed, ok: true, code, checks: counted.count() };
  } catch (e) {
    return { kind: 'block', seed, ok: false, code, checks: counted.count(), error: describeError(e) };
  }
}

// ---------------------------------------------------------------- driver

export interface FuzzOptions {
  count: number;
  seed: number;
  kind?: 'graph' | 'block' | 'both';
  stopOnFailure?: boolean;
  /** 'small' keeps every case small (quick; for CI); 'mixed' (default) makes one in four big. */
  sizes?: 'small' | 'mixed' | 'big';
  log?: (line: string) => void;
}

export interface FuzzSummary {
  cases: number;
  graphs: number;
  blocks: number;
  checks: number;
  finiteDifference: { passed: number; skipped: number; inconclusive: number };
  failures: CaseResult[];
  seconds: number;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const kind = opts.kind ?? 'both';
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const summary: FuzzSummary = { cases: 0, graphs: 0, blocks: 0, checks: 0, finiteDifference: { passed: 0, skipped: 0, inconclusive: 0 }, failures: [], seconds: 0 };
  for (let i = 0; i < opts.count; i++) {
    const seed = opts.seed + i;
    // Every third case is a Block in 'both' mode.
    const isBlock = kind === 'block' || (kind === 'both' && i % 3 === 2);
    const t0 = performance.now();
    const big = opts.sizes === 'small' ? false : opts.sizes === 'big' ? true : undefined;
    const res = isBlock ? await runBlockCase(seed, randomBlock(seed, { big })) : await runGraphCase(seed, randomProgram(seed, { big }));
    log(`  ${res.kind} seed ${seed}: ${res.ok ? 'ok' : 'FAIL'}, ${res.checks} checks, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    summary.cases++;
    if (isBlock) summary.blocks++;
    else summary.graphs++;
    summary.checks += res.checks;
    if (res.fd) summary.finiteDifference[res.fd]++;
    if (!res.ok) {
      summary.failures.push(res);
      log(`FAIL ${res.kind} seed ${seed}: ${res.error}\n${res.code}\n`);
      if (opts.stopOnFailure) break;
    } else if ((i + 1) % 10 === 0) {
      log(`${i + 1}/${opts.count} cases, ${summary.failures.length} failing, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: readonly string[]): Promise<void> {
  const count = Number(flag(args, 'count') ?? 50);
  const seed = Number(flag(args, 'seed') ?? 1);
  const kind = (flag(args, 'kind') ?? 'both') as FuzzOptions['kind'];
  const sizes = (flag(args, 'sizes') ?? 'mixed') as FuzzOptions['sizes'];
  const only = flag(args, 'case');
  if (only !== undefined) {
    // Re-run one case and print it: --case graph:123 or --case block:45.
    const [k, s] = only.split(':');
    const res = k === 'block' ? await runBlockCase(Number(s)) : await runGraphCase(Number(s));
    console.log(`${res.ok ? 'ok' : 'FAIL'} ${res.kind} seed ${res.seed}${res.error ? `: ${res.error}` : ''}\n${res.code}`);
    process.exitCode = res.ok ? 0 : 1;
    return;
  }
  const verbose = args.includes('--verbose');
  const summary = await fuzz({ count, seed, kind, sizes, stopOnFailure: args.includes('--stop'), log: (l) => (verbose || l.startsWith('FAIL') || /^\d+0\//.test(l)) && console.log(l) });
  console.log(`${summary.cases} cases (${summary.graphs} graphs, ${summary.blocks} blocks), ${summary.checks} arrays compared, ` +
    `finite differences: ${summary.finiteDifference.passed} passed, ${summary.finiteDifference.inconclusive} inconclusive, ${summary.finiteDifference.skipped} skipped (segment crosses a kink); ` +
    `${summary.failures.length} failing; ${summary.seconds.toFixed(0)} s`);
  for (const f of summary.failures) console.log(`  ${f.kind} seed ${f.seed}: ${f.error?.split('\n')[0]}`);
  process.exitCode = summary.failures.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
