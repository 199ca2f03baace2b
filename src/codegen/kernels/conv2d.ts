// Convolution kernel templates (NCHW input, OIHW weight): forward, backward-data and backward-weight,
// each an implicit GEMM whose register tile is several channels × a run of pixels of one image row.
import type { KernelContext, KernelSource, KernelTemplate } from '../../graph/kernel_template.js';
import { laneRowConv, laneWeightConv } from './conv2d_subgroup.js';
import { sizeOf, type Attrs, type Shape } from '../../base/types.js';
import { dispatchGroups, emptyKernel, groupedEntry, last, range } from './matmul.js';

export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  O: number; KH: number; KW: number; OH: number; OW: number;
  SH: number; SW: number; PH: number; PW: number;
}

function pair(v: Attrs[string], fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const list = v as readonly number[];
  return [list[0], list[1] ?? list[0]];
}

export function convGeometry(x: Shape, w: Shape, y: Shape, attrs: Attrs): ConvGeometry {
  const [SH, SW] = pair(attrs.stride, 1);
  const [PH, PW] = pair(attrs.pad, 0);
  return { N: x[0], C: x[1], H: x[2], W: x[3], O: w[0], KH: w[2], KW: w[3], OH: y[2], OW: y[3], SH, SW, PH, PW };
}

/** A WGSL i32 literal. */
export const i32 = (v: number) => `${v}i`;

/**
 * Shared shape of forward and backward-data: every invocation owns `tc` channels of its output
 * (the same for the whole workgroup, so their weight loads are uniform: one scalar load on
 * lavapipe, a broadcast on GPUs) × `tp` neighbouring pixels of one output row. Along the row the
 * taps of the tp pixels overlap, so one segment of the input row is loaded and reused KW times.
 */
export interface RowTiledConv {
  /** Output planes (channels, rows, cols), input planes (channels, rows, cols), batch. */
  outC: number; outH: number; outW: number;
  inC: number; inH: number; inW: number;
  batch: number;
  KH: number; KW: number;
  /**
   * Segment length and, for segment index j (an i32 expression), the i32 column it reads and
   * that column's validity, given the name of a variable holding the column.
   */
  segment: (tilePixels: number) => number;
  column: (j: string) => { index: string; valid: (at: string) => string };
  /** For an output row and tap row kh: the i32 row of the input plane and its validity (given its name). */
  row: (outRow: string, kh: string) => { index: string; valid: (at: string) => string };
  /** Weight element for (output channel, reduction channel, kh, kw). */
  weight: (oc: string, rc: string, kh: string, kw: number) => string;
  /** Segment index read by output pixel p at tap kw. */
  tap: (p: number, kw: number) => number;
}

/**
 * Opens the loops over reduction channels `rc` and tap rows `kh` of a row-tiled kernel (the
 * caller closes both): `rowAt` is where input row r of image n starts, `rowOk` whether it exists.
 */
export function openReductionLoops(s: RowTiledConv, emit: (line: string) => void): void {
  emit(`  for (var rc = 0u; rc < ${s.inC}u; rc++) {`);
  emit(`    let plane = (n * ${s.inC}u + rc) * ${s.inH * s.inW}u;`);
  emit(`    for (var kh = 0u; kh < ${s.KH}u; kh++) {`);
  const r = s.row('outRow', 'kh');
  emit(`      let r = ${r.index};`);
  emit(`      let rowOk = ${r.valid('r')};`);
  emit(`      let rowAt = plane + u32(clamp(r, 0i, ${i32(last(s.inH))})) * ${s.inW}u;`);
}

