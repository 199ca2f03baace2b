// argmax/argmin along one axis: a small kernel of its own, since a (value, index) pair does not
// fit the reduce body's single accumulator. Indices come back as float32, as in MXNet.
import { defineOp, type In, type KernelOp } from '../graph/registry.js';
import { normalizeAxis, reducedShape } from '../graph/shape.js';
import { sizeOf, stridesOf, type Attrs, type Shape } from '../base/types.js';

declare module '../graph/registry.js' {
  interface OpSignatures<T> {
    argmax(x: In<T>, axis?: number | { axis?: number; keepdims?: boolean }, keepdims?: boolean): T;
    argmin(x: In<T>, axis?: number | { axis?: number; keepdims?: boolean }, keepdims?: boolean): T;
  }
}

function layout(x: Shape, attrs: Attrs, name: string) {
  const axis = normalizeAxis(name, attrs.axis as number, x.length, x);
  const inner = sizeOf(x.slice(axis + 1));
  return { axis, n: x[axis], inner, outer: sizeOf(x.slice(0, axis)), stride: stridesOf(x)[axis] };
}

function argExtreme(name: string, better: '>' | '<'): KernelOp {
  return defineOp({
    name, kind: 'kernel', inputs: ['x'], attrs: { axis: -1, keepdims: false }, args: ['axis', 'keepdims'],
    dtype: () => 'float32',
    shape: ([x], attrs) => reducedShape(x, [normalizeAxis(name, attrs.axis as number, x.length, x)], attrs.keepdims as boolean),
    kernel: ({ inShapes, outShape, attrs }) => {
      const { n, inner } = layout(inShapes[0], attrs, name);
      const total = sizeOf(outShape);
      return {
        body: `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var o = gid.x; o < ${total}u; o += nwg.x * 64u) {
    let base = (o / ${inner}u) * ${n * inner}u + o % ${inner}u;
    var best = f32(in0[base]);
    var at = 0u;
    for (var k = 1u; k < ${n}u; k++) {
      let v = f32(in0[base + k * ${inner}u]);
      if (v ${better} best) { best = v; at = k; }
    }
    out0[o] = epilogue(f32(at), o);
  }
}`,
        workgroups: [Math.max(1, Math.min(65535, Math.ceil(total / 64))), 1, 1],
      };
    },
    cpu: ([x], attrs, outShape) => {
      const { n, inner } = layout(x.shape, attrs, name);
      const out = new Float32Array(sizeOf(outShape));
      for (let o = 0; o < out.length; o++) {
        const base = Math.floor(o / inner) * n * inner + (o % inner);
        let best = x.data[base];
        let at = 0;
        for (let k = 1; k < n; k++) {
          const v = x.data[base + k * inner];
          if (better === '>' ? v > best : v < best) { best = v; at = k; }
        }
        out[o] = at;
      }
      return out;
    },
    // Ties go to the first index, as in the kernel's strict comparison.
    onnx: (g, { inputs: [x], attrs }) => g.cast(g.node(better === '>' ? 'ArgMax' : 'ArgMin', [g.cast(x, 'float32')], {
      axis: normalizeAxis(name, attrs.axis as number, x.dims.length, x.shape), keepdims: attrs.keepdims ? 1 : 0, select_last_index: 0,
    }), 'float32'),
  });
}
argExtreme('argmax', '>');
argExtreme('argmin', '<');
