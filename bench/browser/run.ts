// `npx tsx bench/browser/run.ts [--repeat N] [--warmup N] [--size S] [--batch B] [--variant small|full[-batched]]
//   [--systems webgluon-hybrid,tfjs-webgpu,webgluon-eager] [--json out.json]` (or `npm run bench --
//   siamese-train-browser`, which starts it with `--system browser`: the default pair).
//
// The Siamese train step in headless Chromium (page.ts): webgluon hybridized and tfjs-webgpu in one
// page, one after the other, so their ratio comes from one run on one adapter. Prints a markdown
// row per system and the ratio, and one `BENCH_RESULT {…}` line per system in bench/harness.ts's
// CaseResult shape (case 'siamese-train-browser'), which bench/run.ts can collect. Needs Chromium
// (/usr/bin/chromium, or WEBGLUON_CHROMIUM); headless Chromium gives SwiftShader, Vulkan on the CPU.
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBrowser, ROOT } from '../../examples/browser/build.mjs';
import { serve } from '../../examples/browser/serve.mjs';
import { RESULT_PREFIX, type CaseResult } from '../harness.js';
import type { SystemResult } from './page.js';

const CHROMIUM = process.env.WEBGLUON_CHROMIUM ?? '/usr/bin/chromium';
const CASE = 'siamese-train-browser';

function parse(argv: string[]) {
  const o = { repeat: 2, warmup: 0, size: 0, batch: 0, variant: '', systems: 'webgluon-hybrid,tfjs-webgpu', json: '', timeoutS: 3600 };
  for (let i = 0; i < argv.length; i++) {
    // bench/run.ts starts every case with `--system S`; here 'browser' means the default pair.
    if (argv[i] === '--system') {
      if (argv[i + 1] !== 'browser') o.systems = argv[i + 1];
      i++;
      continue;
    }
    const k = argv[i].replace(/^--/, '');
    const v = argv[++i];
    if (!(k in o) || v === undefined) {
      console.error(`usage: npx tsx bench/browser/run.ts [--repeat N] [--warmup N] [--size S] [--batch B] [--variant small|full[-batched]] [--systems a,b] [--json out.json] [--timeoutS S]`);
      process.exit(2);
    }
    (o as Record<string, unknown>)[k] = typeof (o as Record<string, unknown>)[k] === 'number' ? Number(v) : v;
  }
  // Variants (joined by '-'): 'small' is 8 pairs of 28×28 (a few minutes on SwiftShader; 'full', the
  // default, is bench/harness.ts's 16 pairs of 105×105, where one tfjs step takes minutes); 'batched'
  // puts both towers' images in one batch.
  const small = o.variant.split('-').includes('small');
  o.size ||= small ? 28 : 105;
  o.batch ||= small ? 8 : 16;
  return o;
}

