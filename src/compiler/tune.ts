// The kernel tuner: picks each templated kernel's tuning (tile sizes, workgroup size, strategy)
// per adapter and shape signature by a short timed search, checked against the CPU reference.
//
// When it runs, and why it is on by default. Only compiled (hybridized) plans are tuned: their
// kernels are shape-specialised and run every step, so a search pays for itself; eager kernels
// serve many shapes and would never stop being searched. A new plan runs its first call with the
// hand-tuned defaults; its kernels are queued, and the next awaited flush() or readback (the
// step's `loss.item()`) searches them once its own work is done (runtime `whenIdle`), when the
// queue is idle, so the search never shares the GPU with a step and never delays a dispatch.
// Later calls use the winner. A candidate wins only if it beats the defaults by `margin` (5%)
// on the same inputs, so steady state is never slower than without the tuner; kernels whose
// defaults run under `minKernelMs` are not searched at all (nothing to gain, and the test
// suite's small shapes cost one short timing each). Each signature's search stops starting
// candidates once `budgetMs` (2 s; WEBGLUON_TUNE_BUDGET_MS) would be passed. Results are kept per
// adapter (vendor, architecture, device, description, driver) and signature in a TuningStore:
// in memory by default (browsers), in a JSON file under the cache folder in Node (src/node.ts).
// WEBGLUON_TUNE=0 turns all of it off.
import { envVar } from '../base/env.js';
import { sizeOf } from '../base/types.js';
import { evaluateGroup } from '../cpu/reference.js';
import type { FusionGroup } from '../graph/fuse.js';
import type { Node } from '../graph/ir.js';
import type { HostValue } from '../graph/registry.js';
import { launchableKernel, type GroupKernel } from '../ndarray/launch.js';
import { backendIfReady, type Backend } from '../runtime/device.js';
import { enqueue, readStorage, timeDispatches, whenIdle, type Dispatch } from '../runtime/executor.js';
import { counters } from '../runtime/stats.js';
import { Storage, type HostArray } from '../runtime/storage.js';
import type { Plan, PlanKernel } from './plan_executor.js';
import { describeTarget, tuneTarget, type TuneTarget, type Tuning } from './tune_candidates.js';

export type { Tuning } from './tune_candidates.js';

export interface TuneSettings {
  enabled: boolean;
  /** Per signature: no candidate is started that would end past this, ms. */
  budgetMs: number;
  /** Kernels whose defaults run faster than this are left alone, ms. */
  minKernelMs: number;
  /** Plan kernels with less work than this (multiply-adds) are not even timed. */
  minWork: number;
  /** A candidate must be this much faster than the defaults to win (0.05: 5%). */
  margin: number;
  /** Timed submits per candidate; the fastest counts. */
  samples: number;
  /** Above this much work the defaults' GPU output stands in for the CPU reference (see checkOutputs). */
  cpuCheckWork: number;
}

