// `npm run bench -- [case…] [--repeat N] [--systems a,b] [--variant V] [--json out.json]`
//
// Runs every (case, variant, system) in a fresh child process (`node --import tsx
// bench/cases/<case>.ts --system <sys> --repeat N`), which does its first (compile) step, then N
// timed steps, and prints one JSON line. Prints a markdown table and writes
// bench/results/<date>.json and bench/results/latest.json. Ratios are only meaningful between
// rows of one run (same machine, same adapter, same moment).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEADLINE_PREFIX, RESULT_PREFIX, caseWork, type CaseResult } from './harness.js';
import { describeCeiling, pct, type Ceiling } from './ceiling.js';
import { profileTable, type StepProfile } from './profile.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const SYSTEMS = ['webgluon-eager', 'webgluon-hybrid', 'tfjs-webgpu', 'tfjs-cpu', 'pytorch-cpu'] as const;

interface CaseSpec {
  variants: string[];
  repeat: number;
  /** Per-child limit, seconds. */
  timeoutS: number;
  what: string;
  /** The case file the children run (default: the case's own name). */
  script?: string;
  /** Systems when --systems is not given (default: all). */
  systems?: string[];
  /**
   * Cold start: the case runs twice on one fresh shader cache, the first child cold (empty
   * cache), the second with the cache the first one filled (its first step only).
   */
  coldStart?: boolean;
}

export const CASES: Record<string, CaseSpec> = {
  'siamese-train': { variants: ['', 'batched'], repeat: 2, timeoutS: 1800, what: 'Siamese train step, 16 pairs 1x105x105, Adam' },
  'siamese-forward': { variants: [''], repeat: 3, timeoutS: 900, what: 'Siamese inference, 16 pairs, distances read back' },
  'contrastive-loss': { variants: ['n262144xd2', 'n16384xd128'], repeat: 10, timeoutS: 600, what: 'contrastive loss forward+backward' },
  'cold-start': {
    variants: [''], repeat: 2, timeoutS: 1800, what: 'first hybridized training step with an empty shader cache vs a steady step',
    script: 'siamese-train', systems: ['webgluon-hybrid', 'webgluon-eager'], coldStart: true,
  },
  // One child runs both systems in one page of headless Chromium (SwiftShader), so that their ratio is
  // of one run; it prints a result per system. `--variant full` is 16 pairs of 105×105, as the rows
  // above: about 30 minutes on 2 cores, one tfjs step taking about 9 of them.
  'siamese-train-browser': {
    variants: ['small'], repeat: 2, timeoutS: 3600, script: 'bench/browser/run.ts', systems: ['browser'],
    what: 'Siamese train step in headless Chromium, 8 pairs 1x28x28 (small) or 16 of 1x105x105 (full): webgluon hybridized and tfjs-webgpu in one page',
  },
};

interface Options {
  cases: string[];
  /** Undefined: each case's own systems (all of them but for cold-start). */
  systems?: string[];
  repeat?: number;
  warmup: number;
  variant?: string;
  json?: string;
  write: boolean;
  retries: number;
  /** Measure the adapter's FMA ceiling and bandwidth first (bench/ceiling.ts). */
  ceiling: boolean;
  /** Profile every kernel of the Siamese step (bench/profile.ts) after siamese-train. */
  profile: boolean;
  profileRepeat: number;
  /** fresh: every child gets an empty Mesa shader cache; keep: the user's; off: disabled. */
  shaderCache: 'fresh' | 'keep' | 'off';
  /** Throttle dawn.node's busy polling in every child (harness.ts throttleDawnPolling). */
  dawnPollMs?: number;
  /**
   * WEBGLUON_TUNE for the children: '0' or '1'; 'both' runs every webgluon system twice, rows
   * labelled `<system> tune=0` and `<system> tune=1`. Unset: the children inherit the caller's.
   */
  tune?: '0' | '1' | 'both';
}