function rowTiled(s: RowTiledConv, tc: number, tp: number, wg: number): KernelSource {
  const cTiles = Math.ceil(s.outC / tc);
  const wTiles = Math.ceil(s.outW / tp);
  const pixelTiles = s.batch * s.outH * wTiles;
  const groups = cTiles * Math.ceil(pixelTiles / wg);
  const L: string[] = [];
  const emit = (line: string) => L.push(line);
  groupedEntry(wg, groups).forEach(emit);
  // Channel tiles vary fastest: neighbouring workgroups read the same input pixels.
  emit(`  let c0 = (group % ${cTiles}u) * ${tc}u;`);
  emit(`  let tile = (group / ${cTiles}u) * ${wg}u + lid.x;`);
  // Surplus lanes compute a clamped tile and store nothing (no divergent exit: see matmul.ts).
  emit(`  let t = min(tile, ${last(pixelTiles)}u);`);
  emit(`  let col0 = (t % ${wTiles}u) * ${tp}u;`);
  emit(`  let outRow = (t / ${wTiles}u) % ${s.outH}u;`);
  emit(`  let n = t / ${wTiles * s.outH}u;`);
  const segment = s.segment(tp);
  for (const j of range(segment)) {
    const c = s.column(i32(j));
    emit(`  let seg${j} = ${c.index};`);
    emit(`  let colOk${j} = ${c.valid(`seg${j}`)};`);
    emit(`  let colAt${j} = u32(clamp(seg${j}, 0i, ${i32(last(s.inW))}));`);
  }
  for (const c of range(tc)) emit(`  let oc${c} = min(c0 + ${c}u, ${last(s.outC)}u);`);
  for (const c of range(tc)) for (const p of range(tp)) emit(`  var acc${c}_${p} = 0.0;`);
  openReductionLoops(s, emit);
  for (const j of range(segment)) emit(`      let x${j} = select(0.0, in0[rowAt + colAt${j}], rowOk && colOk${j});`);
  for (const c of range(tc)) {
    for (const kw of range(s.KW)) {
      emit(`      let w${c}_${kw} = ${s.weight(`oc${c}`, 'rc', 'kh', kw)};`);
      for (const p of range(tp)) emit(`      acc${c}_${p} += w${c}_${kw} * x${s.tap(p, kw)};`);
    }
  }
  emit(`    }`);
  emit(`  }`);
  emit(`  if (tile < ${pixelTiles}u) {`);
  for (const c of range(tc)) {
    for (const p of range(tp)) {
      emit(`    if (c0 + ${c}u < ${s.outC}u && col0 + ${p}u < ${s.outW}u) {`);
      emit(`      let o = ((n * ${s.outC}u + c0 + ${c}u) * ${s.outH}u + outRow) * ${s.outW}u + col0 + ${p}u;`);
      emit(`      out0[o] = epilogue(acc${c}_${p}, o);`);
      emit(`    }`);
    }
  }
  emit(`  }`);
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(groups) };
}

/** Offset of w[o, c, kh, kw] (OIHW) with o, c, kh as u32 expressions. */
function weightAt(g: ConvGeometry, o: string, c: string, kh: string, kw: number): string {
  return `in1[((${o} * ${g.C}u + ${c}) * ${g.KH}u + ${kh}) * ${g.KW}u + ${kw}u]`;
}

/**
 * Register tile of the row-tiled kernels: tileChannels (4) × tilePixels (8), the best on lavapipe
 * for the Siamese shapes (8 × 8 ran at half the speed). Tiles are clamped to the output; when it
 * has fewer channels than the tile (dx of a 1-channel image) the pixels take the registers.
 */
function rowTile(tuning: Readonly<Record<string, number>>, outC: number, outW: number): [number, number] {
  const tc = Math.min(tuning.tileChannels ?? 4, outC);
  const tp = tuning.tilePixels ?? (outC < 4 ? 16 : 8);
  return [tc, Math.min(tp, outW)];
}

/**
 * Subgroup kernels (conv2d_subgroup.ts) when the device has subgroups and the output has at least
 * a subgroup's worth of channels (tuning subgroups: 0 turns them off; lanePixels caps the pixels a
 * lane holds, 56: the 50-column rows of the Siamese dx in one tile; storeLoop: 0 unrolls the
 * stores); otherwise the row-tiled kernel.
 */
function useSubgroups(ctx: KernelContext, channels: number): boolean {
  return ctx.subgroupSize > 0 && (ctx.tuning.subgroups ?? 1) !== 0 && channels >= ctx.subgroupSize;
}

