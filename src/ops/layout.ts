// Layout ops: views that only relabel a buffer (reshape, expandDims, flatten, squeeze) and
// gathers that move data (transpose, slice and its gradient, concat, pick, oneHot).
import { ShapeError, currentOrigin } from '../base/errors.js';
import { defineOp, type HostValue, type In } from '../graph/registry.js';
import { fixedDim, isFixed, sameDim, type OnnxBuilder, type OnnxDim, type OnnxValue } from '../graph/onnx_rule.js';
import { normalizeAxes, normalizeAxis } from '../graph/shape.js';
import { sizeOf, stridesOf, type Attrs, type DType, type Shape } from '../base/types.js';

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    reshape(x: In<T>, shape: readonly number[]): T;
    expandDims(x: In<T>, axis: number): T;
    squeeze(x: In<T>, axis?: number | readonly number[] | null): T;
    flatten(x: In<T>): T;
    transpose(x: In<T>, axes?: readonly number[] | null): T;
    slice(x: In<T>, begin: readonly (number | null)[], end: readonly (number | null)[]): T;
    slicePad(x: In<T>, begin: readonly number[], shape: readonly number[]): T;
    concat(xs: readonly In<T>[], axis?: number): T;
    pick(x: In<T>, index: In<T>, axis?: number | { axis?: number; keepdims?: boolean }, keepdims?: boolean): T;
    oneHot(indices: In<T>, depth: number, axis?: number): T;
  }
}

const sameType = (d: readonly DType[]) => d[0];

/** MXNet reshape codes: 0 copies the input's dimension, -1 is inferred from the rest. */
export function resolveReshape(from: Shape, to: readonly number[]): number[] {
  const out = to.map((d, i) => (d === 0 ? from[i] : d));
  const unknown = out.indexOf(-1);
  const known = out.reduce((n, d) => (d === -1 ? n : n * d), 1);
  if (unknown >= 0) out[unknown] = known === 0 ? 0 : sizeOf(from) / known;
  if (out.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(out) !== sizeOf(from)) {
    throw new ShapeError('reshape', currentOrigin(), `cannot reshape ${sizeOf(from)} elements to (${to.join(', ')})`, [from]);
  }
  return out;
}

/**
 * Reshape to `dims` without baking the batch size in: a size that follows the batch is copied
 * from the input (0) where the input has it on the same axis, left to ONNX to infer (-1) when it
 * is the only one left, and computed from N otherwise.
 */
function onnxReshape(g: OnnxBuilder, x: OnnxValue, dims: readonly OnnxDim[]): string {
  if (dims.every(isFixed)) return g.node('Reshape', [x.name, g.ints(dims.map((d) => d.fixed))], dims.some((d) => d.fixed === 0) ? { allowzero: 1 } : {});
  const copied = dims.map((d, i) => !isFixed(d) && i < x.dims.length && sameDim(d, x.dims[i]));
  const rest = dims.flatMap((d, i) => (!isFixed(d) && !copied[i] ? [i] : []));
  // ONNX reads a 0 in the shape as "copy": a true size 0 next to the codes would be misread.
  if (rest.length <= 1 && !dims.some((d) => isFixed(d) && d.fixed === 0)) {
    return g.node('Reshape', [x.name, g.ints(dims.map((d, i) => (copied[i] ? 0 : isFixed(d) ? d.fixed : -1)))]);
  }
  return g.node('Reshape', [x.name, g.dims(dims)], { allowzero: 1 });
}

