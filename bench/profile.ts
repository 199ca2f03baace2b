// Every kernel of one step, timed alone, with the work it does counted from its shapes, so that
// each can be read as a fraction of the adapter's ceilings (bench/ceiling.ts):
//
//   conv2d (and its two gradients)  2 · N · Cout · Hout · Wout · Cin · KH · KW
//   dot (matmul)                    2 · M · N · K (times the batch)
//   pooling                         one comparison per window element
//   elementwise, reductions         one operation per element per fused op
//   bytes                           every buffer the kernel reads, once, plus every buffer it writes
//
// Convolutions and matmuls are read against the FMA ceiling, the rest against the streaming
// bandwidth (a fused elementwise kernel does a few operations per element it moves).
//
// As a bench child (bench/run.ts starts it after the siamese-train case):
//   node --import tsx bench/profile.ts --system webgluon-hybrid [--variant batched] [--repeat 3]
// prints one BENCH_RESULT line: the step's kernels, their times, FLOPs and bytes.
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dispatch } from '../src/runtime/executor.js';
import type { GroupKernel } from '../src/ndarray/launch.js';
import type { Node } from '../src/graph/ir.js';
import { pct, type Ceiling } from './ceiling.js';

export type KernelKind = 'conv' | 'matmul' | 'pool' | 'elementwise' | 'reduce' | 'other';