function usage(): never {
  process.stderr.write(`usage: npm run bench -- [case…] [--repeat N] [--warmup N] [--systems ${SYSTEMS.join(',')}]
                     [--variant V] [--json out.json] [--no-write] [--retries N] [--no-ceiling]
                     [--no-profile] [--profile-repeat N] [--shader-cache fresh|keep|off] [--dawn-poll-ms N]
                     [--tune 0|1|both]
cases: ${Object.keys(CASES).join(", ")}, or 'ops' alone (kernel GFLOP/s: npm run bench -- ops [--only S] [--runs N] [--json out.json])
`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: [], warmup: 0, write: true, retries: 1, ceiling: true, profile: true, profileRepeat: 3, shaderCache: 'fresh' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { const v = argv[++i]; if (v === undefined) usage(); return v; };
    if (a === '--repeat') o.repeat = Math.max(1, Number(next()) | 0);
    else if (a === '--warmup') o.warmup = Math.max(0, Number(next()) | 0);
    else if (a === '--systems' || a === '--system') o.systems = next().split(',').filter(Boolean);
    else if (a === '--variant') o.variant = next();
    else if (a === '--json') o.json = next();
    else if (a === '--no-write') o.write = false;
    else if (a === '--retries') o.retries = Math.max(0, Number(next()) | 0);
    else if (a === '--no-ceiling') o.ceiling = false;
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--dawn-poll-ms') o.dawnPollMs = Math.max(0, Number(next()));
    else if (a === '--profile-repeat') o.profileRepeat = Math.max(1, Number(next()) | 0);
    else if (a === '--tune') {
      const v = next();
      if (v !== '0' && v !== '1' && v !== 'both') usage();
      o.tune = v;
    }
    else if (a === '--shader-cache') {
      const v = next();
      if (v !== 'fresh' && v !== 'keep' && v !== 'off') usage();
      o.shaderCache = v;
    }
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage();
    else o.cases.push(a);
  }
  if (!o.cases.length) o.cases = Object.keys(CASES);
  for (const c of o.cases) if (!CASES[c]) { process.stderr.write(`unknown case ${c}\n`); usage(); }
  if (o.variant !== undefined && !o.cases.some((c) => CASES[c].variants.includes(o.variant!))) {
    process.stderr.write(`unknown variant ${o.variant} for ${o.cases.join(', ')}\n`);
    usage();
  }
  for (const s of o.systems ?? []) if (!(SYSTEMS as readonly string[]).includes(s)) { process.stderr.write(`unknown system ${s}\n`); usage(); }
  return o;
}

interface ChildOutcome {
  result: CaseResult | null; code: number | null; signal: string | null; stderr: string; ms: number;
  /** Set when the child announced a step limit and overran it. */
  overran?: { ms: number; adapter?: string };
  /** The results after the first, from a child that measures several systems. */
  more?: CaseResult[];
}

/**
 * A shader cache for one child: an empty folder (removed by `done`), the user's, or none. Mesa's
 * drivers (lavapipe) read MESA_SHADER_CACHE_*, NVIDIA's __GL_SHADER_DISK_CACHE*.
 */
function shaderCacheEnv(mode: Options['shaderCache'], dir?: string): { env: NodeJS.ProcessEnv; done(): void; dir?: string } {
  if (mode === 'keep') return { env: {}, done() {} };
  if (mode === 'off') return { env: { MESA_SHADER_CACHE_DISABLE: 'true', __GL_SHADER_DISK_CACHE: '0' }, done() {} };
  const own = dir ?? mkdtempSync(join(tmpdir(), 'webgluon-bench-shaders-'));
  return {
    env: { MESA_SHADER_CACHE_DIR: own, MESA_SHADER_CACHE_DISABLE: 'false', __GL_SHADER_DISK_CACHE_PATH: own, __GL_SHADER_DISK_CACHE: '1' },
    dir: own, done: () => rmSync(own, { recursive: true, force: true }),
  };
}