defineOp({
  name: 'reshape', kind: 'view', inputs: ['x'], attrs: { shape: undefined }, args: ['shape'], dtype: sameType,
  shape: ([s], { shape }) => resolveReshape(s, shape as readonly number[]),
  grad: (F, { x: [x], dy }) => [F.reshape(dy, x.shape)],
  onnx: (g, { inputs: [x], dims }) => onnxReshape(g, x, dims),
});
defineOp({
  name: 'expandDims', kind: 'view', inputs: ['x'], attrs: { axis: undefined }, args: ['axis'], dtype: sameType,
  shape: ([s], { axis }) => {
    const a = normalizeAxis('expandDims', axis as number, s.length + 1, s);
    return [...s.slice(0, a), 1, ...s.slice(a)];
  },
  grad: (F, { x: [x], dy }) => [F.reshape(dy, x.shape)],
  onnx: (g, { inputs: [x], attrs: { axis } }) =>
    g.node('Unsqueeze', [x.name, g.ints([normalizeAxis('expandDims', axis as number, x.dims.length + 1, x.shape)])]),
});
defineOp({
  name: 'squeeze', kind: 'view', inputs: ['x'], attrs: { axis: null }, args: ['axis'], dtype: sameType,
  shape: ([s], { axis }) => {
    const axes = axis === null || axis === undefined ? s.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axis, s.length, s);
    for (const a of axes) {
      if (s[a] !== 1) throw new ShapeError('squeeze', currentOrigin(), `axis ${a} has size ${s[a]}, not 1`, [s]);
    }
    return s.filter((_, i) => !axes.includes(i));
  },
  grad: (F, { x: [x], dy }) => [F.reshape(dy, x.shape)],
  onnx: (g, { inputs: [x], dims }) => onnxReshape(g, x, dims),
});
defineOp({
  name: 'flatten', kind: 'view', inputs: ['x'], dtype: sameType,
  shape: ([s]) => (s.length === 0 ? [1, 1] : [s[0], sizeOf(s.slice(1))]),
  grad: (F, { x: [x], dy }) => [F.reshape(dy, x.shape)],
  onnx: (g, { inputs: [x], dims }) => (x.dims.length ? g.node('Flatten', [x.name], { axis: 1 }) : onnxReshape(g, x, dims)),
});

/** Visits every output coordinate in row-major order; the CPU gathers are written with it. */
function gatherCpu(outShape: Shape, dtype: DType, value: (coord: number[]) => number): Float32Array | Int32Array {
  const n = sizeOf(outShape);
  const out = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  const coord = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < n; i++) {
    out[i] = value(coord);
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
  return out;
}
function at(x: HostValue, coord: readonly number[]): number {
  const st = stridesOf(x.shape);
  let o = 0;
  for (let d = 0; d < coord.length; d++) o += coord[d] * st[d];
  return x.data[o];
}

function transposeAxes(rank: number, axes: unknown): number[] {
  return axes === null || axes === undefined ? [...Array(rank).keys()].reverse() : [...(axes as number[])];
}
defineOp({
  name: 'transpose', kind: 'gather', inputs: ['x'], attrs: { axes: null }, args: ['axes'], dtype: sameType,
  shape: ([s], { axes }) => {
    const p = transposeAxes(s.length, axes);
    if (p.length !== s.length || [...p].sort().some((a, i) => a !== i)) {
      throw new ShapeError('transpose', currentOrigin(), `axes (${p.join(', ')}) are not a permutation of ${s.length} axes`, [s]);
    }
    return p.map((a) => s[a]);
  },
  gather: (ctx, { axes }) => {
    const p = transposeAxes(ctx.outShape.length, axes);
    const inCoord = p.map((_, j) => ctx.out[p.indexOf(j)]);
    return ctx.load(0, inCoord);
  },
  cpu: ([x], { axes }, outShape) => {
    const p = transposeAxes(outShape.length, axes);
    return gatherCpu(outShape, x.dtype, (c) => at(x, p.map((_, j) => c[p.indexOf(j)])));
  },
  grad: (F, { dy }, { axes }) => {
    const p = transposeAxes(dy.shape.length, axes);
    return [F.transpose(dy, p.map((_, j) => p.indexOf(j)))];
  },
  onnx: (g, { inputs: [x], attrs: { axes } }) => g.node('Transpose', [x.name], { perm: transposeAxes(x.dims.length, axes) }),
});

