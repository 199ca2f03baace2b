// The adapter's own ceilings, measured with probes of our own, so that kernels and whole steps
// can be read as a fraction of what this adapter can do:
//
// - FMA ceiling: one dispatch of many workgroups, each invocation running C independent vec4 FMA
//   chains in registers (no memory traffic in the loop); FLOPs = invocations · iterations · 4 · C · 4 · 2
//   (4 unrolled rounds). C = 2, 4 and 8 are tried (a CPU driver such as lavapipe spills registers
//   with 8 chains, a GPU wants the independent work): the best is the ceiling.
// - streaming bandwidth: a copy kernel over a large buffer (one read and one write per element),
//   as f32 and as vec4, each invocation striding over the buffer; bytes = 2 · buffer size. The
//   best of the two is the ceiling.
// - load cost: not a ceiling but what bounds a kernel under it: one load in a loop, in
//   multiply-adds at the FMA ceiling (Ceiling.probes.load).
//
// Each probe grows its work until one dispatch takes at least TARGET_MS, then keeps the best of
// a few runs (timed from submit to onSubmittedWorkDone, so a dispatch's fixed cost is included,
// which is negligible at that size). dawn.node waits for the GPU by spinning the Node thread in a
// setImmediate loop, which on a CPU adapter takes a core from the driver's threads: the probes
// wait with that loop throttled (1 ms per poll), so that the ceiling is the adapter's, not the
// adapter's minus the binding's spin. The systems measured against it spin as users' processes
// do, unless the bench is run with --dawn-poll-ms.
//
//   npx tsx bench/ceiling.ts            prints the ceiling as JSON (a line starting with BENCH_RESULT)
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export interface Ceiling {
  /** Register-only FMA throughput, GFLOP/s (1 FMA = 2 FLOPs). */
  fmaGflops: number;
  /** Copy-kernel bandwidth, GB/s (10⁹ bytes: read + write). */
  bandwidthGBs: number;
  adapter: string;
  probes: {
    fma: { invocations: number; iterations: number; chains: number; flops: number; ms: number; byChains: Record<string, number> };
    copy: { variant: 'f32' | 'vec4'; bytes: number; ms: number; f32GBs: number; vec4GBs: number };
    /**
     * What one load costs inside a kernel's inner loop: the same loop of 8 scalar multiply-add
     * chains run without and with one f32 load per invocation per iteration (each invocation its
     * own word, neighbours adjacent), the difference per load, in the time of one invocation's
     * multiply-add at the FMA ceiling. Tells what share of the ceiling a kernel with a given
     * ratio of loads to multiply-adds can reach. Absent in results from before it existed.
     */
    load?: { invocations: number; iterations: number; msWithout: number; msWith: number; nsPerLoad: number; fmasPerLoad: number };
  };
}

const TARGET_MS = 60;
const RUNS = 4;
const WG = 64;

const STORAGE = 0x80; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const COMPUTE = 0x4; // GPUShaderStage.COMPUTE

const ROUNDS = 4;

function fmaWgsl(chains: number): string {
  const cs = [...Array(chains).keys()];
  return `@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * ${WG}u;
  let s = params[0] + f32(i & 1023u) * 1e-6;
  let b = vec4<f32>(params[1]);
  let c = vec4<f32>(params[2]);
  let n = u32(params[3]);
${cs.map((k) => `  var a${k} = vec4<f32>(s + ${k}.0, s + ${k}.25, s + ${k}.5, s + ${k}.75);`).join('\n')}
  for (var k = 0u; k < n; k++) {
${[...Array(ROUNDS).keys()].map(() => cs.map((k) => `    a${k} = fma(a${k}, b, c);`).join('\n')).join('\n')}
  }
  out[i] = ${cs.map((k) => `a${k}`).join(' + ')};
}`;
}

/** Invocations of the copy kernel: each copies every COPY_INVOCATIONS-th element. */
const COPY_INVOCATIONS = 4096 * WG;

function copyWgsl(vec4: boolean): string {
  const t = vec4 ? 'vec4<f32>' : 'f32';
  return `@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let n = arrayLength(&dst);
  for (var i = gid.x + gid.y * nw.x * ${WG}u; i < n; i += ${COPY_INVOCATIONS}u) { dst[i] = src[i]; }
}`;
}

/** Workgroups for `invocations`, as (x, y) within the 65535 limit. */
function grid(invocations: number): [number, number] {
  const groups = Math.ceil(invocations / WG);
  const x = Math.min(groups, 32768);
  return [x, Math.ceil(groups / x)];
}

interface Probe {
  run(): Promise<number>;
  destroy(): void;
}

