// Reductions over axes (sum, mean, max, min): an identity and a combine each, so the emitter can
// fold elementwise producers into the reduction loop and consumers into its epilogue.
import { defineOp, type GradRule, type In, type ReduceBody } from '../graph/registry.js';
import type { OnnxRule } from '../graph/onnx_rule.js';
import { reduceAxes, reducedShape } from '../graph/shape.js';
import type { AttrValue, Attrs, Shape } from '../base/types.js';

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    sum(x: In<T>, axis?: ReduceAxis | ReduceOptions, keepdims?: boolean): T;
    mean(x: In<T>, axis?: ReduceAxis | ReduceOptions, keepdims?: boolean): T;
    max(x: In<T>, axis?: ReduceAxis | ReduceOptions, keepdims?: boolean): T;
    min(x: In<T>, axis?: ReduceAxis | ReduceOptions, keepdims?: boolean): T;
  }
}
export type ReduceAxis = number | readonly number[] | null;
export interface ReduceOptions {
  axis?: ReduceAxis;
  keepdims?: boolean;
}


/** The gradient's shape before broadcasting back: the output with reduced axes kept as 1. */
function keptShape(x: Shape, attrs: Attrs, name: string): number[] {
  return reducedShape(x, reduceAxes(name, x, attrs), true);
}

const sumGrad = (name: string, scale: boolean): GradRule => (F, { x: [x], dy }, attrs) => {
  const kept = F.reshape(dy, keptShape(x.shape, attrs, name));
  const g = F.broadcastTo(kept, x.shape);
  if (!scale) return [g];
  const count = x.shape.length === 0 ? 1 : reduceAxes(name, x.shape, attrs).reduce((n, a) => n * x.shape[a], 1);
  return [F.div(g, count)];
};

/** Max and min send the gradient to every element equal to the extreme (ties share it). */
const extremeGrad = (name: string): GradRule => (F, { x: [x], y, dy }, attrs) => {
  const shape = keptShape(x.shape, attrs, name);
  const hit = F.equal(x, F.reshape(y, shape));
  return [F.mul(F.broadcastTo(F.reshape(dy, shape), x.shape), hit)];
};

/** Opset 18 takes the axes as an input for every Reduce op; a scalar has nothing to reduce. */
const onnxReduce = (opType: string): OnnxRule => (g, { inputs: [x], attrs, dtype }) => {
  const axes = reduceAxes(opType, x.shape, attrs);
  const input = g.cast(x, dtype);
  return axes.length ? g.node(opType, [input, g.ints(axes)], { keepdims: attrs.keepdims ? 1 : 0 }) : g.node('Identity', [input]);
};

function reduction(name: string, body: ReduceBody, grad: GradRule, onnx: OnnxRule): void {
  defineOp({
    name, kind: 'reduce', inputs: ['x'], attrs: { axis: null, keepdims: false }, args: ['axis', 'keepdims'],
    shape: ([s], attrs) => reducedShape(s, reduceAxes(name, s, attrs), attrs.keepdims as boolean),
    dtype: (d) => (name === 'mean' ? 'float32' : d[0]),
    reduce: body, grad, onnx,
  });
}

reduction('sum', { identity: 0, combine: (a, x) => `${a} + ${x}`, cpuCombine: (a, x) => a + x }, sumGrad('sum', false), onnxReduce('ReduceSum'));
reduction('mean', {
  identity: 0, combine: (a, x) => `${a} + ${x}`, cpuCombine: (a, x) => a + x,
  finalize: (a, n) => `${a} / ${n}`, cpuFinalize: (a, n) => a / n,
}, sumGrad('mean', true), onnxReduce('ReduceMean'));
reduction('max', { identity: -Infinity, combine: (a, x) => `max(${a}, ${x})`, cpuCombine: Math.max }, extremeGrad('max'), onnxReduce('ReduceMax'));
reduction('min', { identity: Infinity, combine: (a, x) => `min(${a}, ${x})`, cpuCombine: Math.min }, extremeGrad('min'), onnxReduce('ReduceMin'));