/** Resolves slice bounds NumPy-style (negative counts from the end, null means the edge). */
export function sliceBounds(s: Shape, attrs: Attrs): { begin: number[]; size: number[] } {
  const b = attrs.begin as readonly (number | null)[];
  const e = attrs.end as readonly (number | null)[];
  const begin: number[] = [];
  const size: number[] = [];
  s.forEach((d, i) => {
    const clampIdx = (v: number | null | undefined, dflt: number) =>
      v === null || v === undefined ? dflt : Math.min(d, Math.max(0, v < 0 ? v + d : v));
    const lo = clampIdx(b?.[i], 0);
    const hi = clampIdx(e?.[i], d);
    begin.push(lo);
    size.push(Math.max(0, hi - lo));
  });
  return { begin, size };
}
defineOp({
  name: 'slice', kind: 'gather', inputs: ['x'], attrs: { begin: undefined, end: undefined }, args: ['begin', 'end'],
  dtype: sameType,
  shape: ([s], attrs) => sliceBounds(s, attrs).size,
  gather: (ctx, attrs) => {
    const { begin } = sliceBounds(ctx.inShapes[0], attrs);
    return ctx.load(0, ctx.out.map((c, i) => `(${c} + ${begin[i]}u)`));
  },
  cpu: ([x], attrs, outShape) => {
    const { begin } = sliceBounds(x.shape, attrs);
    return gatherCpu(outShape, x.dtype, (c) => at(x, c.map((v, i) => v + begin[i])));
  },
  grad: (F, { x: [x], dy }, attrs) => [F.slicePad(dy, sliceBounds(x.shape, attrs).begin, x.shape)],
  // ONNX's Slice reads bounds as NumPy does (negative from the end, clamped to the axis), so the
  // bounds go in as given; bounds computed from the batch size are computed from N in the model.
  onnx: (g, { inputs: [x], attrDims }) => {
    const begin = attrDims('begin');
    const end = attrDims('end');
    const axes = x.dims.map((_, i) => i).filter((i) => begin[i] != null || end[i] != null);
    if (!axes.length) return g.node('Identity', [x.name]);
    const starts = axes.map((i) => begin[i] ?? fixedDim(0));
    const ends = axes.map((i) => end[i] ?? fixedDim(Number.MAX_SAFE_INTEGER));
    return g.node('Slice', [x.name, g.dims(starts), g.dims(ends), g.ints(axes)]);
  },
});
/** Slice's gradient: places x at `begin` inside zeros of `shape`. */
defineOp({
  name: 'slicePad', kind: 'gather', inputs: ['x'], attrs: { begin: undefined, shape: undefined }, args: ['begin', 'shape'],
  dtype: sameType,
  shape: (_s, { shape }) => [...(shape as number[])],
  gather: (ctx, { begin }) => {
    const b = begin as number[];
    const inside = ctx.out.map((c, i) => `(${c} >= ${b[i]}u && ${c} < ${b[i] + ctx.inShapes[0][i]}u)`).join(' && ') || 'true';
    const coords = ctx.out.map((c, i) => `min(${c} - min(${c}, ${b[i]}u), ${Math.max(0, ctx.inShapes[0][i] - 1)}u)`);
    return `select(0.0, ${ctx.load(0, coords)}, ${inside})`;
  },
  cpu: ([x], { begin }, outShape) => {
    const b = begin as number[];
    return gatherCpu(outShape, x.dtype, (c) => {
      const inner = c.map((v, i) => v - b[i]);
      return inner.every((v, i) => v >= 0 && v < x.shape[i]) ? at(x, inner) : 0;
    });
  },
  grad: (F, { x: [x], dy }, { begin }) => [F.slice(dy, begin as number[], (begin as number[]).map((v, i) => v + x.shape[i]))],
  onnx: (g, { inputs: [x], dims, attrDims }) => {
    const begin = attrDims('begin').map((d) => d ?? fixedDim(0));
    const after = dims.map((d, i) => ({ batch: d.batch - begin[i].batch - x.dims[i].batch, fixed: d.fixed - begin[i].fixed - x.dims[i].fixed }));
    return g.node('Pad', [x.name, g.dims([...begin, ...after]), g.constant([0], x.dtype, [])]);
  },
});