function runChild(script: string, system: string, variant: string, repeat: number, warmup: number, timeoutS: number,
  env: NodeJS.ProcessEnv = {}, extraArgs: string[] = []): Promise<ChildOutcome> {
  const file = script.endsWith('.ts') ? script : join('bench', 'cases', `${script}.ts`);
  const args = ['--import', 'tsx', file, '--system', system, '--repeat', String(repeat), '--warmup', String(warmup), ...extraArgs];
  if (variant) args.push('--variant', variant);
  const t0 = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    let deadline: NodeJS.Timeout | null = null;
    let overran: ChildOutcome['overran'];
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!deadline) {
        const line = out.split('\n').find((l) => l.startsWith(DEADLINE_PREFIX));
        if (line) {
          const { ms, adapter } = JSON.parse(line.slice(DEADLINE_PREFIX.length)) as { ms: number; adapter?: string };
          deadline = setTimeout(() => { overran = { ms, adapter }; child.kill('SIGKILL'); }, ms + 2000);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (err.length > 200_000) err = err.slice(-100_000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (deadline) clearTimeout(deadline);
      // A child that measures several systems at once (siamese-train-browser) prints a line for each.
      const parsed = out.split('\n').filter((l) => l.startsWith(RESULT_PREFIX)).flatMap((line) => {
        try { return [JSON.parse(line.slice(RESULT_PREFIX.length)) as CaseResult]; } catch { return []; }
      });
      done({ result: parsed[0] ?? null, more: parsed.slice(1), code, signal, stderr: err, ms: Date.now() - t0, overran });
    });
  });
}

/** Dawn's noise on lavapipe, not ours. */
function cleanStderr(s: string): string {
  return s.split('\n').filter((l) => l.trim() && !/^Warning: max\w+ artificially reduced/.test(l)).slice(-12).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Formatting

const fmtMs = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
};
const fmtBytes = (b: number | undefined): string => (b === undefined || !b ? '–' : `${(b / 2 ** 20).toFixed(1)} MiB`);
const fmtRate = (r: CaseResult): string => {
  if (!r.summary || !r.items) return '–';
  const perS = r.items.count / (r.summary.medianMs / 1000);
  const v = perS >= 1e6 ? `${(perS / 1e6).toFixed(2)} M` : perS >= 1e3 ? `${(perS / 1e3).toFixed(1)} k` : perS >= 10 ? perS.toFixed(1) : perS.toFixed(2);
  return `${v} ${r.items.unit}/s`;
};
const sig = (x: number) => (Math.abs(x) >= 1e4 ? x.toExponential(5) : x.toPrecision(6));

function checkText(r: CaseResult): string {
  if (r.case === 'siamese-train' || r.case === 'siamese-train-browser') {
    const vals = [r.first?.value, ...(r.steps ?? []).map((s) => s.value)].filter((v): v is number => typeof v === 'number');
    return vals.length ? `loss ${vals.map(sig).join(' → ')}` : '–';
  }
  if (r.check && 'distances' in r.check) {
    const d = r.check.distances as number[];
    return d.length ? `d[0..2] ${d.slice(0, 3).map(sig).join(', ')}` : '–';
  }
  if (r.check && 'lossSum' in r.check) return `Σloss ${sig(r.check.lossSum as number)}, Σ|∂a| ${sig(r.check.gradAbsSumA as number)}`;
  return '–';
}

/** The numbers that must agree across systems (same weights, same batch, same math). */
function checkVector(r: CaseResult): number[] | null {
  if (r.case === 'siamese-train' || r.case === 'siamese-train-browser') return typeof r.first?.value === 'number' ? [r.first.value] : null;
  if (r.check && 'distances' in r.check) return (r.check.distances as number[]).slice();
  if (r.check && 'lossSum' in r.check) return [r.check.lossSum as number, r.check.gradAbsSumA as number, r.check.gradAbsSumB as number];
  return null;
}

function countText(dawnCount: number | undefined, own: number | undefined): string {
  if (dawnCount === undefined) return '–';
  if (own === undefined || own === dawnCount) return String(dawnCount);
  return `${dawnCount} (runtime ${own})`;
}

const key = (r: { case: string; variant: string }) => `${r.case}${r.variant ? ` ${r.variant}` : ''}`;

export interface ProfileResult extends Partial<StepProfile> {
  system: string;
  variant: string;
  adapter?: string;
  skipped?: string;
  error?: string;
}

export interface MemoryRow {
  case: string;
  eagerPeakBytes: number;
  hybridPeakBytes: number;
  /** hybrid / eager. */
  ratio: number;
  target: number;
  met: boolean;
}

/** The hybridized step's peak memory over eager's; the target of issue 17 is at most 0.6. */
export const MEMORY_TARGET = 0.6;