const batchedVariant = (variant: string) => variant.split('-').includes('batched');
const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (!existsSync(CHROMIUM)) {
    console.error(`bench/browser: no Chromium at ${CHROMIUM} (bash scripts/setup.sh installs it); skipped`);
    console.log(`${RESULT_PREFIX}${JSON.stringify({ case: CASE, variant: o.variant, system: 'webgluon-hybrid', skipped: `no Chromium at ${CHROMIUM}`, repeat: o.repeat, warmup: o.warmup, node: process.version, cpus: '', wallMs: 0 })}`);
    return;
  }
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'webgluon-bench-browser-'));
  try {
    await buildBrowser({
      entry: 'bench/browser/page.ts', outdir: dir, allowPackages: ['@tensorflow/*'],
      // The harness's Node-only half (Dawn counters, timing, temp folders) is not run in the page.
      stubModulesFor: { 'bench/harness.ts': ['node:fs', 'node:os', 'node:path', 'node:perf_hooks', 'webgpu'] },
    });
    copyFileSync(join(ROOT, 'bench/browser/index.html'), join(dir, 'index.html'));
    const server = await serve(dir);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan'] });
    try {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'info') console.error(`bench/browser: ${m.text()}`);
        else if (m.type() === 'error' || m.type() === 'warning') console.error(`page ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
      const query = new URLSearchParams({ size: String(o.size), batch: String(o.batch), repeat: String(o.repeat), warmup: String(o.warmup), variant: o.variant, systems: o.systems });
      await page.goto(`${server.url}?${query}`);
      await page.waitForFunction(() => (globalThis as unknown as { __bench?: { status: string } }).__bench?.status !== 'running', null, { timeout: o.timeoutS * 1000, polling: 1000 });
      const bench = await page.evaluate(() => (globalThis as unknown as { __bench: { status: string; error: string | null; adapter: string; results: SystemResult[] } }).__bench);
      if (bench.error) throw new Error(`the bench page failed: ${bench.error}`);
      const adapter = `Chromium ${browser.version()}, ${bench.adapter}`;
      report(o, adapter, bench.results, Date.now() - started);
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(o: ReturnType<typeof parse>, adapter: string, results: SystemResult[], wallMs: number): void {
  const what = `Siamese train step in Chromium, ${o.batch} pairs ${o.size}×${o.size}${batchedVariant(o.variant) ? ', both towers in one batch' : ', towers called twice'}`;
  const by = new Map(results.map((r) => [r.system, r]));
  const h = by.get('webgluon-hybrid');
  const t = by.get('tfjs-webgpu');
  const e = by.get('webgluon-eager');
  console.log(`adapter: ${adapter}; ${o.repeat} timed step(s) after the first, medians`);
  console.log('| case | webgluon eager | webgluon hybridized | tfjs-webgpu 4.22 | hybridized vs tfjs-webgpu | dispatches per step (hybridized / eager / tfjs) | first-step loss |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  const cell = (r?: SystemResult) => (r ? fmtMs(r.medianMs) : '–');
  const losses = results.map((r) => `${r.system} ${r.firstLoss.toPrecision(6)}`).join(', ');
  console.log(`| ${what} | ${cell(e)} | ${cell(h)} | ${cell(t)} | ${h && t ? `${(t.medianMs / h.medianMs).toFixed(1)}×` : '–'} | ` +
    `${h?.dispatches ?? '–'} / ${e?.dispatches ?? '–'} / ${t?.dispatches ?? '–'} | ${losses} |`);
  const firsts = results.map((r) => r.firstLoss);
  const spread = Math.max(...firsts.map((x) => Math.abs(x - firsts[0]) / Math.max(1e-6, Math.abs(firsts[0]))));
  if (spread > 2e-3) console.log(`WARNING: the systems disagree on the first step's loss (relative difference ${spread.toExponential(2)})`);
  const docs: CaseResult[] = results.map((r) => ({
    case: CASE, variant: o.variant, system: r.system, adapter, repeat: o.repeat, warmup: o.warmup,
    first: { ms: r.firstMs, dawn: { dispatches: r.dispatches, submits: r.submits, commandBuffers: 0, peakBufferBytes: 0, buffersCreated: 0 }, value: r.firstLoss },
    steps: r.ms.map((ms, i) => ({ ms, dawn: { dispatches: r.dispatches, submits: r.submits, commandBuffers: 0, peakBufferBytes: 0, buffersCreated: 0 }, value: r.losses[i] })),
    summary: {
      medianMs: r.medianMs, minMs: Math.min(...r.ms), maxMs: Math.max(...r.ms), meanMs: r.ms.reduce((a, b) => a + b, 0) / r.ms.length,
      dispatches: r.dispatches, submits: r.submits, dawnPeakBufferBytes: 0,
    },
    items: { count: o.batch, unit: 'pairs' },
    notes: ['measured in headless Chromium: dispatches and submits counted at GPUComputePassEncoder.dispatchWorkgroups / GPUQueue.submit'],
    node: process.version, cpus: `${cpus().length}x ${cpus()[0]?.model ?? '?'}`, wallMs,
  }));
  for (const d of docs) console.log(`${RESULT_PREFIX}${JSON.stringify(d)}`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ adapter, options: o, results: docs }, null, 1)}\n`);
}

await main();
