// The oracle of tests/mxnet_parity.test.ts: MXNet 1.9.1's loss and layer formulas evaluated in
// float64 on plain JS numbers, with a small reverse-mode tape that applies MXNet's own gradient
// rules (relu'(0) = 0, |x|'(0) = 0, comparisons and pick indices get none, softrelu' = sigmoid,
// maximum sends the gradient to the left operand on ties), written from gluon/loss.py,
// gluon/nn/conv_layers.py and src/operator/nn/pool.h, independently of webgluon's code.

/** A float64 value on the tape: data, shape, and the gradient accumulated by backward(). */
export class V {
  grad: Float64Array;
  constructor(readonly data: Float64Array, readonly shape: readonly number[], readonly back: ((g: Float64Array) => void) | null = null) {
    this.grad = new Float64Array(data.length);
    tape.push(this);
  }
  get size(): number {
    return this.data.length;
  }
}

let tape: V[] = [];

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A leaf (an input whose gradient backward() fills). */
export function leaf(data: ArrayLike<number>, shape: readonly number[]): V {
  if (data.length !== sizeOf(shape)) throw new Error(`leaf: ${data.length} values for shape (${shape.join(', ')})`);
  return new V(Float64Array.from(data), [...shape]);
}
const scalar = (v: number) => new V(Float64Array.of(v), []);
type In = V | number;
const val = (x: In) => (typeof x === 'number' ? scalar(x) : x);

/** Starts a fresh tape: values made before are no longer differentiated through. */
export function resetTape(): void {
  tape = [];
}

/** Reverse pass from `out` with head gradient `head` (default ones) over everything recorded since resetTape(). */
export function backward(out: V, head?: ArrayLike<number>): void {
  for (const v of tape) v.grad.fill(0);
  if (head) out.grad.set(head);
  else out.grad.fill(1);
  for (let i = tape.length - 1; i >= 0; i--) tape[i].back?.(tape[i].grad);
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`broadcast (${a.join(', ')}) with (${b.join(', ')})`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each flat index of `out`, the flat index of the broadcast input of shape `s`. */
function broadcastIndex(s: readonly number[], out: readonly number[]): Int32Array {
  const n = sizeOf(out);
  const idx = new Int32Array(n);
  const lead = out.length - s.length;
  for (let i = 0; i < n; i++) {
    let rem = i;
    let src = 0;
    let stride = 1;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = rem % out[d];
      rem = Math.floor(rem / out[d]);
      if (d >= lead) {
        const sd = s[d - lead];
        if (sd !== 1) src += c * stride;
        stride *= sd;
      }
    }
    idx[i] = src;
  }
  return idx;
}

/** An elementwise op of any arity with NumPy broadcasting; `d[k]` is ∂f/∂x_k. */
function elementwise(xs: readonly In[], f: (v: number[]) => number, d: ((v: number[], y: number) => number)[] | null): V {
  const vs = xs.map(val);
  const shape = vs.reduce<number[]>((s, v) => broadcastShape(s, v.shape), []);
  const idx = vs.map((v) => broadcastIndex(v.shape, shape));
  const n = sizeOf(shape);
  const data = new Float64Array(n);
  const args = new Array<number>(vs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < vs.length; k++) args[k] = vs[k].data[idx[k][i]];
    data[i] = f(args);
  }
  return new V(data, shape, d && ((g) => {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < vs.length; k++) args[k] = vs[k].data[idx[k][i]];
      for (let k = 0; k < vs.length; k++) if (d[k]) vs[k].grad[idx[k][i]] += g[i] * d[k](args, data[i]);
    }
  }));
}