function rowConv(ctx: KernelContext, s: RowTiledConv): KernelSource {
  const wg = ctx.tuning.workgroupSize ?? 64;
  if (useSubgroups(ctx, s.outC)) return laneRowConv(s, ctx.subgroupSize, ctx.tuning.lanePixels ?? 56, wg, (ctx.tuning.storeLoop ?? 1) !== 0);
  const [tc, tp] = rowTile(ctx.tuning, s.outC, s.outW);
  return rowTiled(s, tc, tp, wg);
}

/** y = conv2d(x, w). Tuning: see rowConv, rowTile; workgroupSize (64). */
export const conv2dKernel: KernelTemplate = (ctx) => {
  if (sizeOf(ctx.outShape) === 0) return emptyKernel();
  const g = convGeometry(ctx.inShapes[0], ctx.inShapes[1], ctx.outShape, ctx.attrs);
  return rowConv(ctx, {
    outC: g.O, outH: g.OH, outW: g.OW, inC: g.C, inH: g.H, inW: g.W, batch: g.N, KH: g.KH, KW: g.KW,
    segment: (pixels) => (pixels - 1) * g.SW + g.KW,
    column: (j) => ({ index: `i32(col0 * ${g.SW}u) - ${i32(g.PW)} + ${j}`, valid: (at) => `u32(${at}) < ${g.W}u` }),
    row: (outRow, kh) => ({ index: `i32(${outRow} * ${g.SH}u + ${kh}) - ${i32(g.PH)}`, valid: (at) => `u32(${at}) < ${g.H}u` }),
    weight: (oc, rc, kh, kw) => weightAt(g, oc, rc, kh, kw),
    tap: (p, kw) => p * g.SW + kw,
  });
};

/**
 * dx = conv2dBackwardData(dy, w): the transposed convolution. Input pixel i receives dy[o] at
 * output o where o·stride = i + pad − tap; with a stride above 1 the taps that do not divide
 * read zero, so one loop nest serves every stride. Same tuning as conv2dKernel.
 */
export const conv2dBackwardDataKernel: KernelTemplate = (ctx) => {
  if (sizeOf(ctx.outShape) === 0) return emptyKernel();
  const [dy, w] = ctx.inShapes;
  const g = convGeometry(ctx.outShape, w, dy, ctx.attrs);
  const divides = (v: string, s: number) => (s === 1 ? 'true' : `(${v}) % ${i32(s)} == 0i`);
  return rowConv(ctx, {
    outC: g.C, outH: g.H, outW: g.W, inC: g.O, inH: g.OH, inW: g.OW, batch: g.N, KH: g.KH, KW: g.KW,
    segment: (pixels) => pixels + g.KW - 1,
    column: (j) => {
      // Segment j holds output column (col0 + pad − (KW − 1) + j) / stride.
      const num = `(i32(col0) + ${i32(g.PW - (g.KW - 1))} + ${j})`;
      const q = g.SW === 1 ? num : `(${num} / ${i32(g.SW)})`;
      return { index: q, valid: () => `${num} >= 0i && ${divides(num, g.SW)} && ${q} < ${i32(g.OW)}` };
    },
    row: (outRow, kh) => {
      const num = `(i32(${outRow}) + ${i32(g.PH)} - i32(${kh}))`;
      const q = g.SH === 1 ? num : `(${num} / ${i32(g.SH)})`;
      return { index: q, valid: () => `${num} >= 0i && ${divides(num, g.SH)} && ${q} < ${i32(g.OH)}` };
    },
    weight: (oc, rc, kh, kw) => weightAt(g, rc, oc, kh, kw),
    tap: (p, kw) => p - kw + g.KW - 1,
  });
};

/**
 * dw = conv2dBackwardWeight(x, dy): dw[o,c,kh,kw] = Σ over images and output pixels. Each
 * invocation holds tileChannels output channels × all KW taps of one (c, kh). Two ways to spread
 * the long reduction, chosen by splitRows (default: split when C·KH is below a workgroup):
 * - lanes over (c, kh), every lane walking all image rows: dy loads are uniform, no reduction
 *   (tileChannels 8 × tilePixels 2 by default: ~13 GFLOP/s on lavapipe for 64→64 5×5);
 * - lanes splitting the image rows of one (c, kh), summed in workgroup memory at the end: the
 *   first conv of a network (C = 1) has too few (c, kh) to keep a machine busy otherwise
 *   (every load is a gather there, so 2 × 8 by default).
 * tilePixels output columns are loaded per step, reusing one input row segment for all taps.
 * With subgroups (see useSubgroups), laneWeightConv instead.
 */
