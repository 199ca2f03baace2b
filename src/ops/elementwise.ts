// Elementwise ops: one WGSL expression and one scalar reference each, over NumPy-broadcast
// inputs. Fusion inlines these expressions; gradients are compositions of these same ops.
import { defineOp, type ElementwiseOp, type GradRule, type In } from '../graph/registry.js';
import { fixedDim, sameDim, type OnnxBuilder, type OnnxNode, type OnnxRule } from '../graph/onnx_rule.js';
import { broadcastShapes } from '../graph/shape.js';
import { sameShape, type DType, type Shape } from '../base/types.js';
import { ShapeError, currentOrigin } from '../base/errors.js';
import { f32 } from '../codegen/literals.js';

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    add(a: In<T>, b: In<T>): T;
    sub(a: In<T>, b: In<T>): T;
    mul(a: In<T>, b: In<T>): T;
    div(a: In<T>, b: In<T>): T;
    pow(a: In<T>, b: In<T>): T;
    maximum(a: In<T>, b: In<T>): T;
    minimum(a: In<T>, b: In<T>): T;
    greater(a: In<T>, b: In<T>): T;
    greaterEqual(a: In<T>, b: In<T>): T;
    lesser(a: In<T>, b: In<T>): T;
    lesserEqual(a: In<T>, b: In<T>): T;
    equal(a: In<T>, b: In<T>): T;
    notEqual(a: In<T>, b: In<T>): T;
    neg(x: In<T>): T;
    abs(x: In<T>): T;
    sign(x: In<T>): T;
    square(x: In<T>): T;
    sqrt(x: In<T>): T;
    exp(x: In<T>): T;
    log(x: In<T>): T;
    relu(x: In<T>): T;
    sigmoid(x: In<T>): T;
    tanh(x: In<T>): T;
    clip(x: In<T>, lo: number, hi: number): T;
    inRange(x: In<T>, lo: number, hi: number): T;
    where(cond: In<T>, x: In<T>, y: In<T>): T;
    blockGrad(x: In<T>): T;
    identity(x: In<T>): T;
    isNonFinite(x: In<T>): T;
    astype(x: In<T>, dtype: DType): T;
    broadcastTo(x: In<T>, shape: readonly number[]): T;
  }
}

const broadcast = (name: string) => (shapes: readonly Shape[]) => broadcastShapes(name, shapes);
const floatOut = (): DType => 'float32';
const numericOut = (d: readonly DType[]): DType => (d.every((t) => t === 'int32') ? 'int32' : 'float32');

interface More {
  dtype?: (d: readonly DType[]) => DType;
  onnx?: OnnxRule;
}

function unary(name: string, wgsl: (x: string) => string, cpu: (x: number) => number, grad: GradRule | undefined,
  { dtype = floatOut, onnx }: More): ElementwiseOp {
  return defineOp({ name, kind: 'elementwise', inputs: ['x'], shape: (s) => [...s[0]], dtype,
    wgsl: (x) => wgsl(x[0]), cpu: (x) => cpu(x[0]), grad, onnx });
}

function binary(name: string, wgsl: (a: string, b: string) => string, cpu: (a: number, b: number) => number,
  grad: GradRule | undefined, { dtype = numericOut, onnx }: More): ElementwiseOp {
  return defineOp({ name, kind: 'elementwise', inputs: ['a', 'b'], shape: broadcast(name), dtype,
    wgsl: (x) => wgsl(x[0], x[1]), cpu: (x) => cpu(x[0], x[1]), grad, onnx });
}

// ONNX compares into bool tensors; webgluon's comparisons give float32 0/1 and compute in f32.
const floats = (g: OnnxBuilder, n: OnnxNode) => n.inputs.map((x) => g.cast(x, 'float32'));
const compare = (opType: string, negate = false) => (g: OnnxBuilder, n: OnnxNode) => {
  const b = g.node(opType, floats(g, n));
  return g.cast(negate ? g.node('Not', [b]) : b, 'float32');
};

const bool = (c: string) => `select(0.0, 1.0, ${c})`;
/** Comparisons are piecewise constant: their gradient is zero everywhere it exists. */
const zeroGrad: GradRule = () => [null, null];

binary('add', (a, b) => `(${a} + ${b})`, (a, b) => a + b, (F, { dy }) => [dy, dy], { onnx: 'Add' });
binary('sub', (a, b) => `(${a} - ${b})`, (a, b) => a - b, (F, { dy }) => [dy, F.neg(dy)], { onnx: 'Sub' });
binary('mul', (a, b) => `(${a} * ${b})`, (a, b) => Math.fround(a * b),
  (F, { x: [a, b], dy }) => [F.mul(dy, b), F.mul(dy, a)], { onnx: 'Mul' });
