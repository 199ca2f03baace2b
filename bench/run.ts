// `npm run bench -- [case…] [--repeat N] [--systems a,b] [--variant V] [--json out.json]`
//
// Runs every (case, variant, system) in a fresh child process (`node --import tsx
// bench/cases/<case>.ts --system <sys> --repeat N`), which does its first (compile) step, then N
// timed steps, and prints one JSON line. Prints a markdown table and writes
// bench/results/<date>.json and bench/results/latest.json. Ratios are only meaningful between
// rows of one run (same machine, same adapter, same moment).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEADLINE_PREFIX, RESULT_PREFIX, type CaseResult } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const SYSTEMS = ['webgluon-eager', 'webgluon-hybrid', 'tfjs-webgpu', 'tfjs-cpu'] as const;

interface CaseSpec {
  variants: string[];
  repeat: number;
  /** Per-child limit, seconds. */
  timeoutS: number;
  what: string;
}

export const CASES: Record<string, CaseSpec> = {
  'siamese-train': { variants: ['', 'batched'], repeat: 2, timeoutS: 1800, what: 'Siamese train step, 16 pairs 1x105x105, Adam' },
  'siamese-forward': { variants: [''], repeat: 3, timeoutS: 900, what: 'Siamese inference, 16 pairs, distances read back' },
  'contrastive-loss': { variants: ['n262144xd2', 'n16384xd128'], repeat: 10, timeoutS: 600, what: 'contrastive loss forward+backward' },
};

interface Options {
  cases: string[];
  systems: string[];
  repeat?: number;
  warmup: number;
  variant?: string;
  json?: string;
  write: boolean;
  retries: number;
}

function usage(): never {
  process.stderr.write(`usage: npm run bench -- [case…] [--repeat N] [--warmup N] [--systems ${SYSTEMS.join(',')}]
                     [--variant V] [--json out.json] [--no-write] [--retries N]
cases: ${Object.keys(CASES).join(", ")}, or 'ops' alone (kernel GFLOP/s: npm run bench -- ops [--only S] [--runs N])
`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: [], systems: [...SYSTEMS], warmup: 0, write: true, retries: 1 };
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
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage();
    else o.cases.push(a);
  }
  if (!o.cases.length) o.cases = Object.keys(CASES);
  for (const c of o.cases) if (!CASES[c]) { process.stderr.write(`unknown case ${c}\n`); usage(); }
  for (const s of o.systems) if (!(SYSTEMS as readonly string[]).includes(s)) { process.stderr.write(`unknown system ${s}\n`); usage(); }
  return o;
}

interface ChildOutcome {
  result: CaseResult | null; code: number | null; signal: string | null; stderr: string; ms: number;
  /** Set when the child announced a step limit and overran it. */
  overran?: { ms: number; adapter?: string };
}