defineOp({
  name: 'concat', kind: 'gather', inputs: ['...xs'], attrs: { axis: 1 }, args: ['axis'], dtype: (d) => d[0],
  shape: (shapes, { axis }) => {
    const a = normalizeAxis('concat', axis as number, shapes[0].length, shapes[0]);
    for (const s of shapes) {
      if (s.length !== shapes[0].length || s.some((d, i) => i !== a && d !== shapes[0][i])) {
        throw new ShapeError('concat', currentOrigin(), `shapes differ off the concat axis ${a}`, shapes);
      }
    }
    return shapes[0].map((d, i) => (i === a ? shapes.reduce((n, s) => n + s[a], 0) : d));
  },
  gather: (ctx, { axis }) => {
    const a = normalizeAxis('concat', axis as number, ctx.outShape.length, ctx.outShape);
    let offset = 0;
    let expr = '0.0';
    const parts: [number, string][] = ctx.inShapes.map((s, i) => {
      const lo = offset;
      offset += s[a];
      const coords = ctx.out.map((c, d) => (d === a ? `min(${c} - min(${c}, ${lo}u), ${Math.max(0, s[a] - 1)}u)` : c));
      return [offset, ctx.load(i, coords)];
    });
    for (let i = parts.length - 1; i >= 0; i--) expr = i === parts.length - 1 ? parts[i][1] : `select(${expr}, ${parts[i][1]}, ${ctx.out[a]} < ${parts[i][0]}u)`;
    return expr;
  },
  cpu: (xs, { axis }, outShape) => {
    const a = normalizeAxis('concat', axis as number, outShape.length, outShape);
    return gatherCpu(outShape, xs[0].dtype, (c) => {
      let k = c[a];
      for (const x of xs) {
        if (k < x.shape[a]) return at(x, c.map((v, d) => (d === a ? k : v)));
        k -= x.shape[a];
      }
      return 0;
    });
  },
  grad: (F, { x: xs, dy }, { axis }) => {
    const a = normalizeAxis('concat', axis as number, dy.shape.length, dy.shape);
    let lo = 0;
    return xs.map((x) => {
      const begin = dy.shape.map((_, d) => (d === a ? lo : 0));
      lo += x.shape[a];
      return F.slice(dy, begin, dy.shape.map((n, d) => (d === a ? lo : n)));
    });
  },
  onnx: (g, { inputs, dtype, attrs: { axis } }) =>
    g.node('Concat', inputs.map((x) => g.cast(x, dtype)), { axis: normalizeAxis('concat', axis as number, inputs[0].dims.length, inputs[0].shape) }),
});