export function memoryRows(results: readonly CaseResult[]): MemoryRow[] {
  const rows: MemoryRow[] = [];
  const keys = [...new Set(results.map(key))];
  for (const k of keys) {
    const e = results.find((r) => key(r) === k && r.system === 'webgluon-eager')?.summary?.peakBytes;
    const h = results.find((r) => key(r) === k && r.system === 'webgluon-hybrid')?.summary?.peakBytes;
    if (!e || !h) continue;
    rows.push({ case: k, eagerPeakBytes: e, hybridPeakBytes: h, ratio: h / e, target: MEMORY_TARGET, met: h / e <= MEMORY_TARGET });
  }
  return rows;
}

/** Fills in the work and the fraction of the ceiling of each result with a summary. */
export function rateAgainstCeiling(results: CaseResult[], ceiling: Ceiling | null): void {
  for (const r of results) {
    const w = caseWork(r.case, r.variant);
    if (!w) continue;
    r.work = w;
    if (!r.summary) continue;
    const ms = r.summary.medianMs;
    r.ofCeiling = {};
    if (w.flops) {
      r.ofCeiling.gflops = w.flops / ms / 1e6;
      if (ceiling) r.ofCeiling.fmaPct = (100 * r.ofCeiling.gflops) / ceiling.fmaGflops;
    }
    if (w.bytes) {
      r.ofCeiling.gbs = w.bytes / ms / 1e6;
      if (ceiling) r.ofCeiling.bandwidthPct = (100 * r.ofCeiling.gbs) / ceiling.bandwidthGBs;
    }
  }
}

function ceilingText(r: CaseResult): string {
  const c = r.ofCeiling;
  if (!c) return '–';
  if (r.work?.bound === 'bandwidth') return c.gbs === undefined ? '–' : `${c.gbs.toFixed(2)} GB/s${c.bandwidthPct !== undefined ? ` (${pct(c.bandwidthPct, 100)} BW)` : ''}`;
  return c.gflops === undefined ? '–' : `${c.gflops.toFixed(1)} GFLOP/s${c.fmaPct !== undefined ? ` (${pct(c.fmaPct, 100)} FMA)` : ''}`;
}

function coldText(r: CaseResult): string {
  if (!r.summary?.coldRatio) return '–';
  return `${r.summary.coldRatio.toFixed(1)}×`;
}

export interface MarkdownExtra {
  ceiling?: Ceiling | null;
  ceilingError?: string;
  profiles?: readonly ProfileResult[];
  shaderCache?: string;
}

