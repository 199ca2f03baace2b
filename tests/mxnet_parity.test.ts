// Every loss and every layer option against MXNet 1.9.1's formula evaluated in float64
// (tests/mxnet_reference.ts, with MXNet's own gradient rules): values, and gradients w.r.t. every
// float input — predictions, labels, sample and positive weights, layer inputs and parameters —
// eagerly and hybridized, on random inputs of several shapes.
//
// Tolerance: the inputs are float32 values, so both sides start from the same numbers and the
// only difference is webgluon's float32 arithmetic (unit roundoff u = 2^-24 ≈ 6e-8) and the GPU's
// exp/log (a few ulp). A value here goes through at most ~40 roundings (a log-sum-exp, a mean or
// a dot over ≤ 48 terms of magnitude ≲ 10), so its error stays below 40·u·10 ≈ 2.4e-5 relative to
// the terms; we allow |got − want| ≤ 1e-5·(1 + |want|), some 170× u, while every bug this file
// was written for (a mean instead of a sum, a wrong label gradient, softrelu'(0) = 0) is off by
// more than 1e-2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import type { AnyHybridBlock, HybridBlock } from '../src/nn/hybrid_block.js';
import type { Parameter } from '../src/nn/parameter.js';
import { seededRandom } from '../src/data/sampler.js';
import * as R from './mxnet_reference.js';

const RTOL = 1e-5;
const L = gluon.loss;
const nn = gluon.nn;

interface Host {
  data: Float32Array;
  shape: number[];
}

/** A random float32 tensor in [lo, hi), or one of `choices`. */
function random(r: () => number, shape: number[], lo: number, hi: number, choices?: readonly number[]): Host {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => (choices ? choices[Math.floor(r() * choices.length)] : lo + (hi - lo) * r()));
  return { data, shape };
}

interface Case {
  name: string;
  make: () => AnyHybridBlock;
  /** The call's arguments (null: left out), made from the case's own random stream. */
  inputs: (r: () => number) => (Host | null)[];
  /** MXNet 1.9.1's formula on the same arguments, then on the block's parameters (in collectParams order). */
  ref: (args: (R.V | null)[], params: R.V[]) => R.V;
  /** Arguments to differentiate (default: every one given). */
  wrt?: number[];
  /** Parameters are set to random values in [−scale, scale] (layers). */
  paramScale?: number;
}

/** The largest relative errors seen, printed at the end (the report of issue #16 quotes them). */
const largest = { losses: 0, layers: 0 };
afterAll(() => console.log(`largest |got − want| / (1 + |want|): losses ${largest.losses.toExponential(2)}, layers ${largest.layers.toExponential(2)} (bound ${RTOL})`));