const none = () => 0;
export const add = (a: In, b: In) => elementwise([a, b], ([x, y]) => x + y, [() => 1, () => 1]);
export const sub = (a: In, b: In) => elementwise([a, b], ([x, y]) => x - y, [() => 1, () => -1]);
export const mul = (a: In, b: In) => elementwise([a, b], ([x, y]) => x * y, [([, y]) => y, ([x]) => x]);
export const div = (a: In, b: In) => elementwise([a, b], ([x, y]) => x / y, [([, y]) => 1 / y, ([x, y]) => -x / (y * y)]);
/** MXNet's broadcast_maximum: the left operand takes the gradient where a ≥ b. */
export const maximum = (a: In, b: In) => elementwise([a, b], ([x, y]) => Math.max(x, y), [([x, y]) => +(x >= y), ([x, y]) => +(x < y)]);
export const greater = (a: In, b: In) => elementwise([a, b], ([x, y]) => +(x > y), [none, none]);
export const equal = (a: In, b: In) => elementwise([a, b], ([x, y]) => +(x === y), [none, none]);
export const where = (c: In, a: In, b: In) => elementwise([c, a, b], ([k, x, y]) => (k !== 0 ? x : y), [none, ([k]) => +(k !== 0), ([k]) => +(k === 0)]);
export const neg = (x: In) => elementwise([x], ([v]) => -v, [() => -1]);
export const abs = (x: In) => elementwise([x], ([v]) => Math.abs(v), [([v]) => Math.sign(v)]);
export const square = (x: In) => elementwise([x], ([v]) => v * v, [([v]) => 2 * v]);
export const sqrt = (x: In) => elementwise([x], ([v]) => Math.sqrt(v), [(_, y) => 0.5 / y]);
export const exp = (x: In) => elementwise([x], ([v]) => Math.exp(v), [(_, y) => y]);
export const log = (x: In) => elementwise([x], ([v]) => Math.log(v), [([v]) => 1 / v]);
export const relu = (x: In) => elementwise([x], ([v]) => Math.max(v, 0), [([v]) => +(v > 0)]);
export const sigmoidOf = (v: number) => 1 / (1 + Math.exp(-v));
export const sigmoid = (x: In) => elementwise([x], ([v]) => sigmoidOf(v), [(_, y) => y * (1 - y)]);
export const tanh = (x: In) => elementwise([x], ([v]) => Math.tanh(v), [(_, y) => 1 - y * y]);
/** MXNet's softrelu: log(1 + exp(x)), its gradient 1 − exp(−y) = sigmoid(x). */
export const softreluOf = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
export const softrelu = (x: In) => elementwise([x], ([v]) => softreluOf(v), [(_, y) => -Math.expm1(-y)]);
export const softsign = (x: In) => elementwise([x], ([v]) => v / (1 + Math.abs(v)), [([v]) => 1 / (1 + Math.abs(v)) ** 2]);

export function activation(x: V, act: string): V {
  switch (act) {
    case 'relu': return relu(x);
    case 'sigmoid': return sigmoid(x);
    case 'tanh': return tanh(x);
    case 'softrelu': return softrelu(x);
    case 'softsign': return softsign(x);
    default: throw new Error(`activation ${act}`);
  }
}

