// Pooling kernel templates (NCHW, max or average): forward writes one output per invocation;
// backward gathers, per input element, the gradients of the windows that chose it (no atomics).
import type { KernelTemplate } from '../../graph/kernel_template.js';
import type { Attrs, Shape } from '../../base/types.js';
import { f32 } from '../literals.js';
import { dispatchGroups, linearGroup } from './matmul.js';

export interface PoolGeometry {
  planes: number; H: number; W: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; PH: number; PW: number;
  isMax: boolean;
  /** Average: the divisor counts padding (MXNet's count_include_pad, the default). */
  countIncludePad: boolean;
}

function pair(v: Attrs[string], fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const list = v as readonly number[];
  return [list[0], list[1] ?? list[0]];
}

export function poolGeometry(x: Shape, y: Shape, attrs: Attrs): PoolGeometry {
  const [KH, KW] = pair(attrs.kernel, 1);
  const [SH, SW] = pair(attrs.stride, 1);
  const [PH, PW] = pair(attrs.pad, 0);
  return {
    planes: x[0] * x[1], H: x[2], W: x[3], OH: y[2], OW: y[3], KH, KW, SH, SW, PH, PW,
    isMax: attrs.poolType !== 'avg', countIncludePad: attrs.countIncludePad !== false,
  };
}

/**
 * The average's divisor when it is the same for every window, else null. As MXNet's pool.h: a
 * window starting at h0 = o·S − P ends at min(h0 + K, H + P) (ceilMode's last windows may end
 * past the padded input), and counts the padding it covers unless countIncludePad is false.
 */
export function constantWindowCount(g: PoolGeometry): number | null {
  const overflows = (O: number, S: number, K: number, P: number, size: number) => (O - 1) * S - P + K > size + P;
  const touchesPadding = (O: number, S: number, K: number, P: number, size: number) => P > 0 || (O - 1) * S + K > size;
  const varies = g.countIncludePad
    ? overflows(g.OH, g.SH, g.KH, g.PH, g.H) || overflows(g.OW, g.SW, g.KW, g.PW, g.W)
    : touchesPadding(g.OH, g.SH, g.KH, g.PH, g.H) || touchesPadding(g.OW, g.SW, g.KW, g.PW, g.W);
  return varies ? null : g.KH * g.KW;
}

/** WGSL f32 expression of the average's divisor for the window starting at (h0, w0) (i32 expressions). */
function windowCount(g: PoolGeometry, h0: string, w0: string): string {
  const constant = constantWindowCount(g);
  if (constant !== null) return f32(constant);
  const extent = (start: string, K: number, size: number, P: number) => g.countIncludePad
    ? `(min(${start} + ${K}i, ${size + P}i) - ${start})`
    : `(min(${start} + ${K}i, ${size}i) - max(${start}, 0i))`;
  return `f32(${extent(h0, g.KH, g.H, g.PH)} * ${extent(w0, g.KW, g.W, g.PW)})`;
}

const WG = 64;