function runChild(caseName: string, system: string, variant: string, repeat: number, warmup: number, timeoutS: number): Promise<ChildOutcome> {
  const args = ['--import', 'tsx', join('bench', 'cases', `${caseName}.ts`), '--system', system, '--repeat', String(repeat), '--warmup', String(warmup)];
  if (variant) args.push('--variant', variant);
  const t0 = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
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
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      let result: CaseResult | null = null;
      if (line) {
        try { result = JSON.parse(line.slice(RESULT_PREFIX.length)) as CaseResult; } catch { result = null; }
      }
      done({ result, code, signal, stderr: err, ms: Date.now() - t0, overran });
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
  if (r.case === 'siamese-train') {
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
  if (r.case === 'siamese-train') return typeof r.first?.value === 'number' ? [r.first.value] : null;
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

export function markdown(results: CaseResult[], header: { date: string; adapters: string[]; command: string; machine: string }): string {
  const lines: string[] = [];
  lines.push(`### webgluon bench, ${header.date}`);
  lines.push('');
  lines.push(`- adapter: ${header.adapters.length ? header.adapters.join('; ') : '–'}`);
  lines.push(`- machine: ${header.machine}`);
  lines.push(`- command: \`${header.command}\``);
  lines.push('');
  lines.push('| case | system | median | min–max | throughput | vs tfjs-webgpu | dispatches/step | submits/step | first step (compile) | peak GPU | check |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const tfjsMedian = new Map<string, number>();
  for (const r of results) if (r.system === 'tfjs-webgpu' && r.summary) tfjsMedian.set(key(r), r.summary.medianMs);
  for (const r of results) {
    const k = key(r);
    if (!r.summary) {
      const why = r.error ? `error: ${r.error.split('\n')[0].slice(0, 160)}` : `skipped: ${r.skipped ?? 'no result'}`;
      const first = r.first ? fmtMs(r.first.ms) : '–';
      lines.push(`| ${k} | ${r.system} | ${why.replace(/\|/g, '\\|')} | | | | ${r.first ? countText(r.first.dawn.dispatches, r.first.stats?.dispatches) : ''} | | ${first} | | |`);
      continue;
    }
    const s = r.summary;
    const tf = tfjsMedian.get(k);
    const ratio = tf !== undefined ? `${(tf / s.medianMs).toFixed(2)}×` : '–';
    const peak = s.peakBytes ?? (s.dawnPeakBufferBytes || undefined);
    lines.push(`| ${k} | ${r.system} | ${fmtMs(s.medianMs)} | ${fmtMs(s.minMs)}–${fmtMs(s.maxMs)} | ${fmtRate(r)} | ${ratio} | ${countText(s.dispatches, s.sysDispatches)} | ${countText(s.submits, s.sysSubmits)} | ${fmtMs(r.first?.ms)} | ${fmtBytes(peak)} | ${checkText(r).replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  lines.push('"vs tfjs-webgpu" is tfjs-webgpu\'s median over this row\'s median (above 1 = faster than tfjs). Dispatches and submits are counted at Dawn (both systems); "runtime" is webgluon\'s own runtime.stats() where it differs. Peak GPU: webgluon runtime.stats().peakBytes, tfjs\'s buffer manager bytes in use.');
  // Targets of issue 6, from this run's numbers.
  const byKey = new Map<string, Map<string, CaseResult>>();
  for (const r of results) {
    if (!byKey.has(key(r))) byKey.set(key(r), new Map());
    byKey.get(key(r))!.set(r.system, r);
  }
  const ratioLines: string[] = [];
  for (const [k, m] of byKey) {
    const h = m.get('webgluon-hybrid')?.summary;
    const e = m.get('webgluon-eager')?.summary;
    const t = m.get('tfjs-webgpu')?.summary;
    const parts: string[] = [];
    if (h && t) parts.push(`hybrid vs tfjs-webgpu ${(t.medianMs / h.medianMs).toFixed(2)}×`);
    if (h && e) parts.push(`hybrid vs eager ${(e.medianMs / h.medianMs).toFixed(2)}×`);
    if (e && t) parts.push(`eager vs tfjs-webgpu ${(t.medianMs / e.medianMs).toFixed(2)}×`);
    if (h) parts.push(`hybrid ${h.dispatches} dispatches/step`);
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
  return lines.join('\n');
}

/** `npm run bench -- ops [flags]`: the kernel GFLOP/s table of bench/ops.ts, in its own process. */
function runOps(args: readonly string[]): void {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join('bench', 'ops.ts'), ...args], { cwd: ROOT, stdio: 'inherit' });
  process.exitCode = res.status ?? 1;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'ops') {
    runOps(process.argv.slice(3));
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const date = new Date();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const results: CaseResult[] = [];
  for (const c of o.cases) {
    const spec = CASES[c];
    const variants = o.variant ? [o.variant] : spec.variants;
    for (const v of variants) {
      for (const s of o.systems) {
        const repeat = o.repeat ?? spec.repeat;
        process.stderr.write(`bench: ${c}${v ? ` ${v}` : ''} on ${s} (repeat ${repeat}) … `);
        let outcome: ChildOutcome | null = null;
        for (let attempt = 0; attempt <= o.retries; attempt++) {
          outcome = await runChild(c, s, v, repeat, o.warmup, spec.timeoutS);
          if (outcome.result || outcome.overran) break;
          process.stderr.write(`[child died: code ${outcome.code} signal ${outcome.signal}${attempt < o.retries ? ', retrying' : ''}] `);
        }
        const out = outcome!;
        const r: CaseResult = out.result ?? (out.overran ? {
          case: c, variant: v, system: s, repeat, warmup: o.warmup, node: process.version, cpus: '', wallMs: out.ms,
          adapter: out.overran.adapter,
          skipped: `one step takes more than ${(out.overran.ms / 1000).toFixed(0)} s (stopped after ${((out.overran.ms + 2000) / 1000).toFixed(0)} s of its first step)`,
        } : {
          case: c, variant: v, system: s, repeat, warmup: o.warmup, node: process.version, cpus: '', wallMs: out.ms,
          error: `child exited with code ${out.code}${out.signal ? ` (signal ${out.signal})` : ''} and no result:\n${cleanStderr(out.stderr)}`,
        });
        results.push(r);
        const what = r.summary ? `median ${fmtMs(r.summary.medianMs)}, ${r.summary.dispatches} dispatches` : r.error ? `error: ${r.error.split('\n')[0]}` : `skipped: ${r.skipped}`;
        process.stderr.write(`${what} (${(out.ms / 1000).toFixed(1)} s)\n`);
      }
    }
  }
  const adapters = [...new Set(results.map((r) => r.adapter).filter((a): a is string => !!a))];
  const machine = `${cpus().length}x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()} ${arch()}, Node ${process.version}`;
  const stamp = date.toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  const header = { date: date.toISOString().replace('T', ' ').replace(/\..*$/, ' UTC'), adapters, command, machine };
  const table = markdown(results, header);
  process.stdout.write(`${table}\n`);
  const doc = { ...header, dateIso: date.toISOString(), results, table };
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