export function reshape(x: V, shape: readonly number[]): V {
  const s = [...shape];
  const known = s.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const k = s.indexOf(-1);
  if (k >= 0) s[k] = x.size / known;
  if (sizeOf(s) !== x.size) throw new Error(`reshape (${x.shape.join(', ')}) to (${shape.join(', ')})`);
  return new V(x.data, s, (g) => {
    for (let i = 0; i < g.length; i++) x.grad[i] += g[i];
  });
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Sum (or mean) over `axes`; MXNet's `exclude=True` is the list of the other axes. */
export function sum(x: V, axes: readonly number[], keepdims = false, mean = false): V {
  const ax = new Set(axes.map((a) => normAxis(a, x.shape.length)));
  const kept = x.shape.map((d, i) => (ax.has(i) ? 1 : d));
  const idx = broadcastIndex(kept, x.shape);
  const count = x.shape.reduce((n, d, i) => (ax.has(i) ? n * d : n), 1);
  const data = new Float64Array(sizeOf(kept));
  for (let i = 0; i < x.size; i++) data[idx[i]] += x.data[i];
  if (mean) for (let i = 0; i < data.length; i++) data[i] /= count;
  const shape = keepdims ? kept : x.shape.filter((_, i) => !ax.has(i));
  return new V(data, shape, (g) => {
    for (let i = 0; i < x.size; i++) x.grad[i] += mean ? g[idx[i]] / count : g[idx[i]];
  });
}
export const mean = (x: V, axes: readonly number[], keepdims = false) => sum(x, axes, keepdims, true);
/** MXNet's F.mean(loss, axis=batch_axis, exclude=True) (a 1-D loss is returned as it is). */
export function meanExcept(x: V, batchAxis = 0): V {
  const b = normAxis(batchAxis, x.shape.length);
  const axes = x.shape.map((_, i) => i).filter((i) => i !== b);
  return axes.length ? mean(x, axes) : x;
}
export function sumExcept(x: V, batchAxis = 0): V {
  const b = normAxis(batchAxis, x.shape.length);
  const axes = x.shape.map((_, i) => i).filter((i) => i !== b);
  return axes.length ? sum(x, axes) : x;
}

/** log_softmax along `axis`: y = x − logΣexp(x); ∂x = ∂y − softmax(x)·Σ∂y. */
export function logSoftmax(x: V, axis = -1): V {
  const a = normAxis(axis, x.shape.length);
  const inner = sizeOf(x.shape.slice(a + 1));
  const len = x.shape[a];
  const outer = x.size / (inner * len);
  const data = new Float64Array(x.size);
  const at = (o: number, j: number, i: number) => (o * len + j) * inner + i;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, x.data[at(o, j, i)]);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x.data[at(o, j, i)] - m);
      const lse = m + Math.log(s);
      for (let j = 0; j < len; j++) data[at(o, j, i)] = x.data[at(o, j, i)] - lse;
    }
  }
  return new V(data, x.shape, (g) => {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let gs = 0;
        for (let j = 0; j < len; j++) gs += g[at(o, j, i)];
        for (let j = 0; j < len; j++) x.grad[at(o, j, i)] += g[at(o, j, i)] - Math.exp(data[at(o, j, i)]) * gs;
      }
    }
  });
}

/** MXNet's pick (mode clip): x's element at index along axis; the index gets no gradient. */
export function pick(x: V, index: V, axis = -1, keepdims = false): V {
  const a = normAxis(axis, x.shape.length);
  const inner = sizeOf(x.shape.slice(a + 1));
  const len = x.shape[a];
  const outer = x.size / (inner * len);
  const data = new Float64Array(outer * inner);
  const src = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const j = Math.min(len - 1, Math.max(0, Math.trunc(index.data[o * inner + i])));
      src[o * inner + i] = (o * len + j) * inner + i;
      data[o * inner + i] = x.data[src[o * inner + i]];
    }
  }
  const shape = keepdims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  return new V(data, shape, (g) => {
    for (let k = 0; k < g.length; k++) x.grad[src[k]] += g[k];
  });
}

/** (M, K)·(K, N)ᵀ-free matmul: a (M, K), b (K, N). */
export function matmul(a: V, b: V, transposeB = false): V {
  const [M, K] = a.shape;
  const N = transposeB ? b.shape[0] : b.shape[1];
  const B = (k: number, n: number) => (transposeB ? n * K + k : k * N + n);
  const data = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a.data[m * K + k] * b.data[B(k, n)];
    data[m * N + n] = s;
  }
  return new V(data, [M, N], (g) => {
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      const gv = g[m * N + n];
      for (let k = 0; k < K; k++) {
        a.grad[m * K + k] += gv * b.data[B(k, n)];
        b.grad[B(k, n)] += gv * a.data[m * K + k];
      }
    }
  });
}