export const conv2dBackwardWeightKernel: KernelTemplate = (ctx) => {
  if (sizeOf(ctx.outShape) === 0) return emptyKernel();
  const [x, dy] = ctx.inShapes;
  const g = convGeometry(x, ctx.outShape, dy, ctx.attrs);
  // Above 64 taps a lane's accumulators would not fit in registers.
  if (useSubgroups(ctx, g.O) && g.KH * g.KW <= 64) return laneWeightConv(g, ctx.subgroupSize, ctx.tuning);
  const wg = ctx.tuning.workgroupSize ?? 64;
  const split = ctx.tuning.splitRows ?? (g.C * g.KH < wg ? 1 : 0);
  return split ? weightSplitRows(g, ctx.tuning, wg) : weightPerTapRow(g, ctx.tuning, wg);
};

/** The accumulation step shared by both strategies: one tp-wide run of output columns. */
function weightStep(g: ConvGeometry, emit: (s: string) => void, to: number, tp: number, xRow: string, rowOk: string): void {
  const seg = (tp - 1) * g.SW + g.KW;
  const owSteps = Math.ceil(g.OW / tp);
  emit(`    for (var s = 0u; s < ${owSteps}u; s++) {`);
  emit(`      let ow0 = s * ${tp}u;`);
  for (const j of range(seg)) {
    emit(`      let iw${j} = i32(ow0 * ${g.SW}u) + ${i32(j - g.PW)};`);
    emit(`      let x${j} = select(0.0, in0[${xRow} + u32(clamp(iw${j}, 0i, ${i32(last(g.W))}))], ${rowOk} && u32(iw${j}) < ${g.W}u);`);
  }
  for (const o of range(to)) {
    for (const p of range(tp)) {
      const load = `in1[dyRow${o} + min(ow0 + ${p}u, ${last(g.OW)}u)]`;
      const inside = (owSteps - 1) * tp + p < g.OW;
      emit(`      let d${o}_${p} = ${inside ? load : `select(0.0, ${load}, ow0 + ${p}u < ${g.OW}u)`};`);
    }
    for (const kw of range(g.KW)) {
      emit(`      acc${o}_${kw} += ${range(tp).map((p) => `d${o}_${p} * x${p * g.SW + kw}`).join(' + ')};`);
    }
  }
  emit(`    }`);
}

function weightPerTapRow(g: ConvGeometry, tuning: Readonly<Record<string, number>>, wg: number): KernelSource {
  const tp = Math.min(tuning.tilePixels ?? 2, g.OW);
  const to = Math.min(tuning.tileChannels ?? 8, g.O);
  const oTiles = Math.ceil(g.O / to);
  const taps = g.C * g.KH;
  const groups = oTiles * Math.ceil(taps / wg);
  const L: string[] = [];
  const emit = (line: string) => L.push(line);
  groupedEntry(wg, groups).forEach(emit);
  emit(`  let o0 = (group % ${oTiles}u) * ${to}u;`);
  emit(`  let tap = (group / ${oTiles}u) * ${wg}u + lid.x;`);
  emit(`  let q = min(tap, ${last(taps)}u);`);
  emit(`  let c = q / ${g.KH}u;`);
  emit(`  let kh = q % ${g.KH}u;`);
  for (const o of range(to)) emit(`  let oc${o} = min(o0 + ${o}u, ${last(g.O)}u);`);
  for (const o of range(to)) for (const kw of range(g.KW)) emit(`  var acc${o}_${kw} = 0.0;`);
  emit(`  for (var row = 0u; row < ${g.N * g.OH}u; row++) {`);
  emit(`    let n = row / ${g.OH}u;`);
  emit(`    let oh = row % ${g.OH}u;`);
  emit(`    let ih = i32(oh * ${g.SH}u + kh) - ${i32(g.PH)};`);
  emit(`    let rowOk = u32(ih) < ${g.H}u;`);
  emit(`    let xRow = ((n * ${g.C}u + c) * ${g.H}u + u32(clamp(ih, 0i, ${i32(last(g.H))}))) * ${g.W}u;`);
  for (const o of range(to)) emit(`    let dyRow${o} = ((n * ${g.O}u + oc${o}) * ${g.OH}u + oh) * ${g.OW}u;`);
  weightStep(g, emit, to, tp, 'xRow', 'rowOk');
  emit(`  }`);
  emit(`  if (tap < ${taps}u) {`);
  for (const o of range(to)) {
    emit(`    if (o0 + ${o}u < ${g.O}u) {`);
    for (const kw of range(g.KW)) {
      emit(`      { let i = ((o0 + ${o}u) * ${taps}u + q) * ${g.KW}u + ${kw}u; out0[i] = epilogue(acc${o}_${kw}, i); }`);
    }
    emit(`    }`);
  }
  emit(`  }`);
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(groups) };
}