function header(count: number): string[] {
  const groups = Math.ceil(count / WG);
  return [
    `@compute @workgroup_size(${WG})`,
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {`,
    `  let i = (${linearGroup(groups)}) * ${WG}u + lid.x;`,
    `  if (i >= ${count}u) { return; }`,
  ];
}

/** Max skips padding (MXNet pads with −∞); avg divides by the window's count (see constantWindowCount). */
export const pool2dKernel: KernelTemplate = (ctx) => {
  const g = poolGeometry(ctx.inShapes[0], ctx.outShape, ctx.attrs);
  const count = g.planes * g.OH * g.OW;
  const body = [
    ...header(count),
    `  let ow = i % ${g.OW}u;`,
    `  let oh = (i / ${g.OW}u) % ${g.OH}u;`,
    `  let plane = (i / ${g.OW * g.OH}u) * ${g.H * g.W}u;`,
    `  let h0 = i32(oh * ${g.SH}u) - ${g.PH}i;`,
    `  let w0 = i32(ow * ${g.SW}u) - ${g.PW}i;`,
    `  var acc = ${g.isMax ? f32(-Infinity) : '0.0'};`,
    `  for (var u = 0i; u < ${g.KH}i; u++) {`,
    `    let ih = h0 + u;`,
    `    if (u32(ih) >= ${g.H}u) { continue; }`,
    `    for (var v = 0i; v < ${g.KW}i; v++) {`,
    `      let iw = w0 + v;`,
    `      if (u32(iw) >= ${g.W}u) { continue; }`,
    `      let x = in0[plane + u32(ih) * ${g.W}u + u32(iw)];`,
    g.isMax ? `      acc = select(acc, x, x > acc);` : `      acc += x;`,
    `    }`,
    `  }`,
    `  out0[i] = epilogue(${g.isMax ? 'acc' : `acc / ${windowCount(g, 'h0', 'w0')}`}, i);`,
    `}`,
  ];
  return { body: body.join('\n'), workgroups: dispatchGroups(Math.ceil(count / WG)) };
};

/**
 * dx = pool2dBackward(x, y, dy). Each input element visits the (at most ⌈K/S⌉²) windows that
 * contain it. For max it takes a window's gradient only if it is the window's first element (in
 * row-major order) equal to the window's maximum y, as MXNet does; for avg a 1/count share.
 */
export const pool2dBackwardKernel: KernelTemplate = (ctx) => {
  const g = poolGeometry(ctx.outShape, ctx.inShapes[2], ctx.attrs);
  if (tilesInput(g) && (ctx.tuning.poolBackwardPerWindow ?? 1) === 1) return perWindowBackward(g);
  const count = g.planes * g.H * g.W;
  const L = header(count);
  const emit = (s: string) => L.push(s);
  emit(`  let iw = i32(i % ${g.W}u);`);
  emit(`  let ih = i32((i / ${g.W}u) % ${g.H}u);`);
  emit(`  let p = i / ${g.W * g.H}u;`);
  emit(`  let plane = p * ${g.H * g.W}u;`);
  emit(`  let outPlane = p * ${g.OH * g.OW}u;`);
  if (g.isMax) emit(`  let x = in0[i];`);
  else emit(`  _ = in0[0]; _ = in1[0];`);
  // The windows holding row ih start at oh·S − P ∈ (ih − K, ih]: oh from ⌈(ih + P − K + 1) / S⌉.
  // (Shifted by S·K to divide a non-negative number: WGSL's i32 division truncates toward zero.)
  emit(`  let ohLo = max(0i, (ih + ${g.PH - g.KH + g.SH + g.SH * g.KH}i) / ${g.SH}i - ${g.KH}i);`);
  emit(`  let owLo = max(0i, (iw + ${g.PW - g.KW + g.SW + g.SW * g.KW}i) / ${g.SW}i - ${g.KW}i);`);
  emit(`  var grad = 0.0;`);
  emit(`  for (var a = 0i; a < ${Math.ceil(g.KH / g.SH)}i; a++) {`);
  emit(`    let oh = ohLo + a;`);
  emit(`    let u = ih + ${g.PH}i - oh * ${g.SH}i;`);
  emit(`    if (oh >= ${g.OH}i || u < 0i) { break; }`);
  emit(`    for (var b = 0i; b < ${Math.ceil(g.KW / g.SW)}i; b++) {`);
  emit(`      let ow = owLo + b;`);
  emit(`      let v = iw + ${g.PW}i - ow * ${g.SW}i;`);
  emit(`      if (ow >= ${g.OW}i || v < 0i) { break; }`);
  emit(`      let o = outPlane + u32(oh * ${g.OW}i + ow);`);
  if (!g.isMax) {
    emit(`      grad += in2[o] / ${windowCount(g, `(oh * ${g.SH}i - ${g.PH}i)`, `(ow * ${g.SW}i - ${g.PW}i)`)};`);
  } else {
    emit(`      let y = in1[o];`);
    emit(`      if (x != y) { continue; }`);
    // Is an earlier in-bounds element of this window also equal to the maximum?
    emit(`      var first = true;`);
    emit(`      let h0 = oh * ${g.SH}i - ${g.PH}i;`);
    emit(`      let w0 = ow * ${g.SW}i - ${g.PW}i;`);
    emit(`      for (var e = 0i; e < u * ${g.KW}i + v; e++) {`);
    emit(`        let eh = h0 + e / ${g.KW}i;`);
    emit(`        let ew = w0 + e % ${g.KW}i;`);
    emit(`        if (u32(eh) < ${g.H}u && u32(ew) < ${g.W}u && in0[plane + u32(eh * ${g.W}i + ew)] == y) { first = false; break; }`);
    emit(`      }`);
    emit(`      if (first) { grad += in2[o]; }`);
  }
  emit(`    }`);
  emit(`  }`);
  emit(`  out0[i] = epilogue(grad, i);`);
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(Math.ceil(count / WG)) };
};

/**
 * Windows that tile the input without overlap or padding (MaxPool 2/2): each element has one
 * window, every window is whole (so an average divides by KH·KW whatever countIncludePad says).
 */
function tilesInput(g: PoolGeometry): boolean {
  return g.SH === g.KH && g.SW === g.KW && g.PH === 0 && g.PW === 0 && g.OH * g.KH <= g.H && g.OW * g.KW <= g.W;
}

/**
 * pool2dBackward for tiling windows, one invocation per window: it reads the window once and
 * writes each of its elements (5x fewer reads than visiting windows from every element), in
 * straight-line code (no loops whose bounds vary by lane: lavapipe masks every access in those).
 * The last row and column of windows also write the input left over past them (101 → 50 leaves
 * one), which gets no gradient.
 */
function perWindowBackward(g: PoolGeometry): { body: string; workgroups: readonly [number, number, number] } {
  const count = g.planes * g.OH * g.OW;
  const L = header(count);
  const emit = (s: string) => L.push(s);
  const taps = [...Array(g.KH * g.KW).keys()].map((k) => ({ name: `${Math.floor(k / g.KW)}_${k % g.KW}`, offset: Math.floor(k / g.KW) * g.W + (k % g.KW) }));
  emit(`  let ow = i % ${g.OW}u;`);
  emit(`  let oh = (i / ${g.OW}u) % ${g.OH}u;`);
  emit(`  let plane = (i / ${g.OW * g.OH}u) * ${g.H * g.W}u;`);
  emit(`  let at = plane + oh * ${g.KH * g.W}u + ow * ${g.KW}u;`);
  emit(`  let dy = in2[i];`);
  if (g.isMax) {
    emit(`  let y = in1[i];`);
    // Only the window's first element (row-major) equal to its maximum takes the gradient.
    emit(`  var found = false;`);
    for (const t of taps) {
      emit(`  let hit${t.name} = !found && in0[at + ${t.offset}u] == y;`);
      emit(`  found = found || hit${t.name};`);
    }
    for (const t of taps) emit(`  out0[at + ${t.offset}u] = epilogue(select(0.0, dy, hit${t.name}), at + ${t.offset}u);`);
  } else {
    emit(`  _ = in0[0];`);
    emit(`  _ = in1[0];`);
    for (const t of taps) emit(`  out0[at + ${t.offset}u] = epilogue(dy / ${f32(g.KH * g.KW)}, at + ${t.offset}u);`);
  }
  const extraRows = g.H - g.OH * g.KH;
  const extraCols = g.W - g.OW * g.KW;
  if (extraRows > 0) {
    // Below the last row of windows: this window's columns, and the leftover ones for the last column.
    emit(`  if (oh == ${g.OH - 1}u) {`);
    emit(`    let w1 = select(${g.KW}u, ${g.KW + extraCols}u, ow == ${g.OW - 1}u);`);
    emit(`    for (var h = ${g.OH * g.KH}u; h < ${g.H}u; h++) {`);
    emit(`      for (var w = 0u; w < w1; w++) { let e = plane + h * ${g.W}u + ow * ${g.KW}u + w; out0[e] = epilogue(0.0, e); }`);
    emit(`    }`);
    emit(`  }`);
  }
  if (extraCols > 0) {
    emit(`  if (ow == ${g.OW - 1}u) {`);
    emit(`    for (var h = 0u; h < ${g.KH}u; h++) {`);
    emit(`      for (var w = ${g.OW * g.KW}u; w < ${g.W}u; w++) { let e = plane + (oh * ${g.KH}u + h) * ${g.W}u + w; out0[e] = epilogue(0.0, e); }`);
    emit(`    }`);
    emit(`  }`);
  }
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(Math.ceil(count / WG)) };
}