let warnings: string[] = [];
const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code}: ${w.message}`);
beforeAll(() => process.on('warning', onWarning));
afterAll(() => process.off('warning', onWarning));

interface Run {
  out: Float32Array;
  grads: Float32Array[];
}

async function runWebgluon(block: AnyHybridBlock, args: (Host | null)[], wrt: number[], head: Float32Array): Promise<Run> {
  const ts = args.map((h) => (h ? nd.array(h.data, { shape: h.shape }) : null));
  for (const i of wrt) ts[i]!.attachGrad();
  const params = [...block.collectParams().values()].filter((p) => p.gradReq !== 'null');
  const out = autograd.record(() => (block as HybridBlock<(Tensor | null)[], Tensor>).forward(...ts));
  out.backward(nd.array(head, { shape: [...out.shape] }));
  const grads = await Promise.all([...wrt.map((i) => ts[i]!.grad!), ...params.map((p) => p.grad())].map((g) => g.data() as Promise<Float32Array>));
  return { out: (await out.data()) as Float32Array, grads };
}

function runReference(c: Case, args: (Host | null)[], params: Host[], wrt: number[], head: Float32Array): { out: Float64Array; grads: Float64Array[] } {
  R.resetTape();
  const vs = args.map((h) => (h ? R.leaf(h.data, h.shape) : null));
  const ps = params.map((p) => R.leaf(p.data, p.shape));
  const out = c.ref(vs, ps);
  if (out.size !== head.length) throw new Error(`${c.name}: the reference gives ${out.size} values, webgluon ${head.length}`);
  R.backward(out, head);
  return { out: out.data, grads: [...wrt.map((i) => vs[i]!.grad), ...ps.map((p) => p.grad)] };
}

/** The worst |got − want| / (1 + |want|) (must stay below RTOL), and where. */
function worst(got: ArrayLike<number>, want: ArrayLike<number>, what: string): { error: number; at: string } {
  expect(got.length, `${what} length`).toBe(want.length);
  let error = 0;
  let at = '';
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(e <= error)) [error, at] = [Number.isNaN(e) ? Infinity : e, `${what}[${i}]: got ${got[i]}, want ${want[i]}`];
  }
  return { error, at };
}

/** Runs a case eagerly and hybridized against the float64 reference; returns the largest error seen. */
async function check(c: Case, seed: number): Promise<number> {
  const r = seededRandom(seed);
  const args = c.inputs(r);
  const wrt = c.wrt ?? args.flatMap((a, i) => (a ? [i] : []));
  const block = c.make();
  let params: Host[] = [];
  if (c.paramScale !== undefined) {
    block.initialize();
    const list = [...block.collectParams().values()] as Parameter[];
    params = list.map((p) => random(r, [...p.shape], -c.paramScale!, c.paramScale!));
    list.forEach((p, i) => p.setData(params[i].data));
  }
  let largest = 0;
  let head: Float32Array | null = null;
  for (const hybrid of [false, true]) {
    if (hybrid) block.hybridize();
    warnings = [];
    // The head is drawn once the output size is known (the first, eager run).
    const size: number = head?.length ?? (await sizeOf(block, args));
    head ??= random(r, [size], 0.5, 1.5).data;
    const got = await runWebgluon(block, args, wrt, head);
    const want = runReference(c, args, params, wrt, head);
    const mode = hybrid ? 'hybridized' : 'eager';
    const checks = [worst(got.out, want.out, `${c.name} ${mode} value`),
      ...got.grads.map((g, k) => worst(g, want.grads[k], `${c.name} ${mode} gradient ${k < wrt.length ? `of argument ${wrt[k]}` : `of parameter ${k - wrt.length}`}`))];
    for (const { error, at } of checks) {
      expect(error, at).toBeLessThanOrEqual(RTOL);
      largest = Math.max(largest, error);
    }
    if (hybrid) {
      expect((block as unknown as { _compiled: unknown })._compiled, `${c.name}: the hybridized call was not compiled`).not.toBeNull();
      expect(warnings.filter((w) => w.startsWith('WEBGLUON_HYBRID_EAGER')), `${c.name}: fell back to eager`).toEqual([]);
    }
  }
  return largest;
}

async function sizeOf(block: AnyHybridBlock, args: (Host | null)[]): Promise<number> {
  const out = autograd.pause(() => (block as HybridBlock<(Tensor | null)[], Tensor>).forward(...args.map((h) => (h ? nd.array(h.data, { shape: h.shape }) : null))));
  return out.size;
}

// ---- losses ----

const u = (lo: number, hi: number, shape: number[]) => (r: () => number) => random(r, shape, lo, hi);
const signs = [-1, 1];

function lossCases(N: number, shape: number[]): Case[] {
  const full = [N, ...shape];
  const C = shape[shape.length - 1];
  const perSample = [N, ...shape.map(() => 1)];
  const pred = u(-2, 2, full);
  const w = u(0, 2, perSample);
  const wFull = u(0, 2, full);
  const tag = `(${full.join('x')})`;
  return [
    { name: `L1Loss ${tag}`, make: () => new L.L1Loss(), inputs: (r) => [pred(r), pred(r)], ref: ([p, l]) => R.l1Loss(p!, l!, null) },
    { name: `L1Loss weight 0.5, sampleWeight ${tag}`, make: () => new L.L1Loss(0.5), inputs: (r) => [pred(r), pred(r), w(r)], ref: ([p, l, s]) => R.l1Loss(p!, l!, s, { weight: 0.5 }) },
    { name: `L2Loss ${tag}`, make: () => new L.L2Loss(), inputs: (r) => [pred(r), pred(r)], ref: ([p, l]) => R.l2Loss(p!, l!, null) },
    { name: `L2Loss weight 3, elementwise sampleWeight ${tag}`, make: () => new L.L2Loss(3), inputs: (r) => [pred(r), pred(r), wFull(r)], ref: ([p, l, s]) => R.l2Loss(p!, l!, s, { weight: 3 }) },
    { name: `SigmoidBCELoss logits, soft labels ${tag}`, make: () => new L.SigmoidBinaryCrossEntropyLoss(), inputs: (r) => [pred(r), u(0, 1, full)(r), w(r)], ref: ([p, l, s]) => R.sigmoidBCE(p!, l!, s, null) },
    { name: `SigmoidBCELoss logits, posWeight, no sampleWeight ${tag}`, make: () => new L.SigmoidBinaryCrossEntropyLoss(),
      inputs: (r) => [pred(r), u(0, 1, full)(r), null, u(0.5, 2, [1, ...shape])(r)], ref: ([p, l, , pw]) => R.sigmoidBCE(p!, l!, null, pw) },
    { name: `SigmoidBCELoss fromSigmoid ${tag}`, make: () => new L.SigmoidBinaryCrossEntropyLoss({ fromSigmoid: true, weight: 2 }),
      inputs: (r) => [u(0.05, 0.95, full)(r), u(0, 1, full)(r)], ref: ([p, l]) => R.sigmoidBCE(p!, l!, null, null, { fromSigmoid: true, weight: 2 }) },
    { name: `SigmoidBCELoss fromSigmoid, posWeight ${tag}`, make: () => new L.SigmoidBinaryCrossEntropyLoss({ fromSigmoid: true }),
      inputs: (r) => [u(0.05, 0.95, full)(r), u(0, 1, full)(r), w(r), u(0.5, 2, [1, ...shape])(r)], ref: ([p, l, s, pw]) => R.sigmoidBCE(p!, l!, s, pw, { fromSigmoid: true }) },
    { name: `SoftmaxCELoss sparse (the class index gets no gradient) ${tag}`, make: () => new L.SoftmaxCrossEntropyLoss(),
      inputs: (r) => [pred(r), random(r, full.slice(0, -1), 0, 0, [...Array(C).keys()]), w(r)], ref: ([p, l, s]) => R.softmaxCE(p!, l!, s) },
    { name: `SoftmaxCELoss dense labels ${tag}`, make: () => new L.SoftmaxCrossEntropyLoss({ sparseLabel: false }),
      inputs: (r) => [pred(r), u(0, 1, full)(r)], ref: ([p, l]) => R.softmaxCE(p!, l!, null, { sparseLabel: false }) },
    { name: `SoftmaxCELoss fromLogits, weight 0.3 ${tag}`, make: () => new L.SoftmaxCrossEntropyLoss({ fromLogits: true, weight: 0.3 }),
      inputs: (r) => [u(-4, 0, full)(r), random(r, full.slice(0, -1), 0, 0, [...Array(C).keys()])], ref: ([p, l]) => R.softmaxCE(p!, l!, null, { fromLogits: true, weight: 0.3 }) },
    { name: `KLDivLoss fromLogits (sums the non-batch axes) ${tag}`, make: () => new L.KLDivLoss(), inputs: (r) => [u(-4, 0, full)(r), u(0.05, 1, full)(r), w(r)],
      ref: ([p, l, s]) => R.klDiv(p!, l!, s) },
    { name: `KLDivLoss from unnormalized ${tag}`, make: () => new L.KLDivLoss({ fromLogits: false }), inputs: (r) => [pred(r), u(0.05, 1, full)(r)],
      ref: ([p, l]) => R.klDiv(p!, l!, null, { fromLogits: false }) },
    { name: `HuberLoss rho 0.7 ${tag}`, make: () => new L.HuberLoss({ rho: 0.7 }), inputs: (r) => [pred(r), pred(r), w(r)], ref: ([p, l, s]) => R.huber(p!, l!, s, { rho: 0.7 }) },
    { name: `HingeLoss ±1 labels ${tag}`, make: () => new L.HingeLoss(), inputs: (r) => [pred(r), random(r, full, 0, 0, signs)], ref: ([p, l]) => R.hinge(p!, l!, null) },
    { name: `HingeLoss margin 2, soft labels ${tag}`, make: () => new L.HingeLoss({ margin: 2 }), inputs: (r) => [pred(r), u(-1, 1, full)(r), w(r)], ref: ([p, l, s]) => R.hinge(p!, l!, s, { margin: 2 }) },
    { name: `SquaredHingeLoss margin 1.5 ${tag}`, make: () => new L.SquaredHingeLoss({ margin: 1.5 }), inputs: (r) => [pred(r), u(-1, 1, full)(r)], ref: ([p, l]) => R.squaredHinge(p!, l!, null, { margin: 1.5 }) },
    { name: `LogisticLoss signed, soft labels ${tag}`, make: () => new L.LogisticLoss(), inputs: (r) => [pred(r), u(-1, 1, full)(r), w(r)], ref: ([p, l, s]) => R.logistic(p!, l!, s) },
    { name: `LogisticLoss binary, soft labels ${tag}`, make: () => new L.LogisticLoss({ labelFormat: 'binary' }), inputs: (r) => [pred(r), u(0, 1, full)(r)],
      ref: ([p, l]) => R.logistic(p!, l!, null, { labelFormat: 'binary' }) },
    { name: `LogisticLoss signed ±1 labels ${tag}`, make: () => new L.LogisticLoss(), inputs: (r) => [pred(r), random(r, full, 0, 0, signs)], ref: ([p, l]) => R.logistic(p!, l!, null) },
    { name: `TripletLoss margin 0.5 ${tag}`, make: () => new L.TripletLoss({ margin: 0.5 }), inputs: (r) => [pred(r), pred(r), pred(r)], ref: ([p, a, b]) => R.triplet(p!, a!, b!, null, { margin: 0.5 }) },
    { name: `TripletLoss sampleWeight (webgluon's extension) ${tag}`, make: () => new L.TripletLoss(), inputs: (r) => [pred(r), pred(r), pred(r), u(0, 2, [N])(r)],
      ref: ([p, a, b, s]) => R.triplet(p!, a!, b!, s) },
    { name: `PoissonNLLLoss fromLogits (per sample) ${tag}`, make: () => new L.PoissonNLLLoss(), inputs: (r) => [pred(r), u(0, 4, full)(r), w(r)],
      ref: ([p, t, s]) => R.meanExcept(R.poissonElements(p!, t!, s)) },
    { name: `PoissonNLLLoss rates, computeFull, weight 2 ${tag}`, make: () => new L.PoissonNLLLoss({ fromLogits: false, computeFull: true, weight: 2 }),
      inputs: (r) => [u(0.1, 3, full)(r), u(0.5, 4, full)(r)], ref: ([p, t]) => R.meanExcept(R.poissonElements(p!, t!, null, { fromLogits: false, computeFull: true, weight: 2 })) },
  ];
}