function weightSplitRows(g: ConvGeometry, tuning: Readonly<Record<string, number>>, wg: number): KernelSource {
  const tp = Math.min(tuning.tilePixels ?? 8, g.OW);
  // Partial sums of a workgroup must fit the 32 KiB of workgroup memory.
  const to = Math.max(1, Math.min(tuning.tileChannels ?? 2, g.O, Math.floor(8192 / (g.KW * wg))));
  const oTiles = Math.ceil(g.O / to);
  const groups = oTiles * g.C * g.KH;
  const rows = g.N * g.OH;
  const L: string[] = [];
  const emit = (line: string) => L.push(line);
  emit(`var<workgroup> kernelPartial: array<f32, ${to * g.KW * wg}>;`);
  // Its exit is workgroup-uniform and before the barrier, as WGSL's uniformity rules require.
  groupedEntry(wg, groups).forEach(emit);
  emit(`  let o0 = (group % ${oTiles}u) * ${to}u;`);
  emit(`  let kh = (group / ${oTiles}u) % ${g.KH}u;`);
  emit(`  let c = group / ${oTiles * g.KH}u;`);
  for (const o of range(to)) emit(`  let oc${o} = min(o0 + ${o}u, ${last(g.O)}u);`);
  for (const o of range(to)) for (const kw of range(g.KW)) emit(`  var acc${o}_${kw} = 0.0;`);
  emit(`  for (var step = 0u; step < ${Math.ceil(rows / wg)}u; step++) {`);
  emit(`    let row = step * ${wg}u + lid.x;`);
  emit(`    let rr = min(row, ${last(rows)}u);`);
  emit(`    let n = rr / ${g.OH}u;`);
  emit(`    let oh = rr % ${g.OH}u;`);
  emit(`    let ih = i32(oh * ${g.SH}u + kh) - ${i32(g.PH)};`);
  emit(`    let rowOk = row < ${rows}u && u32(ih) < ${g.H}u;`);
  emit(`    let xRow = ((n * ${g.C}u + c) * ${g.H}u + u32(clamp(ih, 0i, ${i32(last(g.H))}))) * ${g.W}u;`);
  for (const o of range(to)) emit(`    let dyRow${o} = ((n * ${g.O}u + oc${o}) * ${g.OH}u + oh) * ${g.OW}u;`);
  weightStep(g, emit, to, tp, 'xRow', 'rowOk');
  emit(`  }`);
  for (const o of range(to)) for (const kw of range(g.KW)) emit(`  kernelPartial[${(o * g.KW + kw) * wg}u + lid.x] = acc${o}_${kw};`);
  emit(`  workgroupBarrier();`);
  emit(`  for (var e = lid.x; e < ${to * g.KW}u; e += ${wg}u) {`);
  emit(`    var sum = 0.0;`);
  emit(`    for (var l = 0u; l < ${wg}u; l++) { sum += kernelPartial[e * ${wg}u + l]; }`);
  emit(`    let o = o0 + e / ${g.KW}u;`);
  emit(`    if (o < ${g.O}u) {`);
  emit(`      let i = ((o * ${g.C}u + c) * ${g.KH}u + kh) * ${g.KW}u + e % ${g.KW}u;`);
  emit(`      out0[i] = epilogue(sum, i);`);
  emit(`    }`);
  emit(`  }`);
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(groups) };
}