export function markdown(results: CaseResult[], header: { date: string; adapters: string[]; command: string; machine: string }, extra: MarkdownExtra = {}): string {
  const lines: string[] = [];
  lines.push(`### webgluon bench, ${header.date}`);
  lines.push('');
  lines.push(`- adapter: ${header.adapters.length ? header.adapters.join('; ') : '–'}`);
  lines.push(`- machine: ${header.machine}`);
  lines.push(`- command: \`${header.command}\``);
  if (extra.ceiling) lines.push(`- ceiling (bench/ceiling.ts): ${describeCeiling(extra.ceiling)}`);
  else if (extra.ceilingError) lines.push(`- ceiling: not measured (${extra.ceilingError})`);
  if (extra.shaderCache) lines.push(`- shader cache: ${extra.shaderCache}`);
  const poll = Number(process.env.WEBGLUON_BENCH_DAWN_POLL_MS ?? '');
  if (poll > 0) lines.push(`- dawn.node's GPU polling throttled to one poll per ${poll} ms in every child (--dawn-poll-ms; by default it spins a core while waiting)`);
  const main = results.filter((r) => r.case !== 'cold-start');
  if (main.length) {
    lines.push('');
    lines.push('| case | system | median | min–max | throughput | vs tfjs-webgpu | of the ceiling | dispatches/step | submits/step | first step (cold) | cold / steady | peak GPU | check |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    const tfjsMedian = new Map<string, number>();
    for (const r of main) if (r.system === 'tfjs-webgpu' && r.summary) tfjsMedian.set(key(r), r.summary.medianMs);
    for (const r of main) {
      const k = key(r);
      if (!r.summary) {
        const why = r.error ? `error: ${r.error.split('\n')[0].slice(0, 160)}` : `skipped: ${r.skipped ?? 'no result'}`;
        const first = r.first ? fmtMs(r.first.ms) : '–';
        lines.push(`| ${k} | ${r.system} | ${why.replace(/\|/g, '\\|')} | | | | | ${r.first ? countText(r.first.dawn.dispatches, r.first.stats?.dispatches) : ''} | | ${first} | | | |`);
        continue;
      }
      const s = r.summary;
      const tf = tfjsMedian.get(k);
      const ratio = tf !== undefined ? `${(tf / s.medianMs).toFixed(2)}×` : '–';
      const peak = s.peakBytes ?? (s.dawnPeakBufferBytes || undefined);
      lines.push(`| ${k} | ${r.system} | ${fmtMs(s.medianMs)} | ${fmtMs(s.minMs)}–${fmtMs(s.maxMs)} | ${fmtRate(r)} | ${ratio} | ${ceilingText(r)} | ${countText(s.dispatches, s.sysDispatches)} | ${countText(s.submits, s.sysSubmits)} | ${fmtMs(r.first?.ms)} | ${coldText(r)} | ${fmtBytes(peak)} | ${checkText(r).replace(/\|/g, '\\|')} |`);
    }
    lines.push('');
    lines.push('"vs tfjs-webgpu" is tfjs-webgpu\'s median over this row\'s median (above 1 = faster than tfjs). "of the ceiling": the step\'s work counted from the shapes ' +
      '(training and forward: the convolutions\' and dense layers\' FLOPs; the loss: the bytes it must move) over the median, and that as a percentage of the adapter\'s FMA ceiling or streaming bandwidth ' +
      '(bench/ceiling.ts; for the CPU systems the same probes say what this CPU does through lavapipe). Dispatches and submits are counted at Dawn (both systems); "runtime" is webgluon\'s own runtime.stats() where it differs. ' +
      '"first step (cold)": the first step of a fresh process (shader cache as above); "cold / steady" is it over the median. Peak GPU: webgluon runtime.stats().peakBytes, tfjs\'s buffer manager bytes in use.');
    const byKey = new Map<string, Map<string, CaseResult>>();
    for (const r of main) {
      if (!byKey.has(key(r))) byKey.set(key(r), new Map());
      byKey.get(key(r))!.set(r.system, r);
    }
    const mem = new Map(memoryRows(main).map((m) => [m.case, m]));
    const ratioLines: string[] = [];
    for (const [k, m] of byKey) {
      const h = m.get('webgluon-hybrid')?.summary;
      const e = m.get('webgluon-eager')?.summary;
      const t = m.get('tfjs-webgpu')?.summary;
      const p = m.get('pytorch-cpu')?.summary;
      const parts: string[] = [];
      if (h && t) parts.push(`hybrid vs tfjs-webgpu ${(t.medianMs / h.medianMs).toFixed(2)}×`);
      if (h && e) parts.push(`hybrid vs eager ${(e.medianMs / h.medianMs).toFixed(2)}×`);
      if (e && t) parts.push(`eager vs tfjs-webgpu ${(t.medianMs / e.medianMs).toFixed(2)}×`);
      if (h && p) parts.push(`hybrid vs pytorch-cpu ${(p.medianMs / h.medianMs).toFixed(2)}×`);
      if (h) parts.push(`hybrid ${h.dispatches} dispatches/step`);
      const mm = mem.get(k);
      if (mm) parts.push(`peak memory hybrid / eager ${mm.ratio.toFixed(2)}× (${fmtBytes(mm.hybridPeakBytes)} / ${fmtBytes(mm.eagerPeakBytes)}; target ≤ ${mm.target}×: ${mm.met ? 'met' : 'not met'})`);
      if (parts.length) ratioLines.push(`- ${k}: ${parts.join(', ')}`);
      // Systems must agree on the numbers they computed.
      const vecs = [...m.values()].map((r) => [r.system, checkVector(r)] as const).filter((x): x is readonly [string, number[]] => !!x[1]);
      if (vecs.length > 1) {
        const [refSys, ref] = vecs[0];
        for (const [sys, v] of vecs.slice(1)) {
          const worst = Math.max(...v.map((x, i) => Math.abs(x - ref[i]) / Math.max(1e-6, Math.abs(ref[i]))));
          if (!(worst <= 2e-3)) ratioLines.push(`- ${k}: WARNING ${sys} disagrees with ${refSys} (relative difference ${worst.toExponential(2)})`);
        }
      }
    }
    if (ratioLines.length) {
      lines.push('');
      lines.push('Ratios (same run, same machine):');
      lines.push('');
      lines.push(...ratioLines);
    }
  }
  const cold = results.filter((r) => r.case === 'cold-start');
  if (cold.length) {
    lines.push('');
    lines.push('Cold start (`cold-start`: siamese-train in a fresh process on an empty Mesa shader cache, then again in another process on the cache the first one filled):');
    lines.push('');
    lines.push('| system | first step, empty shader cache | first step, warm shader cache | steady step | cold / steady | warm cache / steady | CPU time: cold / warm cache / steady | first step detail (empty cache) |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of cold) {
      const c = r.coldStart;
      if (!c) {
        lines.push(`| ${r.system} | ${(r.error ? `error: ${r.error.split('\n')[0]}` : `skipped: ${r.skipped ?? 'no result'}`).replace(/\|/g, '\\|')} | | | | | | |`);
        continue;
      }
      const detail = Object.entries(r.firstStepDetail ?? {}).map(([k2, v]) => `${k2} ${Number.isInteger(v) ? v : v.toFixed(0)}`).join(', ');
      lines.push(`| ${r.system} | ${fmtMs(c.coldMs)} | ${fmtMs(c.warmCacheMs)} | ${fmtMs(c.steadyMs)} | ${(c.coldMs / c.steadyMs).toFixed(1)}× | ` +
        `${c.warmCacheMs !== undefined ? `${(c.warmCacheMs / c.steadyMs).toFixed(1)}×` : '–'} | ` +
        `${fmtMs(c.coldCpuMs)} / ${fmtMs(c.warmCacheCpuMs)} / ${fmtMs(c.steadyCpuMs)} | ${detail || '–'} |`);
    }
  }
  for (const p of extra.profiles ?? []) {
    lines.push('');
    const title = `Kernels of one siamese-train${p.variant ? ` ${p.variant}` : ''} step, ${p.system}`;
    if (!p.rows) {
      lines.push(`${title}: ${p.error ? `error: ${p.error.split('\n')[0]}` : `skipped: ${p.skipped ?? 'no result'}`}`);
      continue;
    }
    lines.push(profileTable(p as StepProfile & ProfileResult, extra.ceiling ?? null, title));
  }
  return lines.join('\n');
}

/** `npm run bench -- ops [flags]`: the kernel GFLOP/s table of bench/ops.ts, in its own process. */
function runOps(args: readonly string[]): void {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join('bench', 'ops.ts'), ...args], { cwd: ROOT, stdio: 'inherit' });
  process.exitCode = res.status ?? 1;
}

