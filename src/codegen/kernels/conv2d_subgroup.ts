// Convolution kernels for devices with subgroups: the lanes of a subgroup own neighbouring output
// channels of the same pixels, so the input values they all need are loaded once and shuffled.
//
// Why: on lavapipe every load costs about as much as ten FMAs, whether it is a gather or a value
// all lanes share, while a shuffle within a subgroup costs about one. The row-tiled kernels of
// conv2d.ts spend most of their time loading; these load a value once per subgroup instead of
// once per lane (the Siamese 64→64 5×5 convolution: about 3× the GFLOP/s on lavapipe).
import type { KernelSource } from '../../graph/kernel_template.js';
import { i32, openReductionLoops, type ConvGeometry, type RowTiledConv } from './conv2d.js';
import { dispatchGroups, groupedEntry, last, range } from './matmul.js';

/** A workgroup size that is a whole number of subgroups, near the one asked for. */
function lanesPerWorkgroup(asked: number, subgroup: number): number {
  return Math.max(subgroup, Math.floor(asked / subgroup) * subgroup);
}

/**
 * Forward and backward-data (same shape of loop as conv2d.ts's rowTiled): subgroup lane l owns
 * output channel c0 + l; the subgroup owns up to `maxPixels` pixels of one output row, all held
 * in registers (a whole row of the Siamese network's second layer). For each reduction channel
 * and tap row the subgroup loads the input segment those pixels read, lane l taking elements
 * l, l + S, …, and every lane reads the segment through subgroupShuffle. Each lane loads its own
 * channel's KW weights.
 */
export function laneRowConv(s: RowTiledConv, S: number, maxPixels: number, workgroupSize: number, storeLoop = true): KernelSource {
  const wg = lanesPerWorkgroup(workgroupSize, S);
  const perGroup = wg / S;
  const cGroups = Math.ceil(s.outC / S);
  // Rows split into equal tiles: 101 columns at most 56 a tile as 2 × 51, not 56 + 45.
  const wTiles = Math.ceil(s.outW / Math.max(1, maxPixels));
  const tp = Math.ceil(s.outW / wTiles);
  const tiles = s.batch * s.outH * wTiles;
  const groups = cGroups * Math.ceil(tiles / perGroup);
  const segment = s.segment(tp);
  const chunks = Math.ceil(segment / S);
  const L: string[] = [];
  const emit = (line: string) => L.push(line);
  groupedEntry(wg, groups, true).forEach(emit);
  emit(`  let ocWanted = (group % ${cGroups}u) * ${S}u + lane;`);
  emit(`  let oc = min(ocWanted, ${last(s.outC)}u);`);
  emit(`  let tile = (group / ${cGroups}u) * ${perGroup}u + lid.x / ${S}u;`);
  // Surplus subgroups compute a clamped tile and store nothing: no lane leaves the loop early.
  emit(`  let t = min(tile, ${last(tiles)}u);`);
  emit(`  let col0 = (t % ${wTiles}u) * ${tp}u;`);
  emit(`  let outRow = (t / ${wTiles}u) % ${s.outH}u;`);
  emit(`  let n = t / ${wTiles * s.outH}u;`);
  for (const m of range(chunks)) {
    const c = s.column(`(${i32(m * S)} + i32(lane))`);
    emit(`  let seg${m} = ${c.index};`);
    emit(`  let colOk${m} = ${c.valid(`seg${m}`)};`);
    emit(`  let colAt${m} = u32(clamp(seg${m}, 0i, ${i32(last(s.inW))}));`);
  }
  for (const p of range(tp)) emit(`  var acc${p} = 0.0;`);
  // Which (pixel, tap) pairs read segment element j.
  const readers = range(segment).map((j) => range(tp).flatMap((p) => range(s.KW).filter((kw) => s.tap(p, kw) === j).map((kw) => [p, kw])));
  openReductionLoops(s, emit);
  for (const m of range(chunks)) emit(`      let v${m} = select(0.0, in0[rowAt + colAt${m}], rowOk && colOk${m});`);
  for (const kw of range(s.KW)) emit(`      let w${kw} = ${s.weight('oc', 'rc', 'kh', kw)};`);
  for (const j of range(segment)) {
    if (readers[j].length === 0) continue;
    emit(`      let x${j} = subgroupShuffle(v${Math.floor(j / S)}, ${j % S}u);`);
    for (const [p, kw] of readers[j]) emit(`      acc${p} += w${kw} * x${j};`);
  }
  emit(`    }`);
  emit(`  }`);
  // By default the stores run as a loop over a private copy of the row, not unrolled: each store
  // through a fused epilogue (a bias load, its index arithmetic) is a few dozen instructions per
  // lane on lavapipe, and tp unrolled copies of it were most of LLVM's compile time for this
  // kernel (1.2-2.2 s, 0.3 s as a loop). The trip count is not a constant, so that the driver does
  // not unroll it back. storeLoop: 0 (a tuner candidate) unrolls them.
  if (storeLoop) emit(`  var row = array<f32, ${tp}>(${range(tp).map((p) => `acc${p}`).join(', ')});`);
  emit(`  if (tile < ${tiles}u && ocWanted < ${s.outC}u) {`);
  emit(`    let base = ((n * ${s.outC}u + oc) * ${s.outH}u + outRow) * ${s.outW}u + col0;`);
  if (storeLoop) {
    emit(`    let count = min(${tp}u, ${s.outW}u - col0);`);
    emit(`    for (var p = 0u; p < count; p++) { let o = base + p; out0[o] = epilogue(row[p], o); }`);
  } else {
    for (const p of range(tp)) {
      const store = `{ let o = base + ${p}u; out0[o] = epilogue(acc${p}, o); }`;
      emit(wTiles * tp === s.outW ? `    ${store}` : `    if (col0 + ${p}u < ${s.outW}u) ${store}`);
    }
  }
  emit(`  }`);
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(groups), subgroups: true };
}