/** CosineEmbeddingLoss takes (N, D) vectors; SDMLLoss (batch, dim) pairs. */
function pairCases(N: number, D: number): Case[] {
  const tag = `(${N}x${D})`;
  const x = u(-2, 2, [N, D]);
  return [
    { name: `CosineEmbeddingLoss ${tag}`, make: () => new L.CosineEmbeddingLoss(), inputs: (r) => [x(r), x(r), random(r, [N], 0, 0, signs)],
      ref: ([a, b, y]) => R.cosineEmbedding(a!, b!, y!, null) },
    { name: `CosineEmbeddingLoss margin 0.2, sampleWeight (N, 1), weight 1.5 ${tag}`, make: () => new L.CosineEmbeddingLoss({ margin: 0.2, weight: 1.5 }),
      inputs: (r) => [x(r), x(r), random(r, [N], 0, 0, signs), u(0, 2, [N, 1])(r)], ref: ([a, b, y, s]) => R.cosineEmbedding(a!, b!, y!, s, { margin: 0.2, weight: 1.5 }) },
    { name: `SDMLLoss ${tag}`, make: () => new L.SDMLLoss(), inputs: (r) => [x(r), x(r)], ref: ([a, b]) => R.sdml(a!, b!) },
    { name: `SDMLLoss smoothing 0.1 ${tag}`, make: () => new L.SDMLLoss({ smoothingParameter: 0.1 }), inputs: (r) => [u(-0.5, 0.5, [N, D])(r), u(-0.5, 0.5, [N, D])(r)],
      ref: ([a, b]) => R.sdml(a!, b!, { smoothingParameter: 0.1 }) },
  ];
}