async function probe(device: GPUDevice, wgsl: string, label: string, buffers: GPUBuffer[], readOnly: boolean[], groups: [number, number]): Promise<Probe> {
  device.pushErrorScope('validation');
  const layout = device.createBindGroupLayout({
    label,
    entries: buffers.map((_, binding) => ({ binding, visibility: COMPUTE, buffer: { type: readOnly[binding] ? 'read-only-storage' : 'storage' } })),
  });
  const pipeline = await device.createComputePipelineAsync({
    label, layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module: device.createShaderModule({ label, code: wgsl }), entryPoint: 'main' },
  });
  const group = device.createBindGroup({ layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const err = await device.popErrorScope();
  if (err) throw new Error(`ceiling probe ${label}: ${err.message}`);
  return {
    async run() {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(groups[0], groups[1]);
      pass.end();
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    },
    destroy() {
      for (const b of buffers) b.destroy();
    },
  };
}

async function best(p: Probe): Promise<number> {
  let ms = Infinity;
  for (let r = 0; r < RUNS; r++) ms = Math.min(ms, await p.run());
  return ms;
}

async function fmaChains(device: GPUDevice, chains: number): Promise<{ iterations: number; flops: number; ms: number }> {
  const invocations = FMA_INVOCATIONS;
  const out = device.createBuffer({ size: invocations * 16, usage: STORAGE });
  const params = device.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
  let iterations = 16;
  const write = () => device.queue.writeBuffer(params, 0, new Float32Array([0.5, 0.9999, 1e-4, iterations]));
  const p = await probe(device, fmaWgsl(chains), `ceiling fma x${chains}`, [out, params], [false, true], grid(invocations));
  try {
    write();
    await p.run(); // JIT
    let ms = await p.run();
    while (ms < TARGET_MS && iterations < 1 << 20) {
      iterations *= Math.min(16, Math.max(2, 2 ** Math.ceil(Math.log2(TARGET_MS / Math.max(ms, 0.05)))));
      write();
      ms = await p.run();
    }
    ms = Math.min(ms, await best(p));
    return { iterations, flops: invocations * iterations * ROUNDS * chains * 8, ms };
  } finally {
    p.destroy();
  }
}

function loadLoopWgsl(withLoad: boolean): string {
  const cs = [...Array(LOAD_CHAINS).keys()];
  return `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = gid.x + gid.y * nw.x * ${WG}u;
  let n = u32(params[3]);
  let mask = arrayLength(&src) - 1u;
${cs.map((k) => `  var a${k} = params[0] + f32(i & 1023u) * 1e-6 + ${k}.0;`).join('\n')}
  for (var k = 0u; k < n; k++) {
    let x = ${withLoad ? `src[(k * ${WG}u + li) & mask]` : `params[1] + f32(k) * 1e-9`};
${cs.map((k) => `    a${k} = a${k} * x + params[2];`).join('\n')}
  }
  out[i] = ${cs.map((k) => `a${k}`).join(' + ')};
}`;
}

const LOAD_CHAINS = 8;

/** The load probe (Ceiling.probes.load): its two loops timed alike, their difference per load. */
async function loadCost(device: GPUDevice, fmaGflops: number): Promise<NonNullable<Ceiling['probes']['load']>> {
  const invocations = 1024 * WG;
  const iterations = 256;
  const time = async (withLoad: boolean) => {
    const out = device.createBuffer({ size: invocations * 4, usage: STORAGE });
    const params = device.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
    const src = device.createBuffer({ size: 2 ** 20, usage: STORAGE });
    device.queue.writeBuffer(params, 0, new Float32Array([0.5, 0.9999, 1e-4, iterations]));
    const p = await probe(device, loadLoopWgsl(withLoad), `ceiling load ${withLoad ? 'with' : 'without'}`, [out, params, src], [false, true, true], grid(invocations));
    try {
      await p.run(); // JIT
      return await best(p);
    } finally {
      p.destroy();
    }
  };
  const msWithout = await time(false);
  const msWith = await time(true);
  const loads = invocations * iterations;
  const nsPerLoad = (Math.max(0, msWith - msWithout) * 1e6) / loads;
  // One invocation's multiply-add (2 FLOPs) at the ceiling takes 2 / GFLOP/s nanoseconds.
  return { invocations, iterations, msWithout, msWith, nsPerLoad, fmasPerLoad: nsPerLoad / (2 / fmaGflops) };
}

/** Enough invocations to fill a large GPU (an H100/H200 keeps ~270 k threads resident). */
const FMA_INVOCATIONS = 8192 * WG;

async function fmaCeiling(device: GPUDevice): Promise<Ceiling['probes']['fma'] & { gflops: number }> {
  const byChains: Record<string, number> = {};
  let top: { chains: number; iterations: number; flops: number; ms: number } | null = null;
  for (const chains of [2, 4, 8]) {
    const r = await fmaChains(device, chains);
    byChains[chains] = r.flops / r.ms / 1e6;
    if (!top || r.flops / r.ms > top.flops / top.ms) top = { chains, ...r };
  }
  return { invocations: FMA_INVOCATIONS, ...top!, byChains, gflops: top!.flops / top!.ms / 1e6 };
}

async function copyBandwidth(device: GPUDevice, vec4: boolean): Promise<{ bytes: number; ms: number; gbs: number }> {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const bytes = Math.min(256 * 2 ** 20, 2 ** Math.floor(Math.log2(limit)));
  const src = device.createBuffer({ size: bytes, usage: STORAGE | COPY_DST });
  const dst = device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC });
  const p = await probe(device, copyWgsl(vec4), `ceiling copy ${vec4 ? 'vec4' : 'f32'}`, [src, dst], [true, false], grid(Math.min(COPY_INVOCATIONS, bytes / (vec4 ? 16 : 4))));
  try {
    await p.run(); // JIT, first touch of the pages
    const ms = await best(p);
    return { bytes: 2 * bytes, ms, gbs: (2 * bytes) / ms / 1e6 };
  } finally {
    p.destroy();
  }
}