/** Runs a child that prints one BENCH_RESULT line of any shape. */
async function runJsonChild<T>(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Promise<T | { error: string }> {
  const out = await runChild(file, args[0] ?? '', args[1] ?? '', Number(args[2] ?? 1), 0, timeoutS, env, args.slice(3));
  if (out.result) return out.result as unknown as T;
  return { error: `exited with code ${out.code}${out.signal ? ` (signal ${out.signal})` : ''}: ${cleanStderr(out.stderr).split('\n').slice(-3).join(' ')}` };
}

function failed(r: CaseResult | null, c: string, v: string, s: string, repeat: number, o: Options, out: ChildOutcome): CaseResult {
  if (r) return r;
  const base = { case: c, variant: v, system: s, repeat, warmup: o.warmup, node: process.version, cpus: '', wallMs: out.ms };
  if (out.overran) {
    return { ...base, adapter: out.overran.adapter, skipped: `one step takes more than ${(out.overran.ms / 1000).toFixed(0)} s (stopped after ${((out.overran.ms + 2000) / 1000).toFixed(0)} s of its first step)` };
  }
  return { ...base, error: `child exited with code ${out.code}${out.signal ? ` (signal ${out.signal})` : ''} and no result:\n${cleanStderr(out.stderr)}` };
}

async function runWithRetries(script: string, s: string, v: string, repeat: number, o: Options, timeoutS: number, env: () => ReturnType<typeof shaderCacheEnv>): Promise<ChildOutcome> {
  let outcome: ChildOutcome | null = null;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    const cache = env();
    try {
      outcome = await runChild(script, s, v, repeat, o.warmup, timeoutS, cache.env);
    } finally {
      cache.done();
    }
    if (outcome.result || outcome.overran) break;
    process.stderr.write(`[child died: code ${outcome.code} signal ${outcome.signal}${attempt < o.retries ? ', retrying' : ''}] `);
  }
  return outcome!;
}

