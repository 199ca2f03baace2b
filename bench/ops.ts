// GFLOP/s of the heavy kernel templates (matmul 1024³, the Siamese network's two convolutions:
// forward, backward-data, backward-weight) beside plain one-thread-per-output kernels, same adapter.
//
//   npx tsx bench/ops.ts [--only substring] [--tuning '{"tileM":8}'] [--runs 5] [--no-naive]
//                        [--no-ceiling] [--json out.json]
//
// Times run from submit to queue.onSubmittedWorkDone(); the first run (which includes lavapipe's
// JIT compile of the pipeline) is reported apart, the rest give the median (and the best). The
// adapter's FMA ceiling and streaming bandwidth are measured first (bench/ceiling.ts) and each
// kernel's GFLOP/s is also given as a percentage of the FMA ceiling.
import type { KernelTemplate } from '../src/graph/kernel_template.js';
import { matmulKernel } from '../src/codegen/kernels/matmul.js';
import { conv2dBackwardDataKernel, conv2dBackwardWeightKernel, conv2dKernel, convGeometry, type ConvGeometry } from '../src/codegen/kernels/conv2d.js';
import type { HostValue } from '../src/graph/registry.js';
import { sizeOf, type Attrs, type Shape } from '../src/base/types.js';
import { deviceSubgroupSize, getDevice, prepare, randomValue } from '../tests/kernels_harness.js';
import { writeFileSync } from 'node:fs';
import { describeCeiling, measureCeiling, pct, type Ceiling } from './ceiling.js';
import { throttleDawnPolling } from './harness.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = flag('only');
const tuning = JSON.parse(flag('tuning') ?? '{}') as Record<string, number>;
const runs = Number(flag('runs') ?? 5);
const withNaive = !argv.includes('--no-naive');
const withCeiling = !argv.includes('--no-ceiling');
const jsonOut = flag('json');

const WG = 64;

/** A plain kernel: one invocation per output element, the whole reduction in one loop. */
function naive(count: number, index: string, loop: string): KernelTemplate {
  const groups = Math.ceil(count / WG);
  const gx = Math.min(groups, 65535);
  return () => ({
    body: `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.x + wid.y * ${gx}u) * ${WG}u + lid.x;
  if (i >= ${count}u) { return; }
${index}
  var s = 0.0;
${loop}
  out0[i] = epilogue(s, i);
}`,
    workgroups: [gx, Math.ceil(groups / gx), 1],
  });
}

function naiveMatmul(M: number, K: number, N: number): KernelTemplate {
  return naive(M * N, `  let m = i / ${N}u; let n = i % ${N}u;`,
    `  for (var k = 0u; k < ${K}u; k++) { s += in0[m * ${K}u + k] * in1[k * ${N}u + n]; }`);
}

/** The plain kernel for any dot: A and B read through the strides of their layouts. */
function naiveDot(a: number[], b: number[], ta: boolean, tb: boolean): KernelTemplate {
  const [M, K] = ta ? [a[1], a[0]] : a;
  const N = tb ? b[0] : b[1];
  const aAt = ta ? `k * ${M}u + m` : `m * ${K}u + k`;
  const bAt = tb ? `n * ${K}u + k` : `k * ${N}u + n`;
  return naive(M * N, `  let m = i / ${N}u; let n = i % ${N}u;`, `  for (var k = 0u; k < ${K}u; k++) { s += in0[${aAt}] * in1[${bAt}]; }`);
}

function naiveConv(g: ConvGeometry): KernelTemplate {
  return naive(g.N * g.O * g.OH * g.OW,
    `  let ow = i % ${g.OW}u; let oh = (i / ${g.OW}u) % ${g.OH}u; let o = (i / ${g.OW * g.OH}u) % ${g.O}u; let n = i / ${g.OW * g.OH * g.O}u;`,
    `  for (var c = 0u; c < ${g.C}u; c++) { for (var kh = 0u; kh < ${g.KH}u; kh++) { for (var kw = 0u; kw < ${g.KW}u; kw++) {
    let ih = i32(oh * ${g.SH}u + kh) - ${g.PH}i; let iw = i32(ow * ${g.SW}u + kw) - ${g.PW}i;
    if (ih >= 0i && ih < ${g.H}i && iw >= 0i && iw < ${g.W}i) {
      s += in0[((n * ${g.C}u + c) * ${g.H}u + u32(ih)) * ${g.W}u + u32(iw)] * in1[((o * ${g.C}u + c) * ${g.KH}u + kh) * ${g.KW}u + kw];
    } } } }`);
}