const LOSS_CASES = [...lossCases(4, [5]), ...lossCases(3, [2, 4]), ...pairCases(4, 3), ...pairCases(6, 5)];

describe('every loss vs MXNet 1.9.1 in float64: values and gradients of every float input, eager and hybridized', () => {
  it('the table covers every loss class in gluon.loss', () => {
    const covered = new Set(LOSS_CASES.map((c) => c.make().constructor));
    expect(Object.entries(L).filter(([k, v]) => k !== 'Loss' && !covered.has(v as never)).map(([k]) => k)).toEqual([]);
  });
  LOSS_CASES.forEach((c, k) => it(c.name, async () => {
    largest.losses = Math.max(largest.losses, await check(c, 1000 + k));
  }));

  it('PoissonNLLLoss: the mean of webgluon\'s per-sample values is MXNet\'s single number', async () => {
    const r = seededRandom(77);
    const p = random(r, [4, 6], -2, 2);
    const t = random(r, [4, 6], 0, 4);
    const out = await new L.PoissonNLLLoss().forward(nd.array(p.data, { shape: p.shape }), nd.array(t.data, { shape: t.shape })).data();
    R.resetTape();
    const mxnet = R.mean(R.poissonElements(R.leaf(p.data, p.shape), R.leaf(t.data, t.shape), null), [0, 1]).data[0];
    const mean = Array.from(out).reduce((a, b) => a + b, 0) / out.length;
    expect(Math.abs(mean - mxnet)).toBeLessThanOrEqual(RTOL * (1 + Math.abs(mxnet)));
  });

  it('PoissonNLLLoss computeFull at target 0: MXNet\'s formula is NaN (0·log 0 masked by a product), webgluon leaves the term out', async () => {
    R.resetTape();
    const mx = R.poissonElements(R.leaf([0.5], [1, 1]), R.leaf([0], [1, 1]), null, { fromLogits: false, computeFull: true });
    expect(Number.isNaN(mx.data[0])).toBe(true);
    const got = await new L.PoissonNLLLoss({ fromLogits: false, computeFull: true }).forward(nd.array([[0.5]]), nd.array([[0]])).item();
    expect(got).toBeCloseTo(0.5, 6);
  });
});