/** pick(x, index, axis): x's element at position index along axis (MXNet's pick, mode clip). */
defineOp({
  name: 'pick', kind: 'gather', inputs: ['x', 'index'], attrs: { axis: -1, keepdims: false }, args: ['axis', 'keepdims'],
  dtype: (d) => d[0], nondiffInputs: [1],
  shape: ([s, idx], { axis, keepdims }) => {
    const a = normalizeAxis('pick', axis as number, s.length, s);
    const out = s.filter((_, i) => i !== a);
    const idxOk = idx.length === out.length ? idx.every((d, i) => d === out[i])
      : idx.length === s.length && idx.every((d, i) => (i === a ? d === 1 : d === s[i]));
    if (!idxOk) throw new ShapeError('pick', currentOrigin(), 'index shape must match data without the picked axis', [s, idx], ['data', 'index']);
    return keepdims ? s.map((d, i) => (i === a ? 1 : d)) : out;
  },
  gather: (ctx, { axis, keepdims }) => {
    const s = ctx.inShapes[0];
    const a = normalizeAxis('pick', axis as number, s.length, s);
    const rest = keepdims ? ctx.out.filter((_, i) => i !== a) : ctx.out;
    const idxCoords = ctx.inShapes[1].length === s.length ? [...rest.slice(0, a), '0u', ...rest.slice(a)] : rest;
    const k = `u32(clamp(${ctx.load(1, idxCoords)}, 0.0, ${s[a] - 1}.0))`;
    return ctx.load(0, [...rest.slice(0, a), k, ...rest.slice(a)]);
  },
  cpu: ([x, index], { axis, keepdims }, outShape) => {
    const a = normalizeAxis('pick', axis as number, x.shape.length, x.shape);
    return gatherCpu(outShape, x.dtype, (c) => {
      const rest = keepdims ? c.filter((_, i) => i !== a) : c;
      const ic = index.shape.length === x.shape.length ? [...rest.slice(0, a), 0, ...rest.slice(a)] : rest;
      const k = Math.min(x.shape[a] - 1, Math.max(0, Math.trunc(at(index, ic))));
      return at(x, [...rest.slice(0, a), k, ...rest.slice(a)]);
    });
  },
  grad: (F, { x: [x, index], dy }, { axis, keepdims }) => {
    const a = normalizeAxis('pick', axis as number, x.shape.length, x.shape);
    const idx = index.shape.length === x.shape.length ? F.squeeze(index, a) : index;
    const g = keepdims ? dy : F.expandDims(dy, a);
    return [F.mul(g, F.oneHot(idx, x.shape[a], a)), null];
  },
  // Clamped, then truncated like the kernel's u32(clamp(i, 0, n - 1)); GatherElements wants the
  // index with x's rank, the picked axis of size 1.
  onnx: (g, { inputs: [x, index], attrs: { axis, keepdims } }) => {
    const a = normalizeAxis('pick', axis as number, x.dims.length, x.shape);
    if (!isFixed(x.dims[a])) g.fail(`it picks along axis ${a}, whose size follows the batch`);
    const clamped = g.node('Clip', [g.cast(index, 'float32'), g.constant([0], 'float32', []), g.constant([x.dims[a].fixed - 1], 'float32', [])]);
    let k = g.cast(clamped, 'int64');
    if (index.dims.length < x.dims.length) k = g.node('Unsqueeze', [k, g.ints([a])]);
    const picked = g.node('GatherElements', [x.name, k], { axis: a });
    return keepdims ? picked : g.node('Squeeze', [picked, g.ints([a])]);
  },
});

defineOp({
  name: 'oneHot', kind: 'gather', inputs: ['indices'], attrs: { depth: undefined, axis: -1 }, args: ['depth', 'axis'],
  dtype: () => 'float32', nondiffInputs: [0],
  shape: ([s], { depth, axis }) => {
    const a = normalizeAxis('oneHot', axis as number, s.length + 1, s);
    return [...s.slice(0, a), depth as number, ...s.slice(a)];
  },
  gather: (ctx, { axis }) => {
    const a = normalizeAxis('oneHot', axis as number, ctx.outShape.length, ctx.outShape);
    const rest = ctx.out.filter((_, i) => i !== a);
    return `select(0.0, 1.0, ${ctx.load(0, rest)} == f32(${ctx.out[a]}))`;
  },
  cpu: ([x], { axis }, outShape) => {
    const a = normalizeAxis('oneHot', axis as number, outShape.length, outShape);
    return gatherCpu(outShape, 'float32', (c) => +(at(x, c.filter((_, i) => i !== a)) === c[a]));
  },
  grad: () => [null],
  // Compared with 0..depth-1 as the kernel does: ONNX's OneHot would wrap negative indices.
  onnx: (g, { inputs: [x], dims, attrs: { depth, axis } }) => {
    const a = normalizeAxis('oneHot', axis as number, dims.length, x.shape);
    const n = depth as number;
    const classes = g.constant([...Array(n).keys()], 'float32', dims.map((_, i) => (i === a ? n : 1)));
    return g.cast(g.node('Equal', [g.node('Unsqueeze', [g.cast(x, 'float32'), g.ints([a])]), classes]), 'float32');
  },
});