function naiveConvData(g: ConvGeometry): KernelTemplate {
  return naive(g.N * g.C * g.H * g.W,
    `  let iw = i32(i % ${g.W}u); let ih = i32((i / ${g.W}u) % ${g.H}u); let c = (i / ${g.W * g.H}u) % ${g.C}u; let n = i / ${g.W * g.H * g.C}u;`,
    `  for (var o = 0u; o < ${g.O}u; o++) { for (var kh = 0u; kh < ${g.KH}u; kh++) { for (var kw = 0u; kw < ${g.KW}u; kw++) {
    let nh = ih + ${g.PH}i - i32(kh); let nw = iw + ${g.PW}i - i32(kw);
    if (nh >= 0i && nw >= 0i && nh % ${g.SH}i == 0i && nw % ${g.SW}i == 0i && nh / ${g.SH}i < ${g.OH}i && nw / ${g.SW}i < ${g.OW}i) {
      s += in0[((n * ${g.O}u + o) * ${g.OH}u + u32(nh / ${g.SH}i)) * ${g.OW}u + u32(nw / ${g.SW}i)] * in1[((o * ${g.C}u + c) * ${g.KH}u + kh) * ${g.KW}u + kw];
    } } } }`);
}

function naiveConvWeight(g: ConvGeometry): KernelTemplate {
  return naive(g.O * g.C * g.KH * g.KW,
    `  let kw = i % ${g.KW}u; let kh = (i / ${g.KW}u) % ${g.KH}u; let c = (i / ${g.KW * g.KH}u) % ${g.C}u; let o = i / ${g.KW * g.KH * g.C}u;`,
    `  for (var n = 0u; n < ${g.N}u; n++) { for (var oh = 0u; oh < ${g.OH}u; oh++) { for (var ow = 0u; ow < ${g.OW}u; ow++) {
    let ih = i32(oh * ${g.SH}u + kh) - ${g.PH}i; let iw = i32(ow * ${g.SW}u + kw) - ${g.PW}i;
    if (ih >= 0i && ih < ${g.H}i && iw >= 0i && iw < ${g.W}i) {
      s += in1[((n * ${g.O}u + o) * ${g.OH}u + oh) * ${g.OW}u + ow] * in0[((n * ${g.C}u + c) * ${g.H}u + u32(ih)) * ${g.W}u + u32(iw)];
    } } } }`);
}

interface Job {
  name: string;
  shape: string;
  flops: number;
  inputs: HostValue[];
  attrs: Attrs;
  outShape: Shape;
  template: KernelTemplate;
  baseline: KernelTemplate;
}

function jobs(): Job[] {
  const list: Job[] = [];
  const n = 1024;
  list.push({
    name: 'matmul', shape: `${n}x${n}x${n}`, flops: 2 * n ** 3,
    inputs: [randomValue([n, n], 1), randomValue([n, n], 2)], attrs: {}, outShape: [n, n],
    template: matmulKernel, baseline: naiveMatmul(n, n, n),
  });
  // The Siamese network's first dense layer (32 images × 64·21·21 features → 256), as the
  // training step runs it: forward (weight stored (out, in)), weight gradient, input gradient.
  const [B, F, U] = [32, 64 * 21 * 21, 256];
  const dense = (name: string, a: number[], b: number[], ta: boolean, tb: boolean, out: number[], seed: number) => list.push({
    name, shape: `${a.join('x')}${ta ? 'ᵀ' : ''} · ${b.join('x')}${tb ? 'ᵀ' : ''}`, flops: 2 * B * F * U,
    inputs: [randomValue(a, seed), randomValue(b, seed + 1)], attrs: { transposeA: ta, transposeB: tb }, outShape: out,
    template: matmulKernel, baseline: naiveDot(a, b, ta, tb),
  });
  dense('dense', [B, F], [U, F], false, true, [B, U], 11);
  dense('dense dW', [B, U], [B, F], true, false, [U, F], 13);
  dense('dense dx', [B, U], [U, F], false, false, [B, F], 15);
  // The workgroup-memory tiling meant for real GPUs, on the same adapter for comparison.
  list.push({ ...list[0], name: 'matmul (workgroupTiling)',
    template: (ctx) => matmulKernel({ ...ctx, tuning: { workgroupTiling: 1, tileM: 4, tileN: 4, ...ctx.tuning } }) });
  const convs = [{ x: [16, 1, 105, 105], w: [64, 1, 5, 5] }, { x: [16, 64, 50, 50], w: [64, 64, 5, 5] }];
  for (const c of convs) {
    const y = [c.x[0], c.w[0], c.x[2] - c.w[2] + 1, c.x[3] - c.w[3] + 1];
    const g = convGeometry(c.x, c.w, y, {});
    const flops = 2 * sizeOf(y) * c.w[1] * c.w[2] * c.w[3];
    const shape = `${c.x.join('x')} * ${c.w.join('x')}`;
    const [x, w, dy] = [randomValue(c.x, 3), randomValue(c.w, 4), randomValue(y, 5)];
    list.push(
      { name: 'conv2d', shape, flops, inputs: [x, w], attrs: {}, outShape: y, template: conv2dKernel, baseline: naiveConv(g) },
      { name: 'conv2dBackwardData', shape, flops, inputs: [dy, w], attrs: {}, outShape: c.x, template: conv2dBackwardDataKernel, baseline: naiveConvData(g) },
      { name: 'conv2dBackwardWeight', shape, flops, inputs: [x, dy], attrs: {}, outShape: c.w, template: conv2dBackwardWeightKernel, baseline: naiveConvWeight(g) },
    );
  }
  return list.filter((j) => !only || `${j.name} ${j.shape}`.includes(only));
}