/** 2-D convolution, NCHW, weight (O, C, KH, KW), MXNet's Convolution with symmetric padding. */
export function conv2d(x: V, w: V, stride: readonly [number, number], pad: readonly [number, number]): V {
  const [N, C, H, W] = x.shape;
  const [O, , KH, KW] = w.shape;
  const OH = Math.floor((H + 2 * pad[0] - KH) / stride[0]) + 1;
  const OW = Math.floor((W + 2 * pad[1] - KW) / stride[1]) + 1;
  const data = new Float64Array(N * O * OH * OW);
  const taps: [number, number, number][] = []; // [out index, x index, w index]
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    const oi = ((n * O + o) * OH + i) * OW + j;
    for (let c = 0; c < C; c++) for (let u = 0; u < KH; u++) for (let v = 0; v < KW; v++) {
      const h = i * stride[0] - pad[0] + u;
      const q = j * stride[1] - pad[1] + v;
      if (h < 0 || h >= H || q < 0 || q >= W) continue;
      const xi = ((n * C + c) * H + h) * W + q;
      const wi = ((o * C + c) * KH + u) * KW + v;
      data[oi] += x.data[xi] * w.data[wi];
      taps.push([oi, xi, wi]);
    }
  }
  return new V(data, [N, O, OH, OW], (g) => {
    for (const [oi, xi, wi] of taps) {
      x.grad[xi] += g[oi] * w.data[wi];
      w.grad[wi] += g[oi] * x.data[xi];
    }
  });
}

export interface PoolOptions {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  pad: readonly [number, number];
  poolType: 'max' | 'avg';
  /** pooling_convention 'full' (ceil) instead of 'valid' (floor). */
  full?: boolean;
  countIncludePad?: boolean;
}

/** MXNet's output size: 1 + floor or ceil of (H + 2p − k) / s (pooling.cc). */
export function poolOutSize(size: number, k: number, s: number, p: number, full: boolean): number {
  return 1 + (full ? Math.ceil((size + 2 * p - k) / s) : Math.floor((size + 2 * p - k) / s));
}

/**
 * pool.h's 2-D NCHW loops: a window starts at o·s − p and ends at min(start + k, H + p); the
 * average divides by that extent (count_include_pad) or by the part inside the input; the max
 * window's gradient goes to its first maximal element (unpool_max: strictly greater replaces).
 */
export function pool2d(x: V, o: PoolOptions): V {
  const [N, C, H, W] = x.shape;
  const OH = poolOutSize(H, o.kernel[0], o.stride[0], o.pad[0], !!o.full);
  const OW = poolOutSize(W, o.kernel[1], o.stride[1], o.pad[1], !!o.full);
  const isMax = o.poolType === 'max';
  const includePad = o.countIncludePad ?? true;
  const data = new Float64Array(N * C * OH * OW);
  const routes: [number, number, number][] = []; // [out index, x index, share]
  for (let p = 0; p < N * C; p++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    const oi = (p * OH + i) * OW + j;
    let h0 = i * o.stride[0] - o.pad[0];
    let w0 = j * o.stride[1] - o.pad[1];
    let h1 = Math.min(h0 + o.kernel[0], H + o.pad[0]);
    let w1 = Math.min(w0 + o.kernel[1], W + o.pad[1]);
    let count = (h1 - h0) * (w1 - w0);
    h0 = Math.max(h0, 0);
    w0 = Math.max(w0, 0);
    h1 = Math.min(h1, H);
    w1 = Math.min(w1, W);
    if (!includePad) count = (h1 - h0) * (w1 - w0);
    let best = -1;
    let acc = isMax ? -Infinity : 0;
    for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) {
      const xi = (p * H + h) * W + w;
      if (isMax) {
        if (x.data[xi] > acc) [acc, best] = [x.data[xi], xi];
      } else {
        acc += x.data[xi] / count;
        routes.push([oi, xi, 1 / count]);
      }
    }
    if (isMax && best >= 0) routes.push([oi, best, 1]);
    data[oi] = acc;
  }
  return new V(data, [N, C, OH, OW], (g) => {
    for (const [oi, xi, share] of routes) x.grad[xi] += g[oi] * share;
  });
}

// ---- MXNet 1.9.1's losses (gluon/loss.py), argument for argument ----

