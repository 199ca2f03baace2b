// Applies a registry op's gradient rule and sums each gradient back to its input's shape
// (undoing broadcasting). The eager tape and the symbolic autodiff both call this one function.
import { NoGradientError } from '../base/errors.js';
import { getOp, type Ops, type Shaped } from './registry.js';
import type { Attrs, Shape } from '../base/types.js';

/** Sums `g` over the axes that broadcasting expanded, so that it has `shape`. */
export function sumTo<T extends Shaped>(F: Ops<T>, g: T, shape: Shape): T {
  const gs = g.shape;
  if (gs.length === shape.length && gs.every((d, i) => d === shape[i])) return g;
  const lead = gs.length - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < gs.length; d++) {
    if (d < lead || (shape[d - lead] === 1 && gs[d] !== 1)) axes.push(d);
  }
  const summed = axes.length ? F.sum(g, axes, true) : g;
  return F.reshape(summed, [...shape]);
}

/** Gradients of one op application w.r.t. each input, shaped like the inputs. */
export function vjp<T extends Shaped>(F: Ops<T>, opName: string, attrs: Attrs, x: readonly T[], y: T, dy: T, where: string,
  wanted: readonly boolean[]): (T | null)[] {
  const op = getOp(opName);
  if (!op.grad) {
    const needs = wanted.some((w, i) => w && !(op.nondiffInputs ?? []).includes(i));
    if (needs) throw new NoGradientError(opName, where);
    return x.map(() => null);
  }
  const grads = op.grad(F, { x, y, dy }, attrs);
  return grads.map((g, i) => (g && wanted[i] ? sumTo(F, g, x[i].shape) : null));
}