binary('div', (a, b) => `(${a} / ${b})`, (a, b) => a / b,
  (F, { x: [a, b], y, dy }) => [F.div(dy, b), F.neg(F.div(F.mul(dy, y), b))], { dtype: floatOut, onnx: 'Div' });
// WGSL's pow is undefined for a negative base; NumPy's is defined for integer exponents.
binary('pow', (a, b) => `wg_pow(${a}, ${b})`, (a, b) => Math.pow(a, b),
  (F, { x: [a, b], y, dy }) => [
    F.mul(dy, F.mul(b, F.pow(a, F.sub(b, 1)))),
    F.mul(dy, F.mul(y, F.log(a))),
  ], { dtype: floatOut, onnx: 'Pow' });
binary('maximum', (a, b) => `max(${a}, ${b})`, (a, b) => Math.max(a, b),
  (F, { x: [a, b], dy }) => [F.mul(dy, F.greaterEqual(a, b)), F.mul(dy, F.lesser(a, b))], { onnx: 'Max' });
binary('minimum', (a, b) => `min(${a}, ${b})`, (a, b) => Math.min(a, b),
  (F, { x: [a, b], dy }) => [F.mul(dy, F.lesserEqual(a, b)), F.mul(dy, F.greater(a, b))], { onnx: 'Min' });
binary('greater', (a, b) => bool(`${a} > ${b}`), (a, b) => +(a > b), zeroGrad, { dtype: floatOut, onnx: compare('Greater') });
binary('greaterEqual', (a, b) => bool(`${a} >= ${b}`), (a, b) => +(a >= b), zeroGrad, { dtype: floatOut, onnx: compare('GreaterOrEqual') });
binary('lesser', (a, b) => bool(`${a} < ${b}`), (a, b) => +(a < b), zeroGrad, { dtype: floatOut, onnx: compare('Less') });
binary('lesserEqual', (a, b) => bool(`${a} <= ${b}`), (a, b) => +(a <= b), zeroGrad, { dtype: floatOut, onnx: compare('LessOrEqual') });
binary('equal', (a, b) => bool(`${a} == ${b}`), (a, b) => +(a === b), zeroGrad, { dtype: floatOut, onnx: compare('Equal') });
binary('notEqual', (a, b) => bool(`${a} != ${b}`), (a, b) => +(a !== b), zeroGrad, { dtype: floatOut, onnx: compare('Equal', true) });

const sameType = (d: readonly DType[]) => d[0];
unary('neg', (x) => `(-${x})`, (x) => -x, (F, { dy }) => [F.neg(dy)], { dtype: sameType, onnx: 'Neg' });
unary('abs', (x) => `abs(${x})`, Math.abs, (F, { x: [x], dy }) => [F.mul(dy, F.sign(x))], { dtype: sameType, onnx: 'Abs' });
unary('sign', (x) => `sign(${x})`, Math.sign, () => [null], { dtype: sameType, onnx: 'Sign' });
unary('square', (x) => `(${x} * ${x})`, (x) => x * x, (F, { x: [x], dy }) => [F.mul(dy, F.mul(2, x))], {
  dtype: sameType, onnx: (g, { inputs: [x] }) => g.node('Mul', [x.name, x.name]),
});
unary('sqrt', (x) => `sqrt(${x})`, Math.sqrt, (F, { y, dy }) => [F.div(dy, F.mul(2, y))], { onnx: 'Sqrt' });
unary('exp', (x) => `exp(${x})`, Math.exp, (F, { y, dy }) => [F.mul(dy, y)], { onnx: 'Exp' });
unary('log', (x) => `log(${x})`, Math.log, (F, { x: [x], dy }) => [F.div(dy, x)], { onnx: 'Log' });
// The gradient reads the output (y > 0 exactly where x > 0): then only the activation's output
// is kept for backward, and bias + relu stay fused in the matmul/conv epilogue.
unary('relu', (x) => `max(${x}, 0.0)`, (x) => Math.max(x, 0), (F, { y, dy }) => [F.mul(dy, F.greater(y, 0))], { dtype: sameType, onnx: 'Relu' });
unary('sigmoid', (x) => `(1.0 / (1.0 + exp(-${x})))`, (x) => 1 / (1 + Math.exp(-x)),
  (F, { y, dy }) => [F.mul(dy, F.mul(y, F.sub(1, y)))], { onnx: 'Sigmoid' });
// Some Vulkan drivers compute tanh as a ratio of exponentials that overflows past |x| ≈ 44.
unary('tanh', (x) => `tanh(clamp(${x}, -15.0, 15.0))`, Math.tanh,
  (F, { y, dy }) => [F.mul(dy, F.sub(1, F.square(y)))], { onnx: 'Tanh' });