/** Runs `f` with dawn.node's polling loop (globalThis.setImmediate) slowed to one poll per ms. */
async function withoutSpinning<T>(f: () => Promise<T>): Promise<T> {
  const g = globalThis as unknown as { setImmediate: (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown };
  const saved = g.setImmediate;
  g.setImmediate = (fn, ...args) => setTimeout(fn, 1, ...args);
  try {
    return await f();
  } finally {
    g.setImmediate = saved;
  }
}

/** Measures the FMA ceiling and the streaming bandwidth of `device`. */
export async function measureCeiling(device: GPUDevice, adapter = ''): Promise<Ceiling> {
  const [fma, f32, v4] = await withoutSpinning(async () => [await fmaCeiling(device), await copyBandwidth(device, false), await copyBandwidth(device, true)] as const);
  const load = await withoutSpinning(() => loadCost(device, fma.gflops));
  const c = f32.gbs >= v4.gbs ? { variant: 'f32' as const, ...f32 } : { variant: 'vec4' as const, ...v4 };
  return {
    fmaGflops: fma.gflops,
    bandwidthGBs: c.gbs,
    adapter,
    probes: {
      fma: { invocations: fma.invocations, iterations: fma.iterations, chains: fma.chains, flops: fma.flops, ms: fma.ms, byChains: fma.byChains },
      copy: { variant: c.variant, bytes: c.bytes, ms: c.ms, f32GBs: f32.gbs, vec4GBs: v4.gbs },
      load,
    },
  };
}

export function describeCeiling(c: Ceiling): string {
  return `FMA ceiling ${c.fmaGflops.toFixed(1)} GFLOP/s (register-only FMA loop, ${c.probes.fma.invocations} invocations × ` +
    `${c.probes.fma.iterations} iterations × ${c.probes.fma.chains} vec4 chains in one dispatch), streaming bandwidth ${c.bandwidthGBs.toFixed(1)} GB/s ` +
    `(copy kernel over ${(c.probes.copy.bytes / 2 / 2 ** 20).toFixed(0)} MiB, ${c.probes.copy.variant}; f32 ${c.probes.copy.f32GBs.toFixed(1)}, ` +
    `vec4 ${c.probes.copy.vec4GBs.toFixed(1)} GB/s)` +
    (c.probes.load ? `; one f32 load in a loop costs ${c.probes.load.fmasPerLoad.toFixed(1)} multiply-adds at that ceiling (load probe)` : '');
}

/** `pct(x, of)`: x as a percentage of `of`, for tables. */
export function pct(x: number, of: number | undefined): string {
  if (!of || !Number.isFinite(x)) return '–';
  const p = (100 * x) / of;
  return p >= 10 ? `${p.toFixed(0)}%` : p >= 1 ? `${p.toFixed(1)}%` : `${p.toFixed(2)}%`;
}

async function main(): Promise<void> {
  const { ensureRuntimeDir, throttleDawnPolling, RESULT_PREFIX } = await import('./harness.js');
  ensureRuntimeDir();
  throttleDawnPolling();
  // webgluon's own device (the one the cases run on), with its limits.
  await import('../src/index.js');
  const { getBackend } = await import('../src/runtime/device.js');
  const b = await getBackend();
  let out: Ceiling | { error: string };
  if (b.kind !== 'gpu') {
    out = { error: `no GPU adapter (${b.reason})` };
  } else {
    try {
      out = await measureCeiling(b.device, b.adapterName);
      process.stderr.write(`${describeCeiling(out)}\n`);
    } catch (e) {
      out = { error: (e as Error).message };
    }
  }
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(out)}\n`, () => process.exit(0));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