/** _apply_weighting: loss · sample_weight (broadcast) · weight. */
export function applyWeighting(loss: V, weight: number | null, sampleWeight: V | null): V {
  let out = loss;
  if (sampleWeight) out = mul(out, sampleWeight);
  if (weight !== null) out = mul(out, weight);
  return out;
}
/** _reshape_like. */
export const reshapeLike = (x: V, like: V) => reshape(x, like.shape);

export interface Common { weight?: number | null; batchAxis?: number }

export function l2Loss(pred: V, label: V, sw: V | null, o: Common = {}): V {
  const loss = square(sub(reshapeLike(label, pred), pred));
  return meanExcept(applyWeighting(loss, (o.weight ?? 1) / 2, sw), o.batchAxis);
}
export function l1Loss(pred: V, label: V, sw: V | null, o: Common = {}): V {
  const loss = abs(sub(reshapeLike(label, pred), pred));
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
export function sigmoidBCE(pred: V, label: V, sw: V | null, posWeight: V | null, o: Common & { fromSigmoid?: boolean } = {}): V {
  const y = reshapeLike(label, pred);
  let loss: V;
  if (!o.fromSigmoid) {
    if (!posWeight) {
      loss = add(sub(relu(pred), mul(pred, y)), softrelu(neg(abs(pred))));
    } else {
      const logWeight = add(1, mul(sub(posWeight, 1), y));
      loss = add(sub(pred, mul(pred, y)), mul(logWeight, add(softrelu(neg(abs(pred))), relu(neg(pred)))));
    }
  } else {
    const eps = 1e-12;
    const pos = mul(log(add(pred, eps)), y);
    const negative = mul(log(add(sub(1, pred), eps)), sub(1, y));
    loss = neg(add(posWeight ? mul(pos, posWeight) : pos, negative));
  }
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
export function softmaxCE(pred: V, label: V, sw: V | null, o: Common & { axis?: number; sparseLabel?: boolean; fromLogits?: boolean } = {}): V {
  const axis = o.axis ?? -1;
  const logp = o.fromLogits ? pred : logSoftmax(pred, axis);
  const loss = (o.sparseLabel ?? true)
    ? neg(pick(logp, label, axis, true))
    : neg(sum(mul(logp, reshapeLike(label, logp)), [axis], true));
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
/** 1.9.1 sums over the non-batch axes (1.8 and 2.0 take the mean). */
export function klDiv(pred: V, label: V, sw: V | null, o: Common & { fromLogits?: boolean; axis?: number } = {}): V {
  const logp = (o.fromLogits ?? true) ? pred : logSoftmax(pred, o.axis ?? -1);
  const loss = mul(label, sub(log(add(label, 1e-12)), logp));
  return sumExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
export function huber(pred: V, label: V, sw: V | null, o: Common & { rho?: number } = {}): V {
  const rho = o.rho ?? 1;
  const d = abs(sub(reshapeLike(label, pred), pred));
  const loss = where(greater(d, rho), sub(d, 0.5 * rho), mul(0.5 / rho, square(d)));
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
export function hinge(pred: V, label: V, sw: V | null, o: Common & { margin?: number } = {}): V {
  const loss = relu(sub(o.margin ?? 1, mul(pred, reshapeLike(label, pred))));
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
export function squaredHinge(pred: V, label: V, sw: V | null, o: Common & { margin?: number } = {}): V {
  const loss = square(relu(sub(o.margin ?? 1, mul(pred, reshapeLike(label, pred)))));
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
/** relu(x) − x·z + softrelu(−|x|), z = (label + 1)/2 for signed labels: linear in the label. */
export function logistic(pred: V, label: V, sw: V | null, o: Common & { labelFormat?: 'signed' | 'binary' } = {}): V {
  let z = reshapeLike(label, pred);
  if ((o.labelFormat ?? 'signed') === 'signed') z = div(add(z, 1), 2);
  const loss = add(sub(relu(pred), mul(pred, z)), softrelu(neg(abs(pred))));
  return meanExcept(applyWeighting(loss, o.weight ?? null, sw), o.batchAxis);
}
/** 1.9.1 takes no sample weight here; `sw` is webgluon's extension (applied like the others). */
export function triplet(pred: V, positive: V, negative: V, sw: V | null, o: Common & { margin?: number } = {}): V {
  const p = reshapeLike(positive, pred);
  const n = reshapeLike(negative, pred);
  const d = sumExcept(sub(square(sub(p, pred)), square(sub(n, pred))), o.batchAxis);
  return applyWeighting(relu(add(d, o.margin ?? 1)), o.weight ?? null, sw);
}
/** The elementwise Poisson NLL before 1.9.1's final F.mean over everything. */
export function poissonElements(pred: V, target: V, sw: V | null, o: Common & { fromLogits?: boolean; computeFull?: boolean; epsilon?: number } = {}): V {
  const t = reshapeLike(target, pred);
  let loss = (o.fromLogits ?? true) ? sub(exp(pred), mul(t, pred)) : sub(pred, mul(t, log(add(pred, o.epsilon ?? 1e-8))));
  if (o.computeFull) {
    const stirling = add(sub(mul(t, log(t)), t), mul(0.5, log(mul(mul(2, t), Math.PI))));
    loss = add(loss, mul(stirling, greater(t, 1)));
  }
  return applyWeighting(loss, o.weight ?? null, sw);
}
/** 1.9.1's cosine embedding loss, shape (N, 1). */
export function cosineEmbedding(input1: V, input2: V, label: V, sw: V | null, o: Common & { margin?: number } = {}): V {
  const a = reshapeLike(input1, input2);
  const y = reshape(label, [-1, 1]);
  const norm = (x: V) => reshape(sqrt(sum(square(x), [-1])), [-1, 1]);
  const dot = reshape(sum(mul(a, input2), [-1]), [-1, 1]);
  const cos = div(dot, maximum(mul(norm(a), norm(input2)), leaf([1e-12], [1, 1])));
  const lossA = mul(sub(1, cos), equal(y, 1));
  const lossB = maximum(leaf([0], [1]), mul(equal(y, -1), sub(cos, o.margin ?? 0)));
  return applyWeighting(add(lossA, lossB), o.weight ?? null, sw);
}
/**
 * SDMLLoss: KL (summed per row, from log-probabilities) between the log-softmax of the negated
 * squared distances of every x1 row to every x2 row and the smoothed identity labels.
 */
export function sdml(x1: V, x2: V, o: { smoothingParameter?: number } = {}): V {
  const s = o.smoothingParameter ?? 0.3;
  const [B, D] = x1.shape;
  const diffs = sub(reshape(x1, [B, 1, D]), reshape(x2, [1, B, D]));
  const distances = sum(square(diffs), [2]);
  const labels = leaf(Array.from({ length: B * B }, (_, k) => (Math.floor(k / B) === k % B ? 1 - s : s / (B - 1))), [B, B]);
  return klDiv(logSoftmax(neg(distances), 1), labels, null);
}

// ---- layers ----

export function dense(x: V, w: V, b: V | null, o: { flatten?: boolean; activation?: string | null } = {}): V {
  const flatten = o.flatten ?? true;
  const units = w.shape[0];
  const x2 = flatten ? reshape(x, [x.shape[0], -1]) : reshape(x, [-1, x.shape[x.shape.length - 1]]);
  let y = matmul(x2, w, true);
  if (b) y = add(y, b);
  if (!flatten) y = reshape(y, [...x.shape.slice(0, -1), units]);
  return o.activation ? activation(y, o.activation) : y;
}
export function conv2dLayer(x: V, w: V, b: V | null, o: { strides: [number, number]; padding: [number, number]; activation?: string | null }): V {
  let y = conv2d(x, w, o.strides, o.padding);
  if (b) y = add(y, reshape(b, [1, -1, 1, 1]));
  return o.activation ? activation(y, o.activation) : y;
}