// ---- layers ----

const ACTS = ['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'] as const;

/** Activation inputs include exact zeros: softrelu'(0) = 1/2, softsign'(0) = 1. */
function withZeros(shape: number[]) {
  return (r: () => number): Host => {
    const h = random(r, shape, -3, 3);
    for (let i = 0; i < h.data.length; i += 3) h.data[i] = 0;
    return h;
  };
}

const LAYER_CASES: Case[] = [
  ...ACTS.map((a): Case => ({ name: `Activation ${a} (exact zeros among the inputs)`, make: () => new nn.Activation(a), inputs: (r) => [withZeros([4, 6])(r)],
    ref: ([x]) => R.activation(x!, a) })),
  ...([null, ...ACTS] as const).map((a): Case => ({ name: `Dense 3 activation ${a ?? 'none'}`, make: () => new nn.Dense(3, { inUnits: 5, activation: a }),
    inputs: (r) => [withZeros([4, 5])(r)], ref: ([x], [w, b]) => R.dense(x!, w, b, { activation: a }), paramScale: 0.8 })),
  { name: 'Dense useBias false, flatten (4-D input)', make: () => new nn.Dense(4, { inUnits: 12, useBias: false }), inputs: (r) => [u(-2, 2, [3, 2, 3, 2])(r)],
    ref: ([x], [w]) => R.dense(x!, w, null), paramScale: 0.5 },
  { name: 'Dense flatten false (3-D input), tanh', make: () => new nn.Dense(2, { inUnits: 4, flatten: false, activation: 'tanh' }), inputs: (r) => [u(-2, 2, [3, 5, 4])(r)],
    ref: ([x], [w, b]) => R.dense(x!, w, b, { flatten: false, activation: 'tanh' }), paramScale: 0.5 },
  ...([
    ['3x3', 3, {}],
    ['2x3 strides 2 padding 1', [2, 3], { strides: 2, padding: 1 }],
    ['3x3 strides (1, 2) padding (2, 0) relu', 3, { strides: [1, 2], padding: [2, 0], activation: 'relu' }],
    ['1x1 no bias softrelu', 1, { useBias: false, activation: 'softrelu' }],
    ['5x5 strides 3 sigmoid', 5, { strides: 3, activation: 'sigmoid' }],
  ] as const).map(([tag, k, o]): Case => ({
    name: `Conv2D 4 ${tag}`, make: () => new nn.Conv2D(4, k as number, { inChannels: 3, ...(o as object) }), inputs: (r) => [u(-2, 2, [2, 3, 8, 9])(r)],
    ref: ([x], [w, b]) => R.conv2dLayer(x!, w, 'useBias' in o ? null : b, {
      strides: pairOf('strides' in o ? o.strides : 1), padding: pairOf('padding' in o ? o.padding : 0), activation: 'activation' in o ? o.activation : null,
    }),
    paramScale: 0.4,
  })),
  ...poolCases(),
];