/** cold-start: one child on an empty shader cache, then one (first step only) on what it left. */
async function runColdStart(c: string, spec: CaseSpec, v: string, s: string, repeat: number, o: Options): Promise<CaseResult> {
  const cache = shaderCacheEnv(o.shaderCache === 'keep' ? 'fresh' : o.shaderCache);
  try {
    const cold = await runChild(spec.script ?? c, s, v, repeat, o.warmup, spec.timeoutS, cache.env);
    const r = failed(cold.result, c, v, s, repeat, o, cold);
    r.case = c;
    r.shaderCache = o.shaderCache === 'off' ? 'disabled' : 'empty';
    if (!r.summary || !r.first) return r;
    const warm = o.shaderCache === 'off' ? null : await runChild(spec.script ?? c, s, v, 1, 0, spec.timeoutS, cache.env);
    r.coldStart = {
      coldMs: r.first.ms, steadyMs: r.summary.medianMs,
      warmCacheMs: warm?.result?.first?.ms,
      warmCacheDetail: warm?.result?.firstStepDetail,
      coldCpuMs: r.first.cpuMs, steadyCpuMs: r.summary.medianCpuMs, warmCacheCpuMs: warm?.result?.first?.cpuMs,
    };
    return r;
  } finally {
    cache.done();
  }
}

/** The WEBGLUON_TUNE values a system runs with (only webgluon's systems have a tuner). */
function tuneSettingsFor(system: string, tune: Options['tune']): (string | undefined)[] {
  if (tune === undefined || !system.startsWith('webgluon')) return [undefined];
  return tune === 'both' ? ['0', '1'] : [tune];
}