interface Timing { first: number; median: number; best: number }

/**
 * Times the tiled and the plain kernel in alternation, so that load from other processes on the
 * machine (lavapipe shares the CPU) falls on both alike; the plain ones, up to 30x slower, get
 * fewer runs once a run takes seconds.
 */
async function timePair(job: Job, t: Record<string, number>): Promise<[Timing, Timing | null]> {
  const kernels = [await prepare(job.template, job.inputs, job.attrs, job.outShape, t, job.name)];
  if (withNaive) kernels.push(await prepare(job.baseline, job.inputs, job.attrs, job.outShape, {}, `${job.name} (plain)`));
  try {
    const once = async (k: (typeof kernels)[number]) => {
      const start = performance.now();
      await k.run();
      return performance.now() - start;
    };
    const firsts: number[] = [];
    for (const k of kernels) firsts.push(await once(k));
    const times: number[][] = kernels.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, k] of kernels.entries()) {
        if (i > 0 && r >= 2 && firsts[i] > 4000) continue;
        times[i].push(await once(k));
      }
    }
    const stats = times.map((ts, i): Timing => {
      ts.sort((a, b) => a - b);
      return { first: firsts[i], median: ts[Math.floor(ts.length / 2)], best: ts[0] };
    });
    return [stats[0], stats[1] ?? null];
  } finally {
    for (const k of kernels) k.destroy();
  }
}

const gflops = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(2);

const pollMs = throttleDawnPolling();
if (pollMs) console.log(`dawn.node's polling throttled to one poll per ${pollMs} ms (WEBGLUON_BENCH_DAWN_POLL_MS)`);
const device = await getDevice();
const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
const adapter = info ? `${info.vendor} ${info.architecture} ${info.description}`.trim() : '';
const lanes = await deviceSubgroupSize();
let ceiling: Ceiling | null = null;
if (withCeiling) {
  ceiling = await measureCeiling(device, adapter);
  console.log(`adapter: ${adapter || '?'}\n${describeCeiling(ceiling)}`);
}
console.log(`tuning ${JSON.stringify(tuning)}, ${runs} runs (tiled and plain alternating), median and best; the first run includes the JIT compile`);
console.log(`subgroups: ${lanes && tuning.subgroups !== 0 ? `${lanes} lanes (convolutions with a subgroup of channels use them)` : 'not used'}\n`);
const header = '| kernel | shapes | tiled GFLOP/s (best) | % of FMA ceiling (best) | tiled ms (first run) | plain GFLOP/s (best) | plain ms | speedup |';
console.log(header);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const rows: unknown[] = [];
for (const job of jobs()) {
  const [tiled, plain] = await timePair(job, tuning);
  const fma = ceiling?.fmaGflops;
  const row = `| ${job.name} | ${job.shape} | ${gflops(job.flops, tiled.median)} (${gflops(job.flops, tiled.best)}) | ` +
    `${pct(job.flops / tiled.median / 1e6, fma)} (${pct(job.flops / tiled.best / 1e6, fma)}) | ` +
    `${tiled.median.toFixed(1)} (${tiled.first.toFixed(0)}) | ` +
    (plain ? `${gflops(job.flops, plain.median)} (${gflops(job.flops, plain.best)}) | ${plain.median.toFixed(1)} | ${(plain.median / tiled.median).toFixed(1)}x |` : '– | – | – |');
  console.log(row);
  rows.push({
    name: job.name, shape: job.shape, flops: job.flops, tiled, plain,
    tiledGflops: job.flops / tiled.median / 1e6, tiledBestGflops: job.flops / tiled.best / 1e6,
    fmaPct: fma ? (100 * job.flops / tiled.median / 1e6) / fma : undefined,
  });
}
if (jsonOut) {
  writeFileSync(jsonOut, `${JSON.stringify({ date: new Date().toISOString(), adapter, tuning, runs, subgroups: lanes && tuning.subgroups !== 0 ? lanes : 0, ceiling, rows }, null, 1)}\n`);
  console.log(`\nwrote ${jsonOut}`);
}
process.exit(0);