function pairOf(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** MaxPool2D/AvgPool2D: every option (poolSize, strides, padding, ceilMode, countIncludePad). */
function poolCases(): Case[] {
  type O = { poolSize?: number | [number, number]; strides?: number | [number, number]; padding?: number | [number, number]; ceilMode?: boolean; countIncludePad?: boolean };
  const options: [string, O, number[]][] = [
    ['defaults (2, strides = size)', {}, [2, 3, 6, 7]],
    ['3 strides 2 padding 1', { poolSize: 3, strides: 2, padding: 1 }, [2, 2, 7, 8]],
    ['3 strides 2 ceilMode', { poolSize: 3, strides: 2, ceilMode: true }, [2, 2, 8, 6]],
    ['(2, 3) strides (2, 1) padding (1, 1) ceilMode', { poolSize: [2, 3], strides: [2, 1], padding: [1, 1], ceilMode: true }, [1, 3, 8, 7]],
    ['3 strides 3 ceilMode (last windows hang over)', { poolSize: 3, strides: 3, ceilMode: true }, [2, 2, 7, 8]],
    ['3 strides 2 padding 1 ceilMode', { poolSize: 3, strides: 2, padding: 1, ceilMode: true }, [2, 2, 6, 7]],
  ];
  const cases: Case[] = [];
  for (const [tag, o, shape] of options) {
    const ref = (poolType: 'max' | 'avg', countIncludePad = true) => ([x]: (R.V | null)[]) => {
      const kernel = pairOf(o.poolSize ?? 2);
      return R.pool2d(x!, { kernel, stride: pairOf(o.strides ?? kernel), pad: pairOf(o.padding ?? 0), poolType, full: o.ceilMode, countIncludePad });
    };
    cases.push({ name: `MaxPool2D ${tag}`, make: () => new nn.MaxPool2D(o), inputs: (r) => [u(-2, 2, shape)(r)], ref: ref('max') });
    cases.push({ name: `AvgPool2D ${tag}`, make: () => new nn.AvgPool2D(o), inputs: (r) => [u(-2, 2, shape)(r)], ref: ref('avg') });
    if (o.padding || o.ceilMode) {
      cases.push({ name: `AvgPool2D ${tag} countIncludePad false`, make: () => new nn.AvgPool2D({ ...o, countIncludePad: false }), inputs: (r) => [u(-2, 2, shape)(r)],
        ref: ref('avg', false) });
    }
  }
  return cases;
}

describe('every layer option vs MXNet 1.9.1 in float64: values and gradients of the input and every parameter, eager and hybridized', () => {
  LAYER_CASES.forEach((c, k) => it(c.name, async () => {
    largest.layers = Math.max(largest.layers, await check(c, 2000 + k));
  }));

  it('a ceilMode window that would hold padding only is refused (MXNet outputs the lowest float or 0 there)', () => {
    // 7 rows, window 2, stride 2, padding 1: the 5th window would start at row 7, in the padding.
    const pool = new nn.AvgPool2D({ poolSize: 2, strides: 2, padding: 1, ceilMode: true });
    expect(() => pool.forward(nd.zeros([1, 1, 7, 8]))).toThrow(/ceilMode the last window along H would start at 7, past the input's 7/);
    expect(new nn.AvgPool2D({ poolSize: 2, strides: 2, padding: 1, ceilMode: true }).forward(nd.zeros([1, 1, 8, 8])).shape).toEqual([1, 1, 5, 5]);
  });
});

describe('the cases the issue named', () => {
  it('softrelu, softsign, log1p: exact gradients at 0 eagerly and in a compiled graph', async () => {
    const x = nd.array([0, -0, 1e-4, -1e-4, 5, -5]);
    const points = Array.from(await x.data());
    const want = {
      softrelu: points.map((v) => R.sigmoidOf(v)),
      softsign: points.map((v) => 1 / (1 + Math.abs(v)) ** 2),
      log1p: points.map((v) => 1 / (1 + v)),
    };
    for (const op of ['softrelu', 'softsign', 'log1p'] as const) {
      x.attachGrad();
      const y = autograd.record(() => nd[op](x));
      y.backward();
      const eager = await x.grad!.data();
      class Apply extends gluon.HybridBlock {
        override hybridForward(F: gluon.F, v: Tensor): Tensor {
          return F[op](v);
        }
      }
      const block = new Apply();
      block.hybridize();
      const z = nd.array(points);
      z.attachGrad();
      autograd.record(() => block.forward(z)).backward();
      const compiled = await z.grad!.data();
      for (const [got, what] of [[eager, 'eager'], [compiled, 'hybridized']] as const) {
        const { error, at } = worst(got, want[op], `${op}' ${what}`);
        expect(error, at).toBeLessThanOrEqual(RTOL);
      }
      expect(eager[0]).toBe(op === 'softrelu' ? 0.5 : 1);
    }
  });

  it('hybridized block initialized with init.Uniform runs compiled from its first call (deferred shapes inferred by a trace)', async () => {
    warnings = [];
    const net = new nn.HybridSequential().add(new nn.Conv2D(2, 3), new nn.MaxPool2D({ ceilMode: true }), new nn.Dense(3, { activation: 'softrelu' }));
    net.initialize(new init.Uniform(0.3));
    net.hybridize();
    const x = nd.random.uniform(-1, 1, [2, 1, 7, 7]);
    const y = net.forward(x);
    expect(y.shape).toEqual([2, 3]);
    expect((net as unknown as { _compiled: unknown })._compiled).not.toBeNull();
    expect(warnings).toEqual([]);
    net.hybridize(false);
    const eager = await net.forward(x).data();
    const { error, at } = worst(await y.data(), eager, 'first compiled call vs eager');
    expect(error, at).toBeLessThanOrEqual(RTOL);
  });
});