unary('blockGrad', (x) => x, (x) => x, () => [null], { dtype: sameType, onnx: 'Identity' });
unary('identity', (x) => x, (x) => x, (F, { dy }) => [dy], { dtype: sameType, onnx: 'Identity' });
// By bit pattern: WGSL compilers may assume floats are finite and fold `x != x` away.
unary('isNonFinite', (x) => bool(`!wg_is_finite(${x})`), (x) => +!Number.isFinite(x), () => [null], {
  onnx: (g, n) => {
    const [x] = floats(g, n);
    return g.cast(g.node('Or', [g.node('IsNaN', [x]), g.node('IsInf', [x])]), 'float32');
  },
});

defineOp({
  name: 'clip', kind: 'elementwise', inputs: ['x'], attrs: { lo: undefined, hi: undefined }, args: ['lo', 'hi'],
  shape: (s) => [...s[0]], dtype: sameType,
  wgsl: ([x], { lo, hi }) => `clamp(${x}, ${f32(lo as number)}, ${f32(hi as number)})`,
  cpu: ([x], { lo, hi }) => Math.min(hi as number, Math.max(lo as number, x)),
  grad: (F, { x: [x], dy }, { lo, hi }) => [F.mul(dy, F.inRange(x, lo as number, hi as number))],
  // Clamped in f32 as the kernel does, so an infinite bound stays one for int32 values too.
  onnx: (g, { inputs: [x], dtype, attrs: { lo, hi } }) => g.cast(g.node('Clip', [
    g.cast(x, 'float32'), g.constant([lo as number], 'float32', []), g.constant([hi as number], 'float32', []),
  ]), dtype),
});
defineOp({
  name: 'inRange', kind: 'elementwise', inputs: ['x'], attrs: { lo: undefined, hi: undefined }, args: ['lo', 'hi'],
  shape: (s) => [...s[0]], dtype: floatOut,
  wgsl: ([x], { lo, hi }) => bool(`${x} >= ${f32(lo as number)} && ${x} <= ${f32(hi as number)}`),
  cpu: ([x], { lo, hi }) => +(x >= (lo as number) && x <= (hi as number)),
  grad: () => [null],
  onnx: (g, n) => {
    const [x] = floats(g, n);
    const { lo, hi } = n.attrs;
    const inside = g.node('And', [
      g.node('GreaterOrEqual', [x, g.constant([lo as number], 'float32', [])]),
      g.node('LessOrEqual', [x, g.constant([hi as number], 'float32', [])]),
    ]);
    return g.cast(inside, 'float32');
  },
});
defineOp({
  name: 'where', kind: 'elementwise', inputs: ['cond', 'x', 'y'], shape: broadcast('where'),
  dtype: (d) => numericOut(d.slice(1)), nondiffInputs: [0],
  wgsl: ([c, x, y]) => `select(${y}, ${x}, ${c} != 0.0)`,
  cpu: ([c, x, y]) => (c !== 0 ? x : y),
  grad: (F, { x: [c], dy }) => [null, F.where(c, dy, 0), F.where(c, 0, dy)],
  onnx: (g, { inputs: [c, x, y], dtype }) => g.node('Where', [g.cast(c, 'bool'), g.cast(x, dtype), g.cast(y, dtype)]),
});
defineOp({
  name: 'astype', kind: 'elementwise', inputs: ['x'], attrs: { dtype: 'float32' }, args: ['dtype'],
  shape: (s) => [...s[0]], dtype: (_d, { dtype }) => dtype as DType,
  // Values are computed in f32 and stored in the output's type; int32 truncates toward zero.
  wgsl: ([x], { dtype }) => (dtype === 'int32' ? `trunc(${x})` : x),
  cpu: ([x], { dtype }) => (dtype === 'int32' ? Math.trunc(x) : x),
  grad: (F, { dy }) => [dy],
  // ONNX's Cast from float to int truncates toward zero too.
  onnx: (g, { inputs: [x], dtype }) => g.cast(x, dtype),
});
defineOp({
  name: 'broadcastTo', kind: 'elementwise', inputs: ['x'], attrs: { shape: undefined }, args: ['shape'],
  shape: (s, { shape }) => {
    const target = shape as readonly number[];
    const out = broadcastShapes('broadcastTo', [s[0], target]);
    if (!sameShape(out, target)) {
      throw new ShapeError('broadcastTo', currentOrigin(), 'the input does not broadcast to the target shape', [s[0], target], ['input', 'target']);
    }
    return out;
  },
  dtype: sameType,
  wgsl: ([x]) => x,
  cpu: ([x]) => x,
  grad: (F, { dy }) => [dy],
  // Expand broadcasts its input against the shape: a 1 where x already has the size keeps a
  // batch-sized axis dynamic without computing N.
  onnx: (g, { inputs: [x], dims }) => {
    const lead = dims.length - x.dims.length;
    const target = dims.map((d, i) => (i >= lead && sameDim(x.dims[i - lead], d) ? fixedDim(1) : d));
    return g.node('Expand', [x.name, g.dims(target)]);
  },
});