async function main(): Promise<void> {
  if (process.argv[2] === 'ops') {
    runOps(process.argv.slice(3));
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  // Children inherit it (bench/harness.ts throttleDawnPolling).
  if (o.dawnPollMs !== undefined) process.env.WEBGLUON_BENCH_DAWN_POLL_MS = String(o.dawnPollMs);
  const date = new Date();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const results: CaseResult[] = [];
  let ceiling: Ceiling | null = null;
  let ceilingError: string | undefined;
  if (o.ceiling) {
    process.stderr.write('bench: adapter ceiling (FMA loop, copy kernel) … ');
    const c = await runJsonChild<Ceiling>(join('bench', 'ceiling.ts'), [], {}, 600);
    if ('error' in c) ceilingError = c.error;
    else ceiling = c;
    process.stderr.write(`${ceiling ? `${ceiling.fmaGflops.toFixed(1)} GFLOP/s, ${ceiling.bandwidthGBs.toFixed(2)} GB/s` : `failed: ${ceilingError}`}\n`);
  }
  const shaderCache = o.shaderCache === 'fresh' ? 'every child starts with an empty shader cache (MESA_SHADER_CACHE_DIR and __GL_SHADER_DISK_CACHE_PATH set to a new folder)'
    : o.shaderCache === 'off' ? 'disabled (MESA_SHADER_CACHE_DISABLE=true, __GL_SHADER_DISK_CACHE=0)' : "the user's shader cache (--shader-cache keep)";
  for (const c of o.cases) {
    const spec = CASES[c];
    // --variant V picks V in the cases that have it; the others run all of theirs.
    const variants = o.variant !== undefined && spec.variants.includes(o.variant) ? [o.variant] : spec.variants;
    const systems = (o.systems ?? spec.systems ?? [...SYSTEMS]).filter((s) => !spec.systems || spec.systems.includes(s));
    for (const v of variants) {
      for (const [s, tune] of systems.flatMap((x) => tuneSettingsFor(x, o.tune).map((t) => [x, t] as const))) {
        const repeat = o.repeat ?? spec.repeat;
        const tuneEnv: NodeJS.ProcessEnv = tune === undefined ? {} : { WEBGLUON_TUNE: tune };
        const cacheEnv = () => { const sc = shaderCacheEnv(o.shaderCache); return { ...sc, env: { ...sc.env, ...tuneEnv } }; };
        process.stderr.write(`bench: ${c}${v ? ` ${v}` : ''} on ${s}${tune === undefined ? '' : ` WEBGLUON_TUNE=${tune}`} (repeat ${repeat}) … `);
        const t0 = Date.now();
        let r: CaseResult;
        let more: CaseResult[] = [];
        if (spec.coldStart) {
          r = await runColdStart(c, spec, v, s, repeat, o);
        } else {
          const out = await runWithRetries(spec.script ?? c, s, v, repeat, o, spec.timeoutS, cacheEnv);
          r = failed(out.result, c, v, s, repeat, o, out);
          r.shaderCache = o.shaderCache;
          more = out.more ?? [];
        }
        if (o.tune === 'both' && tune !== undefined) r.system = `${s} tune=${tune}`;
        results.push(r, ...more);
        const what = r.coldStart ? `cold ${fmtMs(r.coldStart.coldMs)}, warm cache ${fmtMs(r.coldStart.warmCacheMs)}, steady ${fmtMs(r.coldStart.steadyMs)}`
          : r.summary ? `median ${fmtMs(r.summary.medianMs)}, ${r.summary.dispatches} dispatches` : r.error ? `error: ${r.error.split('\n')[0]}` : `skipped: ${r.skipped}`;
        process.stderr.write(`${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      }
    }
  }
  rateAgainstCeiling(results, ceiling);
  const profiles: ProfileResult[] = [];
  if (o.profile && o.cases.includes('siamese-train')) {
    const variant = o.variant === 'batched' ? 'batched' : '';
    for (const s of ['webgluon-hybrid', 'webgluon-eager'].filter((x) => !o.systems || o.systems.includes(x))) {
      process.stderr.write(`bench: kernels of one siamese-train step on ${s} (each kernel alone, ${o.profileRepeat} runs) … `);
      const t0 = Date.now();
      const tuneEnv: NodeJS.ProcessEnv = o.tune === '0' || o.tune === '1' ? { WEBGLUON_TUNE: o.tune } : {};
      // The driver's disk cache off: the profile also times each kernel's compile (profile.ts).
      const env = { ...tuneEnv, MESA_SHADER_CACHE_DISABLE: 'true' };
      const p = await runJsonChild<ProfileResult>(join('bench', 'profile.ts'), [s, variant, String(o.profileRepeat)], env, 1800);
      profiles.push('error' in p && !('system' in p) ? { system: s, variant, error: p.error } : p as ProfileResult);
      const got = profiles[profiles.length - 1];
      process.stderr.write(`${got.rows ? `${got.dispatches} kernels, ${fmtMs(got.kernelMs)} of kernels` : got.error ?? got.skipped} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
  }
  const adapters = [...new Set(results.map((r) => r.adapter).filter((a): a is string => !!a))];
  const machine = `${cpus().length}x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()} ${arch()}, Node ${process.version}`;
  const stamp = date.toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  const header = { date: date.toISOString().replace('T', ' ').replace(/\..*$/, ' UTC'), adapters, command, machine };
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(WEBGLUON_|MESA_|LP_|GALLIUM_|__GL_)/.test(k)));
  const table = markdown(results, header, { ceiling, ceilingError, profiles, shaderCache });
  process.stdout.write(`${table}\n`);
  const doc = { ...header, dateIso: date.toISOString(), env, shaderCache: o.shaderCache, ceiling, ceilingError, results, memory: memoryRows(results), profiles, table };
  const text = `${JSON.stringify(doc, null, 1)}\n`;
  if (o.write) {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${stamp}.json`), text);
    writeFileSync(join(dir, 'latest.json'), text);
    process.stderr.write(`bench: wrote bench/results/${stamp}.json and bench/results/latest.json\n`);
  }
  if (o.json) {
    writeFileSync(resolve(process.cwd(), o.json), text);
    process.stderr.write(`bench: wrote ${o.json}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
