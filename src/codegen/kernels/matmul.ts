// The `dot` kernel template: shape-specialised WGSL for (batched) matmul with transpose flags.
// Two tilings of one loop nest: registers only (fast on lavapipe) or workgroup-memory staging.
import type { KernelContext, KernelSource, KernelTemplate } from '../../graph/kernel_template.js';

/** WGSL allows at most 65535 workgroups per dimension: larger counts fold into y. */
const MAX_GROUPS = 65535;

export function dispatchGroups(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS) return [Math.max(1, groups), 1, 1];
  return [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
}

/** The linear workgroup index for a dispatch made by dispatchGroups (uniform over a workgroup). */
export function linearGroup(groups: number): string {
  return groups <= MAX_GROUPS ? 'wid.x' : `wid.x + wid.y * ${MAX_GROUPS}u`;
}

/**
 * The entry point of a kernel over `groups` workgroups of `wg` lanes: `group` is the workgroup's
 * index, and groups past the end exit (uniformly, before any barrier). `withLane` also binds
 * `lane`, the invocation's index in its subgroup.
 */
export function groupedEntry(wg: number, groups: number, withLane = false): string[] {
  const lane = withLane ? ', @builtin(subgroup_invocation_id) lane: u32' : '';
  return [
    `@compute @workgroup_size(${wg})`,
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>${lane}) {`,
    `  let group = ${linearGroup(groups)};`,
    `  if (group >= ${groups}u) { return; }`,
  ];
}

/** The largest index of an axis, as a clamp bound (0 for an empty axis, whose loads never run). */
export function last(size: number): number {
  return Math.max(size - 1, 0);
}

/** For an output with no elements: nothing to compute, but a valid shader and dispatch. */
export function emptyKernel(): KernelSource {
  return { body: '@compute @workgroup_size(1)\nfn main() {}', workgroups: [1, 1, 1] };
}

export function vecType(width: number): string {
  return width === 1 ? 'f32' : `vec${width}<f32>`;
}

/**
 * out[p, m, n] = Σ_k A[p, m, k] · B[p, k, n], with every operand read through strides, so that
 * transposes and a 2-D operand shared by all batches cost nothing.
 */
export interface DotGeometry {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** Element strides of A along batch, m and k, and of B along batch, k and n. */
  aBatch: number; aM: number; aK: number;
  bBatch: number; bK: number; bN: number;
}

export function dotGeometry(ctx: Pick<KernelContext, 'inShapes' | 'outShape' | 'attrs'>): DotGeometry {
  const [a, b] = ctx.inShapes;
  const ta = ctx.attrs.transposeA === true;
  const tb = ctx.attrs.transposeB === true;
  const rank = ctx.outShape.length;
  const M = ctx.outShape[rank - 2];
  const N = ctx.outShape[rank - 1];
  const K = ta ? a[a.length - 2] : a[a.length - 1];
  return {
    batch: rank === 3 ? ctx.outShape[0] : 1, M, N, K,
    aBatch: a.length === 3 ? M * K : 0, aM: ta ? 1 : K, aK: ta ? M : 1,
    bBatch: b.length === 3 ? K * N : 0, bK: tb ? 1 : N, bN: tb ? K : 1,
  };
}

/**
 * Tuning (ctx.tuning); the defaults won on lavapipe at 1024³ (8×8, K by 2: ~10 GFLOP/s; 8×4 by 4
 * reached half that: every load there is a per-lane gather, so loads per FMA rule):
 * - tileM, tileN (8, 8): outputs per invocation, rows × columns, held in registers.
 * - unrollK (2): K steps per loop iteration in the register tiling (A rows read as vecN).
 * - workgroupSize (64): invocations per workgroup in the register tiling.
 * - storeLoop (1): the register tile's stores as a loop (0: unrolled; see registerTiled).
 * - workgroupTiling (0): 1 stages tileK-deep slices of A and B in workgroup memory, shared by a
 *   16 × 16 grid of invocations (a (16·tileM) × (16·tileN) block); what real GPUs want.
 * - tileK (16): depth of a staged slice in the workgroup tiling.
 * - splitK (0): when set, that many lanes of a workgroup split K between them for one
 *   tileM × tileN block, summed in workgroup memory at the end: for long K and few outputs (a
 *   dense layer on a flattened convolution, M = 16, K ≈ 34k), where the other tilings have too few
 *   blocks to keep lanes busy and read the transposed operand as per-lane gathers.
 */
export const matmulKernel: KernelTemplate = (ctx) => {
  const g = dotGeometry(ctx);
  if (g.batch * g.M * g.N === 0) return emptyKernel();
  const t = { ...dotDefaults(g), ...ctx.tuning };
  const tm = t.tileM ?? 8;
  const tn = t.tileN ?? 8;
  if (t.splitK) return splitKTiled(g, Math.min(tm, g.M), Math.min(tn, g.N), t.splitK);
  if (t.workgroupTiling) return workgroupTiled(g, tm, tn, t.tileK ?? 16);
  // A tile wider than the matrix would only compute clamped copies.
  return registerTiled(g, Math.min(tm, g.M), Math.min(tn, g.N), t.workgroupSize ?? 64, t.unrollK ?? 2, (t.storeLoop ?? 1) !== 0);
};

/** Below this many multiply-adds a matmul runs in about a millisecond whatever its tiling. */
const SMALL_DOT = 2 ** 20;

/**
 * Long K over few outputs: a dense layer on a flattened convolution (M = 16 or 32, K ≈ 34k,
 * N = 256), where the register tiling has too few blocks to spread K's work.
 */
export function isLongK(outputs: number, K: number): boolean {
  return K >= 2048 && K >= 2 * outputs;
}

/**
 * The defaults the tuning overrides, by shape. Where the work is small a tile's cost is compile
 * time: on lavapipe every load and store of the unrolled code is 8 scalar accesses with their own
 * branches, and LLVM took 0.4–3 s for the 8 × 8 tile of a 16 × 2 × 256 matmul that then runs in
 * 1 ms (1 × 4 and 1 × 8 were as bad with K = 16, whose short loop the driver unrolls), against
 * 35–300 ms for one output per lane. Long K splits K over 64 lanes with a 4 × 4 block: on lavapipe
 * as fast as 8 × 8 or faster (the Siamese dense layer, M = 16: ~1.2×) and ~1.5 s less to compile.
 */
function dotDefaults(g: DotGeometry): Readonly<Record<string, number>> {
  if (g.batch * g.M * g.N * g.K <= SMALL_DOT) return { tileM: 1, tileN: 1, unrollK: 1 };
  if (isLongK(g.batch * g.M * g.N, g.K)) return { splitK: 64, tileM: 4, tileN: 4 };
  return {};
}

/** 0 … n − 1, for unrolling loops in emitted code. */
export const range = (n: number) => [...Array(n).keys()];

/** Column chunks of at most 4, so that a row of the tile is a few vec4 accumulators. */
function chunks(tn: number): { start: number; width: number }[] {
  return range(Math.ceil(tn / 4)).map((q) => ({ start: 4 * q, width: Math.min(4, tn - 4 * q) }));
}

/**
 * Each invocation owns a tileM × tileN block of outputs. The rows of a workgroup's blocks are the
 * same, so on lavapipe (which runs invocations as SIMD lanes) A's loads are uniform scalar loads;
 * K runs unrollK steps at a time, each A row segment read as one vector, each B row as vec4s.
 */
function registerTiled(g: DotGeometry, tm: number, tn: number, asked: number, unroll: number, storeLoop: boolean): KernelSource {
  const rowTiles = Math.ceil(g.M / tm);
  const colTiles = Math.ceil(g.N / tn);
  // Lanes past the last column tile only compute clamped copies: with few columns (a dense layer
  // of 256 units: 32 tiles) a smaller workgroup keeps every lane busy (2.1x faster there).
  const wg = Math.min(asked, Math.max(8, 2 ** Math.ceil(Math.log2(colTiles))));
  const colGroups = Math.ceil(colTiles / wg);
  const groups = g.batch * rowTiles * colGroups;
  const cs = chunks(tn);
  const k4 = g.K - (g.K % unroll);
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);

  // Out-of-range rows and columns are clamped on load (never branch in the K loop) and skipped on store.
  const aRow = (i: number) => `aRow${i}`;
  const bCol = (j: number) => `bCol${j}`;
  const aAt = (i: number, k: string) => `in0[${aRow(i)} + (${k}) * ${g.aK}u]`;
  const bAt = (k: string, j: number) => `in1[bBase + (${k}) * ${g.bK}u + ${bCol(j)}]`;

  const step = (k: string, unroll: number) => {
    for (let i = 0; i < tm; i++) {
      const parts = range(unroll).map((u) => aAt(i, `${k} + ${u}u`));
      emit(`    let a${i} = ${unroll === 1 ? parts[0] : `${vecType(unroll)}(${parts.join(', ')})`};`);
    }
    for (let u = 0; u < unroll; u++) {
      for (const [q, c] of cs.entries()) {
        const parts = range(c.width).map((j) => bAt(`${k} + ${u}u`, c.start + j));
        emit(`    let b${u}_${q} = ${c.width === 1 ? parts[0] : `${vecType(c.width)}(${parts.join(', ')})`};`);
      }
    }
    for (let i = 0; i < tm; i++) {
      for (const q of cs.keys()) {
        const terms = range(unroll).map((u) => `${unroll === 1 ? `a${i}` : `a${i}.${'xyzw'[u]}`} * b${u}_${q}`);
        emit(`    acc${i}_${q} += ${terms.join(' + ')};`);
      }
    }
  };

  groupedEntry(wg, groups).forEach(emit);
  emit(`  let colTile = (group % ${colGroups}u) * ${wg}u + lid.x;`);
  emit(`  let rowTile = (group / ${colGroups}u) % ${rowTiles}u;`);
  emit(`  let p = group / ${colGroups * rowTiles}u;`);
  // No early exit for surplus lanes: llvmpipe takes its scalar path for uniform loads only while
  // every lane of the workgroup is still running. Their loads clamp, their stores are skipped.
  emit(`  let row0 = rowTile * ${tm}u;`);
  emit(`  let col0 = colTile * ${tn}u;`);
  emit(`  let bBase = p * ${g.bBatch}u;`);
  emitOperandBases(emit, g, tm, tn);
  for (let i = 0; i < tm; i++) {
    for (const [q, c] of cs.entries()) emit(`  var acc${i}_${q} = ${vecType(c.width)}();`);
  }
  if (k4 > 0) {
    emit(`  for (var k = 0u; k < ${k4}u; k += ${unroll}u) {`);
    step('k', unroll);
    emit(`  }`);
  }
  if (g.K > k4) {
    emit(`  for (var k = ${k4}u; k < ${g.K}u; k++) {`);
    step('k', 1);
    emit(`  }`);
  }
  emit(`  let outBase = p * ${g.M * g.N}u;`);
  if (storeLoop && tm * tn > 4) {
    // The tile's stores as a loop over a private copy, its trip count not a constant (the driver
    // would unroll it back): unrolled, each store through the epilogue is a few dozen instructions
    // per lane on lavapipe, and 64 of them were most of LLVM's compile time for this kernel.
    const elems = range(tm).flatMap((i) => cs.flatMap((c, q) => range(c.width).map((j) => (c.width === 1 ? `acc${i}_${q}` : `acc${i}_${q}.${'xyzw'[j]}`))));
    emit(`  var tile = array<f32, ${tm * tn}>(${elems.join(', ')});`);
    emit(`  let rows = min(${tm}u, ${g.M}u - row0);`);
    emit(`  let cols = min(${tn}u, ${g.N}u - min(col0, ${g.N}u));`);
    emit(`  for (var t = 0u; t < rows * ${tn}u; t++) {`);
    emit(`    let j = t % ${tn}u;`);
    emit(`    if (j < cols) { let o = outBase + (row0 + t / ${tn}u) * ${g.N}u + col0 + j; out0[o] = epilogue(tile[t], o); }`);
    emit(`  }`);
    emit(`}`);
    return { body: lines.join('\n'), workgroups: dispatchGroups(groups) };
  }
  // Bounds checks only where a tile can cross the edge: a store under an `if` is a branch per lane
  // on lavapipe, and 64 of them (with a fused epilogue's loads) took LLVM seconds to compile.
  const rowsExact = rowTiles * tm === g.M;
  const colsExact = colGroups * wg * tn === g.N;
  for (let i = 0; i < tm; i++) {
    if (!rowsExact) emit(`  if (row0 + ${i}u < ${g.M}u) {`);
    for (const [q, c] of cs.entries()) {
      for (let j = 0; j < c.width; j++) {
        const col = c.start + j;
        const v = c.width === 1 ? `acc${i}_${q}` : `acc${i}_${q}.${'xyzw'[j]}`;
        const store = `{ let o = outBase + (row0 + ${i}u) * ${g.N}u + col0 + ${col}u; out0[o] = epilogue(${v}, o); }`;
        emit(colsExact ? `    ${store}` : `    if (col0 + ${col}u < ${g.N}u) ${store}`);
      }
    }
    if (!rowsExact) emit(`  }`);
  }
  emit(`}`);
  return { body: lines.join('\n'), workgroups: dispatchGroups(groups) };
}

/**
 * Classic shared-memory tiling: a 16 × 16 grid of invocations loads a tileK-deep slice of A
 * ((16·tm) rows) and of B ((16·tn) columns) into workgroup memory, then each invocation multiplies
 * its tm × tn block from there. Invocation (tx, ty) owns rows ty + 16·i and columns tx + 16·j, so
 * that neighbouring invocations read neighbouring words of workgroup memory.
 */
function workgroupTiled(g: DotGeometry, tm: number, tn: number, tileK: number): KernelSource {
  const T = 16;
  const bm = T * tm;
  const bn = T * tn;
  // Both staged slices must fit the 32 KiB of workgroup memory.
  const tk = Math.max(1, Math.min(tileK, Math.floor(8192 / (bm + bn))));
  const rowTiles = Math.ceil(g.M / bm);
  const colTiles = Math.ceil(g.N / bn);
  const groups = g.batch * rowTiles * colTiles;
  const kTiles = Math.ceil(g.K / tk);
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const loadsA = Math.ceil((bm * tk) / (T * T));
  const loadsB = Math.ceil((bn * tk) / (T * T));

  emit(`var<workgroup> kernelTileA: array<f32, ${tk * bm}>;`);
  emit(`var<workgroup> kernelTileB: array<f32, ${tk * bn}>;`);
  emit(`@compute @workgroup_size(${T}, ${T})`);
  emit(`fn main(@builtin(workgroup_id) wid: vec3<u32>,`);
  emit(`        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {`);
  emit(`  let group = ${linearGroup(groups)};`);
  // A workgroup-uniform exit, before any barrier, as WGSL's uniformity rules require.
  emit(`  if (group >= ${groups}u) { return; }`);
  emitBlockOrigin(emit, g, rowTiles, colTiles, bm, bn);
  emit(`  let aBase = p * ${g.aBatch}u;`);
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) emit(`  var acc${i}_${j} = 0.0;`);
  emit(`  for (var kt = 0u; kt < ${kTiles}u; kt++) {`);
  emit(`    let k0 = kt * ${tk}u;`);
  // Staged as kernelTileA[k][m] and kernelTileB[k][n]; elements past the matrix edge are stored as zero.
  for (let r = 0; r < loadsA; r++) {
    emit(`    { let e = li + ${r * T * T}u;`);
    emit(`      if (e < ${bm * tk}u) {`);
    emit(`        let kk = e / ${bm}u; let mm = e % ${bm}u; let m = row0 + mm; let k = k0 + kk;`);
    emit(`        var v = 0.0;`);
    emit(`        if (m < ${g.M}u && k < ${g.K}u) { v = in0[aBase + m * ${g.aM}u + k * ${g.aK}u]; }`);
    emit(`        kernelTileA[e] = v; } }`);
  }
  for (let r = 0; r < loadsB; r++) {
    emit(`    { let e = li + ${r * T * T}u;`);
    emit(`      if (e < ${bn * tk}u) {`);
    emit(`        let kk = e / ${bn}u; let nn = e % ${bn}u; let n = col0 + nn; let k = k0 + kk;`);
    emit(`        var v = 0.0;`);
    emit(`        if (n < ${g.N}u && k < ${g.K}u) { v = in1[bBase + k * ${g.bK}u + n * ${g.bN}u]; }`);
    emit(`        kernelTileB[e] = v; } }`);
  }
  emit(`    workgroupBarrier();`);
  emit(`    for (var kk = 0u; kk < ${tk}u; kk++) {`);
  for (let i = 0; i < tm; i++) emit(`      let a${i} = kernelTileA[kk * ${bm}u + lid.y + ${T * i}u];`);
  for (let j = 0; j < tn; j++) emit(`      let b${j} = kernelTileB[kk * ${bn}u + lid.x + ${T * j}u];`);
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) emit(`      acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`);
  emit(`    }`);
  emit(`    workgroupBarrier();`);
  emit(`  }`);
  emit(`  let outBase = p * ${g.M * g.N}u;`);
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j++) {
      emit(`  { let m = row0 + lid.y + ${T * i}u; let n = col0 + lid.x + ${T * j}u;`);
      emit(`    if (m < ${g.M}u && n < ${g.N}u) { let o = outBase + m * ${g.N}u + n; out0[o] = epilogue(acc${i}_${j}, o); } }`);
    }
  }
  emit(`}`);
  return { body: lines.join('\n'), workgroups: dispatchGroups(groups) };
}

/** One block per workgroup: its tile indices, batch `p`, first row and column, and B's batch offset. */
function emitBlockOrigin(emit: (s: string) => void, g: DotGeometry, rowTiles: number, colTiles: number, rows: number, cols: number): void {
  emit(`  let colTile = group % ${colTiles}u;`);
  emit(`  let rowTile = (group / ${colTiles}u) % ${rowTiles}u;`);
  emit(`  let p = group / ${colTiles * rowTiles}u;`);
  emit(`  let row0 = rowTile * ${rows}u;`);
  emit(`  let col0 = colTile * ${cols}u;`);
  emit(`  let bBase = p * ${g.bBatch}u;`);
}

/** Where each of a tm × tn block's A rows and B columns starts, clamped to the matrix (loads never branch). */
function emitOperandBases(emit: (s: string) => void, g: DotGeometry, tm: number, tn: number): void {
  for (let i = 0; i < tm; i++) emit(`  let aRow${i} = p * ${g.aBatch}u + min(row0 + ${i}u, ${last(g.M)}u) * ${g.aM}u;`);
  for (let j = 0; j < tn; j++) emit(`  let bCol${j} = min(col0 + ${j}u, ${last(g.N)}u) * ${g.bN}u;`);
}

/**
 * K split across the lanes of a workgroup: lane l takes k = l, l + S, l + 2S, … for the whole
 * tm × tn block, so that neighbouring lanes read neighbouring words of whichever operand runs
 * along K (one vector load on lavapipe instead of a gather); the S partial blocks meet in
 * workgroup memory, and each output is summed there by one lane.
 */
function splitKTiled(g: DotGeometry, tm: number, tn: number, asked: number): KernelSource {
  const T = tm * tn;
  // At most 256 lanes (WebGPU's default limit) and 32 KiB of partial sums.
  const S = Math.max(1, Math.min(asked, 256, Math.floor(8192 / T)));
  const rowTiles = Math.ceil(g.M / tm);
  const colTiles = Math.ceil(g.N / tn);
  const groups = g.batch * rowTiles * colTiles;
  const lines: string[] = [`var<workgroup> kernelPartial: array<f32, ${S * T}>;`];
  const emit = (s: string) => lines.push(s);
  groupedEntry(S, groups).forEach(emit);
  emitBlockOrigin(emit, g, rowTiles, colTiles, tm, tn);
  emitOperandBases(emit, g, tm, tn);
  for (let t = 0; t < T; t++) emit(`  var acc${t} = 0.0;`);
  emit(`  for (var k = lid.x; k < ${g.K}u; k += ${S}u) {`);
  for (let i = 0; i < tm; i++) emit(`    let a${i} = in0[aRow${i} + k * ${g.aK}u];`);
  for (let j = 0; j < tn; j++) emit(`    let b${j} = in1[bBase + k * ${g.bK}u + bCol${j}];`);
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) emit(`    acc${i * tn + j} = fma(a${i}, b${j}, acc${i * tn + j});`);
  emit(`  }`);
  // Output t's partial sums are contiguous, so the lane that sums them reads one run.
  for (let t = 0; t < T; t++) emit(`  kernelPartial[${t * S}u + lid.x] = acc${t};`);
  emit(`  workgroupBarrier();`);
  emit(`  for (var t = lid.x; t < ${T}u; t += ${S}u) {`);
  emit(`    var s = 0.0;`);
  emit(`    for (var l = 0u; l < ${S}u; l++) { s += kernelPartial[t * ${S}u + l]; }`);
  emit(`    let m = row0 + t / ${tn}u;`);
  emit(`    let n = col0 + t % ${tn}u;`);
  emit(`    if (m < ${g.M}u && n < ${g.N}u) { let o = p * ${g.M * g.N}u + m * ${g.N}u + n; out0[o] = epilogue(s, o); }`);
  emit(`  }`);
  emit(`}`);
  return { body: lines.join('\n'), workgroups: dispatchGroups(groups) };
}