export interface KernelCost {
  flops: number;
  bytes: number;
  kind: KernelKind;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** FLOPs of one node of a fusion group (see the header for the rules). */
export function nodeFlops(n: Node): { flops: number; kind: KernelKind } {
  const shape = (i: number) => n.inputs[i]?.shape ?? [];
  switch (n.op) {
    case 'conv2d': {
      const w = shape(1);
      return { flops: 2 * prod(n.shape) * w[1] * w[2] * w[3], kind: 'conv' };
    }
    case 'conv2dBackwardData': {
      const w = shape(1);
      return { flops: 2 * prod(shape(0)) * w[1] * w[2] * w[3], kind: 'conv' };
    }
    case 'conv2dBackwardWeight':
      return { flops: 2 * prod(shape(1)) * n.shape[1] * n.shape[2] * n.shape[3], kind: 'conv' };
    case 'dot': {
      const a = shape(0);
      const k = n.attrs.transposeA ? a[a.length - 2] : a[a.length - 1];
      return { flops: 2 * prod(n.shape) * k, kind: 'matmul' };
    }
    case 'pool2d': {
      const k = n.attrs.kernel as number[] | number | undefined;
      const [kh, kw] = Array.isArray(k) ? [k[0], k[1] ?? k[0]] : [k ?? 1, k ?? 1];
      return { flops: prod(n.shape) * kh * kw, kind: 'pool' };
    }
    case 'pool2dBackward':
      return { flops: prod(n.shape), kind: 'pool' };
    default:
      break;
  }
  // A reduction does one operation per element it reads; anything else one per element it makes.
  const isReduce = n.inputs.length === 1 && prod(shape(0)) > prod(n.shape) && /^(sum|mean|max|min|prod|norm|argmax|argmin)/.test(n.op);
  return { flops: isReduce ? prod(shape(0)) : prod(n.shape), kind: isReduce ? 'reduce' : 'elementwise' };
}

const RANK: KernelKind[] = ['conv', 'matmul', 'pool', 'reduce', 'elementwise', 'other'];

/** Work of one dispatch: FLOPs from its fusion group's shapes, bytes from its buffers. */
export function kernelCost(d: Dispatch): KernelCost {
  const group = (d.kernel as Partial<GroupKernel>).group;
  if (!group) return { flops: 0, bytes: [...d.reads, ...d.writes].reduce((a, s) => a + s.bytes, 0), kind: 'other' };
  // From the group's shapes, not its buffers': a compiled plan's slot can be larger than the value
  // it holds this time (slots are shared by liveness and grow to their largest value).
  const inside = new Set(group.nodes);
  const read = new Set(group.nodes.flatMap((n) => n.inputs).filter((i) => !inside.has(i) && !i.isScalarConstant));
  const bytes = [...read, ...group.outputs].reduce((a, n) => a + 4 * prod(n.shape), 0);
  let flops = 0;
  let kind: KernelKind = 'other';
  for (const n of group.nodes) {
    if (n.isLeaf) continue;
    const c = nodeFlops(n);
    flops += c.flops;
    if (RANK.indexOf(c.kind) < RANK.indexOf(kind)) kind = c.kind;
  }
  return { flops, bytes, kind };
}

export interface KernelRow {
  /** The kernel's label without its plan position suffix (eager kernels: the op names). */
  label: string;
  kind: KernelKind;
  /** Dispatches of this label in the step. */
  count: number;
  /** Time of all of them, each timed alone (mean of the repeats). */
  ms: number;
  /**
   * Time the driver took to compile this kernel's pipeline at its first dispatch (the first run of
   * a fresh copy minus a timed run), once per distinct kernel; NaN when not measured.
   */
  jitMs: number;
  flops: number;
  bytes: number;
}

export interface StepProfile {
  /** Wall time of the recorded step itself. */
  stepMs: number;
  dispatches: number;
  /** Sum of the kernels' times, each alone. */
  kernelMs: number;
  flops: number;
  bytes: number;
  repeats: number;
  /** Sum of the kernels' compile times at first dispatch (see KernelRow.jitMs); NaN when not measured. */
  jitMs: number;
  rows: KernelRow[];
}

/**
 * Records the dispatches of one call of `step` (which must already have run once: pipelines
 * compiled, buffers allocated), then replays each alone: once untimed, then `repeats` times timed,
 * each submitted and waited for. With `jit`, each distinct kernel is also run as a fresh copy (its
 * WGSL with a comment added: a new pipeline for Dawn, the same shader for the driver) and the
 * first run's excess over a timed run is its compile time; that needs the driver's disk cache off
 * (MESA_SHADER_CACHE_DISABLE=true), or the copy finds the original's compiled code there.
 */
export async function profileStep(step: () => Promise<unknown>, repeats = 3, jit = false): Promise<StepProfile> {
  const { enqueue, flush, tapDispatches } = await import('../src/runtime/executor.js');
  const { getDevice } = await import('../src/runtime/device.js');
  const recorded: Dispatch[] = [];
  tapDispatches((d) => {
    [...d.reads, ...d.writes].forEach((s) => s.retain());
    recorded.push(d);
  });
  const t0 = performance.now();
  try {
    await step();
  } finally {
    tapDispatches(null);
  }
  const stepMs = performance.now() - t0;
  const device = await getDevice();
  const done = async () => {
    await flush();
    await device.queue.onSubmittedWorkDone();
  };
  const rows = new Map<string, KernelRow>();
  const compiled = new Set<string>();
  let jitMs = jit ? 0 : NaN;
  let kernelMs = 0;
  let flops = 0;
  let bytes = 0;
  for (const d of recorded) {
    enqueue(d);
    await done(); // pipeline ready, buffers bound
    const t = performance.now();
    for (let r = 0; r < repeats; r++) {
      enqueue(d);
      await done();
    }
    const ms = (performance.now() - t) / repeats;
    let compileMs = 0;
    if (jit && !compiled.has(d.kernel.wgsl)) {
      compiled.add(d.kernel.wgsl);
      const copy: Dispatch = { ...d, kernel: { ...d.kernel, wgsl: `${d.kernel.wgsl}\n// compile-time probe\n` } };
      const t1 = performance.now();
      enqueue(copy);
      await done();
      compileMs = Math.max(0, performance.now() - t1 - ms);
      jitMs += compileMs;
    }
    const cost = kernelCost(d);
    // Kernels of one plan position (Adam's updates share a label) are one row.
    const label = d.kernel.label.replace(/ @ .*$/, '');
    const row = rows.get(label) ?? { label, kind: cost.kind, count: 0, ms: 0, jitMs: jit ? 0 : NaN, flops: 0, bytes: 0 };
    row.count++;
    row.ms += ms;
    row.jitMs += compileMs;
    row.flops += cost.flops;
    row.bytes += cost.bytes;
    rows.set(label, row);
    kernelMs += ms;
    flops += cost.flops;
    bytes += cost.bytes;
  }
  for (const d of recorded) [...d.reads, ...d.writes].forEach((s) => s.release());
  return {
    stepMs, dispatches: recorded.length, kernelMs, flops, bytes, repeats, jitMs,
    rows: [...rows.values()].sort((a, b) => b.ms - a.ms),
  };
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/**
 * The profile as a markdown table: every kernel's time, GFLOP/s and GB/s, and those as a
 * percentage of the FMA ceiling and of the bandwidth (the one that bounds the kernel in bold).
 */
export function profileTable(p: StepProfile, ceiling: Ceiling | null, title: string, maxRows = 40): string {
  const lines: string[] = [];
  const fma = ceiling?.fmaGflops;
  const bw = ceiling?.bandwidthGBs;
  const jit = Number.isFinite(p.jitMs);
  lines.push(`${title}: ${p.dispatches} kernels, each timed alone (mean of ${p.repeats}); ${fmt(p.kernelMs, 0)} ms of kernels in a ${fmt(p.stepMs, 0)} ms step` +
    (jit ? `; the driver took ${fmt(p.jitMs / 1000, 1)} s to compile them at their first dispatch ("compile ms")` : ''));
  lines.push('');
  lines.push('| kernel | kind | n | ms | share | GFLOP | GFLOP/s | % FMA ceiling | GB/s | % bandwidth | compile ms |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const bold = (s: string, on: boolean) => (on && s !== '–' ? `**${s}**` : s);
  const shown = p.rows.slice(0, maxRows);
  for (const r of shown) {
    const gf = r.flops / r.ms / 1e6;
    const gb = r.bytes / r.ms / 1e6;
    const compute = r.kind === 'conv' || r.kind === 'matmul';
    lines.push(`| ${r.label.replace(/\|/g, '\\|')} | ${r.kind} | ${r.count} | ${fmt(r.ms)} | ${pct(r.ms, p.kernelMs)} | ${fmt(r.flops / 1e9, 3)} | ` +
      `${fmt(gf, 2)} | ${bold(pct(gf, fma), compute)} | ${fmt(gb, 2)} | ${bold(pct(gb, bw), !compute)} | ${fmt(r.jitMs, 0)} |`);
  }
  if (p.rows.length > shown.length) {
    const rest = p.rows.slice(maxRows);
    const ms = rest.reduce((a, r) => a + r.ms, 0);
    lines.push(`| (${rest.length} more) | | ${rest.reduce((a, r) => a + r.count, 0)} | ${fmt(ms)} | ${pct(ms, p.kernelMs)} | | | | | | ${fmt(rest.reduce((a, r) => a + r.jitMs, 0), 0)} |`);
  }
  const byKind = new Map<KernelKind, { ms: number; jitMs: number; flops: number; bytes: number }>();
  for (const r of p.rows) {
    const k = byKind.get(r.kind) ?? { ms: 0, jitMs: 0, flops: 0, bytes: 0 };
    k.ms += r.ms; k.jitMs += r.jitMs; k.flops += r.flops; k.bytes += r.bytes;
    byKind.set(r.kind, k);
  }
  for (const [kind, k] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
    const gf = k.flops / k.ms / 1e6;
    const gb = k.bytes / k.ms / 1e6;
    lines.push(`| **all ${kind}** | | | ${fmt(k.ms)} | ${pct(k.ms, p.kernelMs)} | ${fmt(k.flops / 1e9, 3)} | ${fmt(gf, 2)} | ${pct(gf, fma)} | ${fmt(gb, 2)} | ${pct(gb, bw)} | ${fmt(k.jitMs, 0)} |`);
  }
  const kgf = p.flops / p.kernelMs / 1e6;
  const sgf = p.flops / p.stepMs / 1e6;
  lines.push(`| **kernels (sum)** | | ${p.dispatches} | ${fmt(p.kernelMs)} | 100% | ${fmt(p.flops / 1e9, 3)} | ${fmt(kgf, 2)} | ${pct(kgf, fma)} | ${fmt(p.bytes / p.kernelMs / 1e6, 2)} | ${pct(p.bytes / p.kernelMs / 1e6, bw)} | ${fmt(p.jitMs, 0)} |`);
  lines.push(`| **whole step** | | | ${fmt(p.stepMs)} | | ${fmt(p.flops / 1e9, 3)} | ${fmt(sgf, 2)} | ${pct(sgf, fma)} | | | |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { RESULT_PREFIX, ensureRuntimeDir, parseArgs, throttleDawnPolling } = await import('./harness.js');
  throttleDawnPolling();
  const { webgluonSiameseTrain } = await import('./cases/_webgluon.js');
  const args = parseArgs(process.argv.slice(2));
  ensureRuntimeDir();
  let out: Record<string, unknown>;
  try {
    const mode = args.system === 'webgluon-eager' ? 'eager' : 'hybrid';
    const r = await webgluonSiameseTrain(mode, args.variant === 'batched');
    if ('skipped' in r) {
      out = { system: args.system, variant: args.variant, skipped: r.skipped };
    } else {
      await r.step(); // compile
      await r.step(); // steady
      const p = await profileStep(() => r.step(), args.repeat, process.env.MESA_SHADER_CACHE_DISABLE === 'true');
      out = { system: args.system, variant: args.variant, adapter: r.adapter, ...p };
    }
  } catch (e) {
    out = { system: args.system, variant: args.variant, error: (e as Error).stack?.split('\n').slice(0, 6).join('\n') ?? String(e) };
  }
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(out)}\n`, () => process.exit(0));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
