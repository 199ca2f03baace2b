// Shared bench plumbing: the child-process protocol, the timing loop, Dawn-level counters, and
// the seeded weights and data that every system (webgluon eager/hybrid, tfjs-webgpu, tfjs-cpu)
// copies in, so that all systems compute the same numbers on the same batch.
//
// A case file (bench/cases/<case>.ts) calls `runCase(name, { system: factory, ... })`; bench/run.ts
// starts it as `node --import tsx bench/cases/<case>.ts --system <sys> --repeat N [--variant V]`
// and reads the one line that starts with RESULT_PREFIX from its stdout.
import { mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { globals } from 'webgpu';

export const RESULT_PREFIX = 'BENCH_RESULT ';
/**
 * Printed before a first step that has a time limit: a synchronous CPU step cannot be
 * interrupted from inside, so the parent kills the child when the limit passes.
 */
export const DEADLINE_PREFIX = 'BENCH_DEADLINE ';

// ---------------------------------------------------------------------------------------------
// Environment

/** Mesa's lavapipe needs a private XDG_RUNTIME_DIR; Dawn crashes in event processing without. */
export function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `webgluon-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

/**
 * dawn.node waits for the GPU by polling in a setImmediate loop: while a promise of Dawn's is
 * pending (a readback, onSubmittedWorkDone, an async pipeline), the Node thread spins at 100% of a
 * core, which on a 2-core machine takes a third of the CPU from lavapipe's worker threads. With
 * WEBGLUON_BENCH_DAWN_POLL_MS=N (bench/run.ts --dawn-poll-ms N) the harness makes the global
 * setImmediate, which dawn.node looks up, a setTimeout of N ms, for every system of the child
 * alike: the bench can then say what the spin costs. Off by default (users' processes spin).
 */
export function throttleDawnPolling(): number | undefined {
  const ms = Number(process.env.WEBGLUON_BENCH_DAWN_POLL_MS ?? '');
  if (!(ms > 0)) return undefined;
  const g = globalThis as unknown as { setImmediate: (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown };
  g.setImmediate = (fn, ...args) => setTimeout(fn, ms, ...args);
  return ms;
}

export interface CaseArgs {
  system: string;
  repeat: number;
  /** Untimed steps after the first (compile) step and before the timed ones. */
  warmup: number;
  variant: string;
}

export function parseArgs(argv: readonly string[]): CaseArgs {
  const a: CaseArgs = { system: 'tfjs-webgpu', repeat: 3, warmup: 0, variant: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--system') { a.system = v; i++; }
    else if (k === '--repeat') { a.repeat = Math.max(1, Number(v) | 0); i++; }
    else if (k === '--warmup') { a.warmup = Math.max(0, Number(v) | 0); i++; }
    else if (k === '--variant') { a.variant = v; i++; }
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Dawn-level counters: every system's GPU work goes through these prototypes (webgluon's device
// and tfjs's device both come from `webgpu`'s classes), so one counter serves both and
// cross-checks webgluon's own runtime.stats().

export interface DawnCounts {
  dispatches: number;
  submits: number;
  /** Command buffers submitted (a submit may carry several). */
  commandBuffers: number;
  /** Bytes in GPU buffers created and not yet destroyed (pools included). */
  bufferBytes: number;
  peakBufferBytes: number;
  buffersCreated: number;
}

export const dawn: DawnCounts = {
  dispatches: 0, submits: 0, commandBuffers: 0, bufferBytes: 0, peakBufferBytes: 0, buffersCreated: 0,
};

let countersInstalled = false;
/** Wraps dispatch, submit, createBuffer and destroy on the `webgpu` classes, once per process. */
export function installDawnCounters(): void {
  if (countersInstalled) return;
  countersInstalled = true;
  Object.assign(globalThis, globals);
  const g = globals as unknown as Record<string, { prototype: Record<string, unknown> }>;
  const wrap = (cls: string, method: string, before: (self: unknown, args: unknown[]) => void,
    after?: (self: unknown, args: unknown[], ret: unknown) => void) => {
    const proto = g[cls]?.prototype;
    const orig = proto?.[method] as ((...args: unknown[]) => unknown) | undefined;
    if (!proto || typeof orig !== 'function') return;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      before(this, args);
      const ret = orig.apply(this, args);
      after?.(this, args, ret);
      return ret;
    };
  };
  wrap('GPUComputePassEncoder', 'dispatchWorkgroups', () => { dawn.dispatches++; });
  wrap('GPUComputePassEncoder', 'dispatchWorkgroupsIndirect', () => { dawn.dispatches++; });
  wrap('GPUQueue', 'submit', (_s, args) => {
    dawn.submits++;
    dawn.commandBuffers += Array.isArray(args[0]) ? args[0].length : 0;
  });
  const sizes = new WeakMap<object, number>();
  wrap('GPUDevice', 'createBuffer', () => undefined, (_s, args, buf) => {
    const size = Number((args[0] as { size?: number })?.size ?? 0);
    if (buf && typeof buf === 'object') sizes.set(buf, size);
    dawn.buffersCreated++;
    dawn.bufferBytes += size;
    if (dawn.bufferBytes > dawn.peakBufferBytes) dawn.peakBufferBytes = dawn.bufferBytes;
  });
  wrap('GPUBuffer', 'destroy', (self) => {
    const size = self && typeof self === 'object' ? sizes.get(self) : undefined;
    if (size !== undefined) {
      dawn.bufferBytes -= size;
      sizes.delete(self as object);
    }
  });
}

export function resetDawnCounters(): void {
  dawn.dispatches = 0;
  dawn.submits = 0;
  dawn.commandBuffers = 0;
  dawn.buffersCreated = 0;
  dawn.peakBufferBytes = dawn.bufferBytes;
}

// ---------------------------------------------------------------------------------------------
// The case protocol

/** Counters a system reports itself (webgluon: runtime.stats(); tfjs: its buffer manager). */
export interface SystemStats {
  dispatches?: number;
  submits?: number;
  pipelines?: number;
  peakBytes?: number;
  liveBytes?: number;
  [k: string]: number | undefined;
}

export interface Runner {
  /** Adapter (or CPU) the system runs on, as the adapter names itself. */
  adapter: string;
  /** One step; resolves once its result is on the host (or the GPU is idle). Returns a scalar to check. */
  step(): Promise<number | undefined | void>;
  /** Called before each step (e.g. runtime.resetStats()). */
  resetStats?(): void;
  /** Read after each step. */
  stats?(): SystemStats;
  /** Values computed outside the timed steps to compare systems (loss sums, gradient norms). */
  check?(): Promise<Record<string, number | number[]>>;
  /** After the first step: a reason to report the system skipped (e.g. hybridize() ran eagerly). */
  afterFirstStep?(): string | undefined;
  /** When the first step takes longer than this, the case reports itself skipped after it. */
  maxStepMs?: number;
  /** Work per step, for the throughput column (e.g. 16 pairs). */
  items?: { count: number; unit: string };
  notes?: string[];
  /**
   * The last step's time as the system measured it itself (a child process's own clock, without
   * the pipe to it); the harness's own timing is used when absent.
   */
  lastStepMs?(): number | undefined;
  /** The same for CPU time (a child process's own, all its threads). */
  lastStepCpuMs?(): number | undefined;
  /** Read right after the first step: what the system spent it on (e.g. pipeline creation ms). */
  firstStepDetail?(): Record<string, number> | undefined;
  /** Called once the case is done (a child process to end). */
  close?(): Promise<void> | void;
}

export type Skipped = { skipped: string };
export type SystemFactory = (args: CaseArgs) => Promise<Runner | Skipped>;

export interface StepRecord {
  ms: number;
  /**
   * CPU time of the process during the step (user + system, every thread: on lavapipe the
   * driver's JIT and kernels too), ms. Less sensitive than `ms` to other load on the machine.
   */
  cpuMs?: number;
  dawn: { dispatches: number; submits: number; commandBuffers: number; peakBufferBytes: number; buffersCreated: number };
  stats?: SystemStats;
  value?: number;
}

export interface CaseResult {
  case: string;
  variant: string;
  system: string;
  adapter?: string;
  skipped?: string;
  error?: string;
  repeat: number;
  warmup: number;
  first?: StepRecord;
  steps?: StepRecord[];
  summary?: {
    medianMs: number; minMs: number; maxMs: number; meanMs: number;
    dispatches: number; submits: number; sysDispatches?: number; sysSubmits?: number;
    peakBytes?: number; dawnPeakBufferBytes: number;
    /** The first step, in a fresh process (with an empty shader cache unless the run kept it). */
    coldMs?: number;
    /** The median timed step. */
    steadyMs?: number;
    /** coldMs / steadyMs. */
    coldRatio?: number;
    /** Median CPU time of the timed steps, and of the first step (see StepRecord.cpuMs). */
    medianCpuMs?: number;
    coldCpuMs?: number;
  };
  /** Work of one step counted from the shapes (bench/harness.ts caseWork). */
  work?: CaseWork;
  /** The step as a fraction of the adapter's ceilings (filled in by bench/run.ts). */
  ofCeiling?: { fmaPct?: number; bandwidthPct?: number; gflops?: number; gbs?: number };
  /** How the child's shader cache was set up (bench/run.ts --shader-cache). */
  shaderCache?: string;
  /** What the system reports of its first step (webgluon: pipeline creation). */
  firstStepDetail?: Record<string, number>;
  /** The cold-start case: the first step on an empty shader cache, on a warm one, and steady. */
  coldStart?: {
    coldMs: number; warmCacheMs?: number; steadyMs: number; warmCacheDetail?: Record<string, number>;
    /** The same three in CPU time of the process (StepRecord.cpuMs). */
    coldCpuMs?: number; warmCacheCpuMs?: number; steadyCpuMs?: number;
  };
  items?: { count: number; unit: string };
  check?: Record<string, number | number[]>;
  notes?: string[];
  node: string;
  cpus: string;
  wallMs: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return (e.stack ?? `${e.name}: ${e.message}`).split('\n').slice(0, 8).join('\n');
  return String(e);
}

async function timedStep(r: Runner): Promise<StepRecord> {
  r.resetStats?.();
  resetDawnCounters();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const v = await r.step();
  const ms = r.lastStepMs?.() ?? performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = r.lastStepCpuMs ? r.lastStepCpuMs() : (c.user + c.system) / 1000;
  const rec: StepRecord = {
    ms,
    ...(cpuMs !== undefined ? { cpuMs } : {}),
    dawn: {
      dispatches: dawn.dispatches, submits: dawn.submits, commandBuffers: dawn.commandBuffers,
      peakBufferBytes: dawn.peakBufferBytes, buffersCreated: dawn.buffersCreated,
    },
  };
  const st = r.stats?.();
  if (st) rec.stats = st;
  if (typeof v === 'number') rec.value = v;
  return rec;
}

/**
 * Runs one (case, system, variant) in this process and prints its result as one JSON line. The
 * first step is timed on its own (it includes shader compilation and allocation), then
 * `warmup` untimed steps, then `repeat` timed steps.
 */
export async function runCase(caseName: string, factories: Record<string, SystemFactory>): Promise<void> {
  const t0 = performance.now();
  const args = parseArgs(process.argv.slice(2));
  const res: CaseResult = {
    case: caseName, variant: args.variant, system: args.system, repeat: args.repeat, warmup: args.warmup,
    node: process.version, cpus: `${cpus().length}x ${cpus()[0]?.model ?? '?'}`, wallMs: 0,
  };
  try {
    ensureRuntimeDir();
    installDawnCounters();
    const pollMs = throttleDawnPolling();
    const factory = factories[args.system];
    if (!factory) {
      res.skipped = `no ${args.system} implementation for ${caseName}`;
    } else {
      const r = await factory(args);
      if ('skipped' in r) {
        res.skipped = r.skipped;
      } else {
        res.adapter = r.adapter;
        if (r.items) res.items = r.items;
        if (r.notes?.length) res.notes = [...r.notes];
        if (pollMs) (res.notes ??= []).push(`dawn.node's polling throttled to one poll per ${pollMs} ms (WEBGLUON_BENCH_DAWN_POLL_MS)`);
        if (r.maxStepMs !== undefined) {
          await new Promise<void>((done) => process.stdout.write(`\n${DEADLINE_PREFIX}${JSON.stringify({ ms: r.maxStepMs, adapter: r.adapter })}\n`, () => done()));
        }
        res.first = await timedStep(r);
        const detail = r.firstStepDetail?.();
        if (detail) res.firstStepDetail = detail;
        const notReally = r.afterFirstStep?.();
        if (notReally) {
          res.skipped = notReally;
        } else if (r.maxStepMs !== undefined && res.first.ms > r.maxStepMs) {
          res.skipped = `one step took ${(res.first.ms / 1000).toFixed(1)} s (> ${(r.maxStepMs / 1000).toFixed(0)} s); timed repeats skipped`;
        } else {
          for (let i = 0; i < args.warmup; i++) await r.step();
          res.steps = [];
          for (let i = 0; i < args.repeat; i++) res.steps.push(await timedStep(r));
          const ms = res.steps.map((s) => s.ms);
          const st = res.steps.map((s) => s.stats).filter((s): s is SystemStats => !!s);
          const pick = (k: string) => {
            const xs = st.map((s) => s[k]).filter((x): x is number => typeof x === 'number');
            return xs.length ? median(xs) : undefined;
          };
          res.summary = {
            medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms),
            meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
            dispatches: median(res.steps.map((s) => s.dawn.dispatches)),
            submits: median(res.steps.map((s) => s.dawn.submits)),
            dawnPeakBufferBytes: Math.max(...res.steps.map((s) => s.dawn.peakBufferBytes)),
          };
          const sd = pick('dispatches'); if (sd !== undefined) res.summary.sysDispatches = sd;
          const ss = pick('submits'); if (ss !== undefined) res.summary.sysSubmits = ss;
          const peaks = st.map((s) => s.peakBytes).filter((x): x is number => typeof x === 'number');
          if (peaks.length) res.summary.peakBytes = Math.max(...peaks);
          res.summary.coldMs = res.first.ms;
          res.summary.steadyMs = res.summary.medianMs;
          res.summary.coldRatio = res.first.ms / res.summary.medianMs;
          const cpu = res.steps.map((x) => x.cpuMs).filter((x): x is number => typeof x === 'number');
          if (cpu.length) res.summary.medianCpuMs = median(cpu);
          if (res.first.cpuMs !== undefined) res.summary.coldCpuMs = res.first.cpuMs;
        }
        if (r.check && !res.skipped) res.check = await r.check();
        if (r.notes?.length) res.notes = [...(res.notes ?? []).filter((n) => !r.notes!.includes(n)), ...r.notes];
        await r.close?.();
      }
    }
  } catch (e) {
    res.error = errorText(e);
  }
  res.wallMs = performance.now() - t0;
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(res)}\n`, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Seeded data and weights (identical in every system)

/** mulberry32 (the library's seeded stream): the same numbers on every machine. */
import { seededRandom as prng } from '../src/data/sampler.js';
export { prng };

export function uniformArray(n: number, lo: number, hi: number, rnd: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rnd();
  return a;
}

/** The tutorial's network on 1x105x105 images. */
export const SIAMESE = {
  batch: 16,
  channels: 1,
  size: 105,
  conv1: 64,
  conv2: 64,
  kernel: 5,
  hidden: 256,
  out: 2,
  margin: 6,
  lr: 0.001,
  /** 105 -conv5-> 101 -pool2-> 50 -conv5-> 46 -pool2-> 23 */
  featSize: 23,
  get flat(): number { return this.conv2 * this.featSize * this.featSize; },
};

/** Weights in webgluon's (MXNet's) layouts: conv OIHW, dense (out, in) over an NCHW flatten. */
export interface SiameseWeights {
  conv1W: Float32Array; conv1B: Float32Array;
  conv2W: Float32Array; conv2B: Float32Array;
  dense1W: Float32Array; dense1B: Float32Array;
  dense2W: Float32Array; dense2B: Float32Array;
}

export const SIAMESE_SHAPES: Record<keyof SiameseWeights, number[]> = {
  conv1W: [SIAMESE.conv1, SIAMESE.channels, SIAMESE.kernel, SIAMESE.kernel], conv1B: [SIAMESE.conv1],
  conv2W: [SIAMESE.conv2, SIAMESE.conv1, SIAMESE.kernel, SIAMESE.kernel], conv2B: [SIAMESE.conv2],
  dense1W: [SIAMESE.hidden, SIAMESE.flat], dense1B: [SIAMESE.hidden],
  dense2W: [SIAMESE.out, SIAMESE.hidden], dense2B: [SIAMESE.out],
};

/** Parameter order of the tower: conv1, conv2, dense1, dense2, weight before bias. */
export const SIAMESE_PARAM_ORDER: (keyof SiameseWeights)[] =
  ['conv1W', 'conv1B', 'conv2W', 'conv2B', 'dense1W', 'dense1B', 'dense2W', 'dense2B'];

/**
 * Xavier-uniform weights (MXNet's default Xavier: uniform, factor 'avg', magnitude 3, i.e.
 * U(±sqrt(6 / (fanIn + fanOut)))) and small uniform biases, from one seeded stream.
 */
export function siameseWeights(seed = 20240601): SiameseWeights {
  const rnd = prng(seed);
  const xavier = (shape: number[]) => {
    const rf = shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
    const fanIn = shape[1] * rf;
    const fanOut = shape[0] * rf;
    const a = Math.sqrt(6 / (fanIn + fanOut));
    return uniformArray(shape.reduce((x, y) => x * y, 1), -a, a, rnd);
  };
  const bias = (n: number) => uniformArray(n, -0.01, 0.01, rnd);
  const S = SIAMESE_SHAPES;
  return {
    conv1W: xavier(S.conv1W), conv1B: bias(SIAMESE.conv1),
    conv2W: xavier(S.conv2W), conv2B: bias(SIAMESE.conv2),
    dense1W: xavier(S.dense1W), dense1B: bias(SIAMESE.hidden),
    dense2W: xavier(S.dense2W), dense2B: bias(SIAMESE.out),
  };
}

/** OIHW -> HWIO (tfjs conv2d filters). */
export function oihwToHwio(w: Float32Array, [o, i, h, wd]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < h; y++) for (let x = 0; x < wd; x++) {
    out[((y * wd + x) * i + b) * o + a] = w[((a * i + b) * h + y) * wd + x];
  }
  return out;
}

/** (out, in) -> (in, out). */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/**
 * Dense weight (out, C*H*W) that follows an NCHW flatten -> tfjs kernel (H*W*C, out) that
 * follows an NHWC flatten, so the layer computes the same sums.
 */
export function denseNchwToNhwcKernel(w: Float32Array, out: number, c: number, h: number, wd: number): Float32Array {
  const k = new Float32Array(w.length);
  const inN = c * h * wd;
  for (let o = 0; o < out; o++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < wd; x++) {
    const iNchw = (ch * h + y) * wd + x;
    const iNhwc = (y * wd + x) * c + ch;
    k[iNhwc * out + o] = w[o * inN + iNchw];
  }
  return k;
}

export interface TfjsSiameseWeights {
  conv1W: Float32Array; conv1B: Float32Array; conv2W: Float32Array; conv2B: Float32Array;
  dense1W: Float32Array; dense1B: Float32Array; dense2W: Float32Array; dense2B: Float32Array;
  shapes: Record<keyof SiameseWeights, number[]>;
}

export function toTfjsWeights(w: SiameseWeights): TfjsSiameseWeights {
  const S = SIAMESE_SHAPES;
  const F = SIAMESE.featSize;
  return {
    conv1W: oihwToHwio(w.conv1W, S.conv1W), conv1B: w.conv1B,
    conv2W: oihwToHwio(w.conv2W, S.conv2W), conv2B: w.conv2B,
    dense1W: denseNchwToNhwcKernel(w.dense1W, SIAMESE.hidden, SIAMESE.conv2, F, F), dense1B: w.dense1B,
    dense2W: transpose2d(w.dense2W, SIAMESE.out, SIAMESE.hidden), dense2B: w.dense2B,
    shapes: {
      conv1W: [S.conv1W[2], S.conv1W[3], S.conv1W[1], S.conv1W[0]], conv1B: S.conv1B,
      conv2W: [S.conv2W[2], S.conv2W[3], S.conv2W[1], S.conv2W[0]], conv2B: S.conv2B,
      dense1W: [SIAMESE.flat, SIAMESE.hidden], dense1B: S.dense1B,
      dense2W: [SIAMESE.hidden, SIAMESE.out], dense2B: S.dense2B,
    },
  };
}

/**
 * One batch of image pairs: x1, x2 are (B, 1, 105, 105) in NCHW, which for one channel is the
 * same memory as NHWC (B, 105, 105, 1); label (B,) is 0 for "same", 1 for "different",
 * alternating. Pixels are sparse strokes (about 10% ones), like Omniglot's.
 */
export function siameseBatch(seed = 7, batch = SIAMESE.batch): { x1: Float32Array; x2: Float32Array; label: Float32Array } {
  const rnd = prng(seed);
  const n = batch * SIAMESE.channels * SIAMESE.size * SIAMESE.size;
  const img = () => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rnd() < 0.1 ? 1 : 0;
    return a;
  };
  const x1 = img();
  const x2 = img();
  const label = new Float32Array(batch);
  for (let i = 0; i < batch; i++) label[i] = i % 2;
  return { x1, x2, label };
}

/** Inputs of the loss-only case: a, b (N, D) ~ U(-1, 1), label (N, 1) alternating 0/1. */
export function contrastiveInputs(n: number, d: number, seed = 11): { a: Float32Array; b: Float32Array; label: Float32Array } {
  const rnd = prng(seed);
  const a = uniformArray(n * d, -1, 1, rnd);
  const b = uniformArray(n * d, -1, 1, rnd);
  const label = new Float32Array(n);
  for (let i = 0; i < n; i++) label[i] = i % 2;
  return { a, b, label };
}

export const CONTRASTIVE_VARIANTS: Record<string, { n: number; d: number }> = {
  'n262144xd2': { n: 262_144, d: 2 },
  'n16384xd128': { n: 16_384, d: 128 },
};

// ---------------------------------------------------------------------------------------------
// Work per step, counted from the shapes, the same for every system

export interface CaseWork {
  /** Multiply-add FLOPs of the step's convolutions and matmuls (2 per multiply-add). */
  flops?: number;
  /** Bytes a step must move at least (inputs read once, outputs written once). */
  bytes?: number;
  /** Which ceiling bounds the step: the FMA ceiling or the streaming bandwidth. */
  bound: 'fma' | 'bandwidth';
  what: string;
}

/** 2 · N · Cout · Hout · Wout · Cin · KH · KW. */
export function convFlops(n: number, cin: number, cout: number, hout: number, wout: number, k: number): number {
  return 2 * n * cout * hout * wout * cin * k * k;
}

/** Forward and backward FLOPs of the Siamese tower on `images` images (see caseWork). */
export function siameseFlops(images: number): { forward: number; backward: number } {
  const S = SIAMESE;
  const h1 = S.size - S.kernel + 1; // 101
  const h2 = Math.floor(h1 / 2) - S.kernel + 1; // 46
  const conv1 = convFlops(images, S.channels, S.conv1, h1, h1, S.kernel);
  const conv2 = convFlops(images, S.conv1, S.conv2, h2, h2, S.kernel);
  const dense1 = 2 * images * S.flat * S.hidden;
  const dense2 = 2 * images * S.hidden * S.out;
  return {
    forward: conv1 + conv2 + dense1 + dense2,
    // Gradients of the parameters only: conv1's data gradient is not needed (images need none).
    backward: conv1 + 2 * conv2 + 2 * dense1 + 2 * dense2,
  };
}

/**
 * The work of one step of a case, counted from its shapes (pooling and elementwise operations
 * are not counted as FLOPs: they are a few per element, bound by memory): the training step's
 * forward and parameter gradients of both towers (32 images), the forward's two towers, and for
 * the loss the bytes it must move (a, b and the label read, the loss and both gradients written).
 */
export function caseWork(caseName: string, variant: string): CaseWork | undefined {
  const images = 2 * SIAMESE.batch;
  if (caseName === 'siamese-train') {
    const f = siameseFlops(images);
    return { flops: f.forward + f.backward, bound: 'fma', what: 'conv and dense FLOPs, forward + parameter gradients, 32 images' };
  }
  if (caseName === 'siamese-forward') {
    return { flops: siameseFlops(images).forward, bound: 'fma', what: 'conv and dense FLOPs, forward, 32 images' };
  }
  if (caseName === 'contrastive-loss') {
    const size = CONTRASTIVE_VARIANTS[variant || 'n262144xd2'];
    if (!size) return undefined;
    const { n, d } = size;
    return { bytes: 4 * (2 * n * d + n + n + 2 * n * d), bound: 'bandwidth', what: 'bytes: a, b, label read; loss, ∂a, ∂b written' };
  }
  return undefined;
}

export function sumAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return s;
}
export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
