// Shape rules shared by registry entries: NumPy broadcasting, axis normalisation and reduced
// shapes. Each rule throws a ShapeError that names the op, the origin and every input shape.
import { ShapeError, currentOrigin } from '../base/errors.js';
import type { AttrValue, Attrs, Shape } from '../base/types.js';

export function broadcastShapes(op: string, shapes: readonly Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = rank - s.length + i;
      const a = out[d];
      const b = s[i];
      if (a === b || b === 1) continue;
      if (a === 1) {
        out[d] = b;
        continue;
      }
      const fromEnd = rank - d;
      throw new ShapeError(op, currentOrigin(), `broadcast mismatch (axis -${fromEnd}: ${a} vs ${b})`, shapes,
        shapes.length === 2 ? ['left', 'right'] : undefined);
    }
  }
  return out;
}

/** Normalises an axis attribute (number, list, or undefined meaning all axes) to sorted axes. */
export function normalizeAxes(op: string, axis: AttrValue, rank: number, shape: Shape): number[] {
  if (axis === undefined || axis === null) return [...Array(rank).keys()];
  const list = typeof axis === 'number' ? [axis] : (axis as readonly number[]);
  const out = list.map((a) => {
    const n = a < 0 ? a + rank : a;
    if (!Number.isInteger(n) || n < 0 || n >= rank) {
      throw new ShapeError(op, currentOrigin(), `axis ${a} is out of range for rank ${rank}`, [shape]);
    }
    return n;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

export function normalizeAxis(op: string, axis: number, rank: number, shape: Shape): number {
  return normalizeAxes(op, axis, rank, shape)[0];
}

export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

export function reduceAxes(name: string, shape: Shape, attrs: Attrs): number[] {
  return normalizeAxes(name, attrs.axis as AttrValue, shape.length, shape);
}