const numberVar = (name: string, fallback: number): number => {
  const v = Number(envVar(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

export const tuneSettings: TuneSettings = {
  enabled: envVar('WEBGLUON_TUNE') !== '0',
  budgetMs: numberVar('WEBGLUON_TUNE_BUDGET_MS', 2000),
  minKernelMs: 0.5,
  minWork: 2e6,
  margin: 0.05,
  samples: 2,
  cpuCheckWork: 4e8,
};

/** One signature's outcome, as stored. `tuning` is {} when the defaults stayed. */
export interface TuningRecord {
  tuning: Tuning;
  ms: number;
  defaultMs: number;
  tried: number;
}

/** Where results live between runs: keyed by adapter, then by signature. */
export interface TuningStore {
  get(adapter: string, signature: string): TuningRecord | undefined;
  set(adapter: string, signature: string, record: TuningRecord): void;
}

export function memoryTuningStore(): TuningStore {
  const m = new Map<string, TuningRecord>();
  return {
    get: (a, s) => m.get(`${a}\n${s}`),
    set: (a, s, r) => void m.set(`${a}\n${s}`, r),
  };
}

let store: TuningStore = memoryTuningStore();
/** The Node entry installs a file-backed store (src/node_tune_cache.ts). */
export function setTuningStore(s: TuningStore): void {
  store = s;
}

export interface TuneStats {
  /** Signatures searched, and found already decided in the store. */
  searched: number;
  cached: number;
  /** Searches that ended with a candidate other than the defaults. */
  improved: number;
  /** Signatures whose defaults ran under minKernelMs. */
  skipped: number;
  candidates: number;
  rejected: number;
  /** Rejected candidates: `signature {tuning}: why` (debugging). */
  rejections: string[];
  /** Wall time spent searching, ms. */
  ms: number;
}

const zeroStats = (): TuneStats => ({ searched: 0, cached: 0, improved: 0, skipped: 0, candidates: 0, rejected: 0, rejections: [], ms: 0 });
let stats = zeroStats();
export function tuningStats(): TuneStats {
  return { ...stats, rejections: [...stats.rejections] };
}
export function resetTuningStats(): void {
  stats = zeroStats();
}

type GpuBackend = Backend & { kind: 'gpu' };

/** The adapter a result belongs to: another GPU or driver version must search again. */
export function adapterKey(b: GpuBackend): string {
  const info = (b.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return b.adapterName;
  const driver = (info as { driver?: string }).driver ?? '';
  return [info.vendor, info.architecture, info.device, info.description, driver].join('|');
}

/** 53-bit string hash (cyrb53): signatures name the exact kernel without storing its WGSL. */
function hash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** Op, shapes, subgroup size, and a hash of the defaults' kernel (epilogue and attributes included). */
export function signatureOf(target: TuneTarget, base: GroupKernel, subgroupSize: number): string {
  const meta = base.meta ? [...base.meta].join(',') : '';
  return `${describeTarget(target)} sg${subgroupSize} #${hash(`${base.wgsl}|${base.workgroups.join(',')}|${meta}`)}`;
}

export interface SearchOptions {
  /** Settings to try instead of the target's own list (the defaults are always tried first). */
  candidates?: readonly Tuning[];
  /** How a setting becomes a kernel (tests put a broken one in). */
  emit?: (tuning: Tuning) => GroupKernel;
  budgetMs?: number;
  minKernelMs?: number;
  label?: string;
}

export interface SearchResult {
  signature: string;
  record: TuningRecord;
  /** The winner's kernel, when it is not the defaults'. */
  kernel: GroupKernel | null;
  /** From the store: nothing was run. */
  cached: boolean;
  /** Wall time of this search, ms. */
  ms: number;
}

/** A run this long is timed once: its readback is noise beside it, and two would cost the budget. */
const SLOW_MS = 100;
const sameNodes = (a: readonly Node[], b: readonly Node[]) => a.length === b.length && a.every((n, i) => n === b[i]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deterministic inputs in [-1, 1): the search must not move nd.random's stream. */
function randomInputs(reads: readonly Node[]): Float32Array[] {
  let seed = 12345;
  return reads.map((n) => {
    const data = new Float32Array(sizeOf(n.shape));
    for (let i = 0; i < data.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      data[i] = seed / 2 ** 31 - 1;
    }
    return data;
  });
}

/** Why `got` is not `want` (null when it matches to float32 accumulation-order error). */
function mismatch(got: HostArray, want: ArrayLike<number>): string | null {
  if (got.length !== want.length) return `${got.length} values, expected ${want.length}`;
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= 2e-4 * scale + 1e-4 * Math.abs(want[i]) + 1e-6)) return `element ${i}: ${got[i]} vs ${want[i]}`;
  }
  return null;
}

/**
 * Searches `group`'s tunings on the current GPU: times the defaults, then each candidate that
 * emits different WGSL, after checking its output on random inputs. The check's reference is
 * the CPU evaluator (cpu/reference.ts) where its work fits `cpuCheckWork`; above that (a 64→64
 * 5×5 convolution over 16 images is ~3.5 G multiply-adds, seconds of JavaScript) the defaults'
 * GPU output stands in, itself the kernel the template tests check against the CPU.
 */
export async function searchTuning(group: FusionGroup, opts: SearchOptions = {}): Promise<SearchResult | null> {
  const b = backendIfReady();
  const target = tuneTarget(group);
  if (b?.kind !== 'gpu' || !target) return null;
  const t0 = performance.now();
  const label = opts.label ?? `tune ${target.node.op}`;
  const emit = opts.emit ?? ((tuning: Tuning) => launchableKernel(group, { mode: 'const', label, tuning, subgroupSize: b.subgroupSize }));
  const base = emit({});
  const signature = signatureOf(target, base, b.subgroupSize);
  const adapter = adapterKey(b);
  const known = store.get(adapter, signature);
  if (known) {
    stats.cached++;
    const kernel = Object.keys(known.tuning).length ? emit(known.tuning) : null;
    return { signature, record: known, kernel: kernel && sameNodes(kernel.spec.reads, base.spec.reads) ? kernel : null, cached: true, ms: 0 };
  }
  const budget = opts.budgetMs ?? tuneSettings.budgetMs;
  const seen = new Set([base.wgsl]);
  const candidates = (opts.candidates ?? target.candidates).filter((t) => Object.keys(t).length).flatMap((tuning) => {
    try {
      const kernel = emit(tuning);
      if (seen.has(kernel.wgsl) || !sameNodes(kernel.spec.reads, base.spec.reads) || !sameNodes(kernel.spec.writes, base.spec.writes)) return [];
      seen.add(kernel.wgsl);
      return [{ tuning, kernel }];
    } catch (e) {
      reject(signature, tuning, `emit failed: ${(e as Error).message}`);
      return [];
    }
  });
  if (!candidates.length) return null;

  const saved = { ...counters };
  const data = randomInputs(base.spec.reads);
  // The executor drops an uploaded array's host copy: the CPU reference reads `data` instead.
  const inputs = data.map((d) => new Storage(d.length, 'float32', d.slice()));
  const scratch: Storage[] = [...inputs];
  const dispatchOf = (kernel: GroupKernel): Dispatch => {
    const writes = kernel.spec.writes.map((n) => new Storage(sizeOf(n.shape), n.dtype));
    scratch.push(...writes);
    return { kernel, reads: inputs, writes };
  };
  /** Compiles `d`'s shader (lavapipe compiles at the first dispatch) on one workgroup: no full run. */
  const warm = (d: Dispatch) => timeDispatches([{ ...d, kernel: { ...d.kernel, workgroups: [1, 1, 1] } }], 1);
  /** Runs `d` once and reads its outputs back, with the wall time of both, ms. */
  const run = async (d: Dispatch): Promise<{ out: HostArray[]; ms: number }> => {
    const started = performance.now();
    enqueue(d);
    const out = await Promise.all(d.writes.map((w) => readStorage(w)));
    return { out, ms: performance.now() - started };
  };
  /**
   * ms per run: the least of `samples` submits (interference only ever adds time), each of
   * enough runs to last ~20 ms. A checked run long enough for its readback not to matter (`first`)
   * is a sample; a kernel over 100 ms takes that one sample (the budget would allow no candidate).
   */
  const timeOf = async (d: Dispatch, first?: number): Promise<number> => {
    const once = first !== undefined && first >= SLOW_MS ? first : await timeDispatches([d], 1);
    const repeats = Math.max(1, Math.min(16, Math.round(20 / Math.max(once, 0.05))));
    const runs = repeats === 1 ? [once] : [];
    const samples = once >= SLOW_MS ? 1 : tuneSettings.samples;
    while (runs.length < samples) runs.push((await timeDispatches([d], repeats)) / repeats);
    return Math.min(...runs);
  };
  try {
    // The defaults' output is only needed where it stands in for the CPU reference.
    const baseDispatch = dispatchOf(base);
    const cpuChecks = target.work <= tuneSettings.cpuCheckWork;
    await warm(baseDispatch);
    const baseRun = cpuChecks ? null : await run(baseDispatch);
    const defaultMs = await timeOf(baseDispatch, baseRun?.ms);
    if (defaultMs < (opts.minKernelMs ?? tuneSettings.minKernelMs)) {
      stats.skipped++;
      return null;
    }
    let reference: ArrayLike<number>[] | null = null;
    const referenceOf = (): ArrayLike<number>[] => {
      if (baseRun) return baseRun.out;
      const host = new Map<Node, HostValue>(base.spec.reads.map((n, i) => [n, { data: data[i], shape: n.shape, dtype: n.dtype }]));
      const values = evaluateGroup(group, host);
      return base.spec.writes.map((n) => values.get(n)!.data);
    };
    let best = { tuning: {} as Tuning, ms: defaultMs, kernel: null as GroupKernel | null };
    let tried = 0;
    let costliest = 0;
    for (const c of candidates) {
      const started = performance.now();
      // A candidate costs a compile, a checked run and its timed runs; the first is guessed from the defaults.
      const guess = costliest || 300 + (defaultMs >= SLOW_MS ? 1 : tuneSettings.samples + 1) * Math.max(defaultMs, 20);
      if (started - t0 + guess > budget) break;
      tried++;
      stats.candidates++;
      try {
        const d = dispatchOf(c.kernel);
        await warm(d);
        const { out, ms: checkMs } = await run(d);
        reference ??= referenceOf();
        const wrong = out.map((o, i) => mismatch(o, reference![i])).find((m) => m !== null);
        if (wrong) {
          reject(signature, c.tuning, `wrong result (${wrong})`);
        } else {
          const ms = await timeOf(d, checkMs);
          if (ms < best.ms) best = { tuning: c.tuning, ms, kernel: c.kernel };
        }
      } catch (e) {
        reject(signature, c.tuning, (e as Error).message.split('\n')[0]);
      }
      costliest = Math.max(costliest, performance.now() - started);
    }
    const wins = best.kernel !== null && best.ms < defaultMs * (1 - tuneSettings.margin);
    const record: TuningRecord = wins ? { tuning: best.tuning, ms: best.ms, defaultMs, tried } : { tuning: {}, ms: defaultMs, defaultMs, tried };
    store.set(adapter, signature, record);
    stats.searched++;
    if (wins) stats.improved++;
    const ms = performance.now() - t0;
    return { signature, record, kernel: wins ? best.kernel : null, cached: false, ms };
  } finally {
    scratch.forEach((s) => s.release());
    // The search is not the program's work: stats() keeps counting only that (tuningStats() has
    // ours). Its scratch buffers are back in the pool by now; live and pooled bytes are states.
    const { liveBytes, liveBuffers, pooledBytes } = counters;
    Object.assign(counters, saved, { liveBytes, liveBuffers, pooledBytes });
    stats.ms += performance.now() - t0;
  }
}

function reject(signature: string, tuning: Tuning, why: string): void {
  stats.rejected++;
  if (stats.rejections.length < 100) stats.rejections.push(`${signature} ${JSON.stringify(tuning)}: ${why}`);
}

interface Pending {
  plan: Plan;
  kernel: PlanKernel;
}
const pending: Pending[] = [];
const MAX_PENDING = 256;

async function drain(): Promise<void> {
  while (pending.length) {
    const { plan, kernel: pk } = pending.shift()!;
    if (plan.state.retired) continue;
    try {
      const result = await searchTuning(pk.kernel.group, { label: pk.kernel.label });
      if (result?.kernel) pk.kernel = result.kernel;
    } catch (e) {
      // A failed search leaves the defaults; it must never fail the step that awaited it.
      stats.rejections.push(`search of ${pk.kernel.label} failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

/**
 * Queues `plan`'s templated kernels for tuning at the next idle point (see the module comment);
 * where the store already knows a kernel's answer it is applied now, so even the first call uses
 * it. Returns the plan.
 */
export function tuneLater(plan: Plan): Plan {
  if (!tuneSettings.enabled) return plan;
  const b = backendIfReady();
  let queued = false;
  for (const pk of plan.kernels) {
    const target = tuneTarget(pk.kernel.group);
    if (!target || target.work < tuneSettings.minWork) continue;
    if (b?.kind === 'gpu' && applyKnown(pk, target, b)) continue;
    pending.push({ plan, kernel: pk });
    queued = true;
  }
  // A program that never awaits a readback never drains the queue: keep the newest plans only.
  if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING);
  if (queued && pending.length) whenIdle(drain);
  return plan;
}

/** Applies a stored result without running anything; false when the store has none. */
function applyKnown(pk: PlanKernel, target: TuneTarget, b: GpuBackend): boolean {
  const base = pk.kernel.subgroupSize === undefined || pk.kernel.subgroupSize === b.subgroupSize ? pk.kernel
    : launchableKernel(pk.kernel.group, { mode: 'const', label: pk.kernel.label, subgroupSize: b.subgroupSize });
  const known = store.get(adapterKey(b), signatureOf(target, base, b.subgroupSize));
  if (!known) return false;
  stats.cached++;
  if (Object.keys(known.tuning).length) {
    const kernel = launchableKernel(pk.kernel.group, { mode: 'const', label: pk.kernel.label, tuning: known.tuning, subgroupSize: b.subgroupSize });
    if (sameNodes(kernel.spec.reads, base.spec.reads)) pk.kernel = kernel;
  }
  return true;
}