/**
 * dw = conv2dBackwardWeight(x, dy) with lane l of a subgroup owning output channel o0 + l and all
 * KH × KW taps of one input channel c (KH·KW accumulators). The subgroups of a workgroup split
 * the work and add their sums in workgroup memory. Per run of `tilePixels` output columns each
 * lane loads its own dy values; x rows are loaded once per subgroup and shuffled. Two orders:
 * - stride 1 down the image (default when SH = 1; tuning slideRows: 0 turns it off): a subgroup
 *   walks a strip of columns from the top row to the bottom, keeping the KH input rows that the
 *   current output row reads in registers, so each x row is loaded and shuffled once, not KH
 *   times (lavapipe spills the window to the stack, which costs far less than loads);
 * - otherwise subgroups split the (image, output row) pairs and load the KH rows each time.
 */
export function laneWeightConv(g: ConvGeometry, S: number, tuning: Readonly<Record<string, number>>): KernelSource {
  const taps = g.KH * g.KW;
  // Partial sums must fit the 16 KiB of workgroup memory every WebGPU device has.
  const wg = lanesPerWorkgroup(Math.min(tuning.workgroupSize ?? 64, Math.floor(4096 / taps)), S);
  const perGroup = wg / S;
  const oGroups = Math.ceil(g.O / S);
  const groups = oGroups * g.C;
  const tp = Math.min(tuning.tilePixels ?? 8, g.OW);
  const w: WeightLoop = { g, S, tp, steps: Math.ceil(g.OW / tp), segment: (tp - 1) * g.SW + g.KW, perGroup };
  const L: string[] = [];
  const emit = (line: string) => L.push(line);
  emit(`var<workgroup> tapPartial: array<f32, ${taps * wg}>;`);
  groupedEntry(wg, groups, true).forEach(emit);
  emit(`  let o0 = (group % ${oGroups}u) * ${S}u;`);
  emit(`  let o = min(o0 + lane, ${last(g.O)}u);`);
  emit(`  let c = group / ${oGroups}u;`);
  for (const k of range(taps)) emit(`  var acc${k} = 0.0;`);
  if (g.SH === 1 && (tuning.slideRows ?? 1) !== 0) slidingRows(w, emit);
  else rowPairs(w, emit);
  for (const k of range(taps)) emit(`  tapPartial[${k * wg}u + lid.x] = acc${k};`);
  emit(`  workgroupBarrier();`);
  emit(`  for (var q = lid.x; q < ${S * taps}u; q += ${wg}u) {`);
  emit(`    let l = q % ${S}u;`);
  emit(`    let k = q / ${S}u;`);
  emit(`    if (o0 + l < ${g.O}u) {`);
  emit(`      var sum = 0.0;`);
  emit(`      for (var h = 0u; h < ${perGroup}u; h++) { sum += tapPartial[k * ${wg}u + h * ${S}u + l]; }`);
  emit(`      let i = ((o0 + l) * ${g.C}u + c) * ${taps}u + k;`);
  emit(`      out0[i] = epilogue(sum, i);`);
  emit(`    }`);
  emit(`  }`);
  emit(`}`);
  return { body: L.join('\n'), workgroups: dispatchGroups(groups), subgroups: true };
}

interface WeightLoop {
  g: ConvGeometry;
  S: number;
  /** Output columns per step, steps per row, x segment a step reads, subgroups per workgroup. */
  tp: number;
  steps: number;
  segment: number;
  perGroup: number;
}

/** The tp dy values of output row `dyRow` at columns ow0…: each lane its own channel's. */
function loadDy(w: WeightLoop, emit: (line: string) => void, indent: string): void {
  const { g, tp, steps } = w;
  for (const p of range(tp)) {
    const load = `in1[dyRow + min(ow0 + ${p}u, ${last(g.OW)}u)]`;
    emit(`${indent}let d${p} = ${(steps - 1) * tp + p < g.OW ? load : `select(0.0, ${load}, ow0 + ${p}u < ${g.OW}u)`};`);
  }
}

/**
 * Loads input row `ih` (an i32 expression) of plane xPlane at the step's columns, once per
 * subgroup, into `${name}<j>`: existing vars when `assign`, else new values in a block that
 * `use` (given the block's indent) reads before it closes.
 */
function loadXRow(w: WeightLoop, emit: (line: string) => void, indent: string, ih: string, name: string,
  assign: boolean, use?: (inner: string) => void): void {
  const { g, S } = w;
  emit(`${indent}{`);
  emit(`${indent}  let ih = ${ih};`);
  emit(`${indent}  let rowOk = u32(ih) < ${g.H}u;`);
  emit(`${indent}  let xRow = xPlane + u32(clamp(ih, 0i, ${i32(last(g.H))})) * ${g.W}u;`);
  for (const m of range(Math.ceil(w.segment / S))) {
    emit(`${indent}  let iw${m} = i32(ow0 * ${g.SW}u) + ${i32(m * S - g.PW)} + i32(lane);`);
    emit(`${indent}  let v${m} = select(0.0, in0[xRow + u32(clamp(iw${m}, 0i, ${i32(last(g.W))}))], rowOk && u32(iw${m}) < ${g.W}u);`);
  }
  for (const j of range(w.segment)) emit(`${indent}  ${assign ? '' : 'let '}${name}${j} = subgroupShuffle(v${Math.floor(j / S)}, ${j % S}u);`);
  use?.(`${indent}  `);
  emit(`${indent}}`);
}

/** acc[kh][kw] += Σ_p d_p · x[p·SW + kw] for tap row kh, with x segment `${name}<j>`. */
function accumulateRow(w: WeightLoop, emit: (line: string) => void, indent: string, name: string, kh: number): void {
  const { g, tp } = w;
  for (const kw of range(g.KW)) {
    emit(`${indent}acc${kh * g.KW + kw} += ${range(tp).map((p) => `d${p} * ${name}${p * g.SW + kw}`).join(' + ')};`);
  }
}

function slidingRows(w: WeightLoop, emit: (line: string) => void): void {
  const { g, S, steps, perGroup, segment } = w;
  // Window slot k holds input row oh − PH + k of the current output row oh.
  for (const k of range(g.KH)) for (const j of range(segment)) emit(`  var win${k}_${j} = 0.0;`);
  emit(`  for (var strip = lid.x / ${S}u; strip < ${g.N * steps}u; strip += ${perGroup}u) {`);
  emit(`    let n = strip / ${steps}u;`);
  emit(`    let ow0 = (strip % ${steps}u) * ${w.tp}u;`);
  emit(`    let xPlane = (n * ${g.C}u + c) * ${g.H * g.W}u;`);
  // Slots 1…KH−1 as they stand before output row 0 (rows −PH … KH−2−PH).
  for (const k of range(g.KH).slice(1)) loadXRow(w, emit, '    ', i32(k - 1 - g.PH), `win${k}_`, true);
  emit(`    for (var oh = 0u; oh < ${g.OH}u; oh++) {`);
  for (const k of range(g.KH - 1)) for (const j of range(segment)) emit(`      win${k}_${j} = win${k + 1}_${j};`);
  loadXRow(w, emit, '      ', `i32(oh) + ${i32(g.KH - 1 - g.PH)}`, `win${g.KH - 1}_`, true);
  emit(`      let dyRow = ((n * ${g.O}u + o) * ${g.OH}u + oh) * ${g.OW}u;`);
  loadDy(w, emit, '      ');
  for (const kh of range(g.KH)) accumulateRow(w, emit, '      ', `win${kh}_`, kh);
  emit(`    }`);
  emit(`  }`);
}

function rowPairs(w: WeightLoop, emit: (line: string) => void): void {
  const { g, S, steps, perGroup } = w;
  emit(`  for (var row = lid.x / ${S}u; row < ${g.N * g.OH}u; row += ${perGroup}u) {`);
  emit(`    let n = row / ${g.OH}u;`);
  emit(`    let oh = row % ${g.OH}u;`);
  emit(`    let dyRow = ((n * ${g.O}u + o) * ${g.OH}u + oh) * ${g.OW}u;`);
  emit(`    let xPlane = (n * ${g.C}u + c) * ${g.H * g.W}u;`);
  emit(`    for (var s = 0u; s < ${steps}u; s++) {`);
  emit(`      let ow0 = s * ${w.tp}u;`);
  loadDy(w, emit, '      ');
  for (const kh of range(g.KH)) {
    loadXRow(w, emit, '      ', `i32(oh * ${g.SH}u) + ${i32(kh - g.PH)}`, 'x', false, (inner) => accumulateRow(w, emit, inner, 'x', kh));
  }
  emit(`    }`);
  emit(`  }`);
}
