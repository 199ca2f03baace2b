// The demo page: trains the tutorial's Siamese network (examples/siamese/model.ts), hybridized, on
// glyphs generated in the page, draws the loss curve and test pairs as it goes, and classifies a
// glyph drawn with the mouse against a row of characters (one-shot). URL parameters: size (20),
// batch (8), steps (0: until paused), hybridize (1), lr (0.001), seed (1). The defaults train about a
// step a second on SwiftShader (Vulkan on the CPU, headless Chromium's WebGPU); a GPU takes ?size=28&batch=16.
// window.__webgluon holds the results and the checks tests/browser.test.ts runs.
import * as webgluon from '../../src/browser.js';
import { gluon, nd, runtime, type Tensor } from '../../src/browser.js';
import { makeChecks } from './checks.js';
import { canvas, element, page } from './dom.js';
import { drawLossCurve, drawPairs, drawReferences, makePad, type ShownPair } from './draw.js';
import { GlyphPairs } from './pairs.js';
import { ContrastiveLoss, embed, makeSiamese, trainStep, type Siamese } from './siamese.js';

const params = new URLSearchParams(page.location.search);
const num = (name: string, fallback: number) => (params.has(name) ? Number(params.get(name)) : fallback);
const config = {
  size: num('size', 20),
  batch: num('batch', 8),
  steps: num('steps', 0),
  hybridize: num('hybridize', 1) !== 0,
  lr: num('lr', 0.001),
  seed: num('seed', 1),
};

interface StepMetric { step: number; loss: number; ms: number; dispatches: number }

const state = {
  config,
  status: 'starting' as 'starting' | 'training' | 'paused' | 'done' | 'error',
  adapter: '',
  metrics: [] as StepMetric[],
  testPairs: [] as { label: number; distance: number | null }[],
  oneShot: null as null | { nearest: number; distances: number[] },
  error: null as string | null,
  done: null as Promise<void> | null,
  checks: null as ReturnType<typeof makeChecks> | null,
  /** The library, for the browser console: `__webgluon.webgluon.nd.ones([2])`. */
  webgluon,
};
(globalThis as unknown as { __webgluon: typeof state }).__webgluon = state;

const { HostArray, GlyphImages, GlyphDataset, DataLoader, toChw, GLYPH_HELD_OUT_ALPHABETS } = gluon.data;

// The glyphs are drawn at 105 pixels, as the files of the Node example, and shrunk to `size` by
// area averaging, as its transform does.
const glyphs = new GlyphImages({ size: 105, seed: config.seed });
const alphabets = glyphs.options.alphabets;
const trainSet = new GlyphDataset(glyphs, Array.from({ length: alphabets - GLYPH_HELD_OUT_ALPHABETS }, (_, a) => a));
const testSet = new GlyphDataset(glyphs, Array.from({ length: GLYPH_HELD_OUT_ALPHABETS }, (_, a) => alphabets - GLYPH_HELD_OUT_ALPHABETS + a));
const small = (image: InstanceType<typeof HostArray>) => toChw(image, config.size);
const flat = (image: InstanceType<typeof HostArray>) => small(image).data as Float32Array;

// Fixed test pairs from the held-out alphabets, and the one-shot row: drawer 0 of ten characters.
const testPairs = new GlyphPairs(testSet, 8, config.seed + 1);
const shown: ShownPair[] = Array.from({ length: 8 }, () => {
  const [a, b, label] = testPairs.get();
  return { a: flat(a), b: flat(b), label: label.data[0], distance: null };
});
const refAlphabet = alphabets - 1;
const references = Array.from({ length: 10 }, (_, c) => flat(glyphs.image(refAlphabet, c, 0)));

let model: Siamese | null = null;
let paused = false;

function setStatus(status: typeof state.status, text: string = status): void {
  state.status = status;
  const el = element('status');
  el.textContent = text;
  el.className = status === 'error' ? 'error' : '';
}

function showStats(): void {
  const m = state.metrics;
  const recent = m.slice(-10);
  const secondsPerStep = recent.reduce((s, x) => s + x.ms, 0) / Math.max(1, recent.length) / 1000;
  const last = m[m.length - 1];
  const lines = [
    `device        ${state.adapter}`,
    `mode          ${config.hybridize ? 'hybridized' : 'eager'}, ${config.size}×${config.size}, ${config.batch} pairs a step`,
    `step          ${m.length}${config.steps ? ` of ${config.steps}` : ''}`,
    `loss          ${last ? last.loss.toFixed(4) : '…'}`,
    `steps/s       ${recent.length ? (1 / secondsPerStep).toFixed(2) : '…'}  (last ${recent.length})`,
    `pairs/s       ${recent.length ? (config.batch / secondsPerStep).toFixed(1) : '…'}`,
    `dispatches    ${last ? last.dispatches : '…'} per step (runtime.stats())`,
  ];
  element('stats').textContent = lines.join('\n');
}

async function updatePairs(net: Siamese): Promise<void> {
  const n = shown.length;
  const both = new Float32Array(2 * n * config.size * config.size);
  shown.forEach((p, i) => {
    both.set(p.a, i * p.a.length);
    both.set(p.b, (n + i) * p.a.length);
  });
  const e = await embed(net, both, config.size);
  shown.forEach((p, i) => (p.distance = Math.hypot(e[2 * i] - e[2 * (n + i)], e[2 * i + 1] - e[2 * (n + i) + 1])));
  state.testPairs = shown.map((p) => ({ label: p.label, distance: p.distance }));
  drawPairs(canvas('pairs'), shown, config.size);
}

async function classifyDrawing(ink: Uint8Array, side: number): Promise<void> {
  if (!model) return;
  const drawn = flat(new HostArray(ink, [side, side, 1]));
  const all = new Float32Array((references.length + 1) * drawn.length);
  references.forEach((r, i) => all.set(r, i * drawn.length));
  all.set(drawn, references.length * drawn.length);
  const e = await embed(model, all, config.size);
  const k = references.length;
  const distances = references.map((_, i) => Math.hypot(e[2 * i] - e[2 * k], e[2 * i + 1] - e[2 * k + 1]));
  const nearest = distances.indexOf(Math.min(...distances));
  state.oneShot = { nearest, distances };
  drawReferences(canvas('refs'), references, config.size, nearest, distances);
  element('oneshot').textContent = `Nearest: character ${nearest + 1} (distance ${distances[nearest].toFixed(2)}).`;
}

async function train(): Promise<void> {
  const info = await runtime.init();
  state.adapter = info.kind === 'gpu' ? `${info.name} (subgroups of ${info.subgroupSize})` : `CPU: ${info.name}`;
  element('adapter').textContent = state.adapter;
  nd.random.seed(config.seed);
  model = makeSiamese(config.size, { hybridize: config.hybridize });
  const loss = new ContrastiveLoss(6);
  if (config.hybridize) loss.hybridize();
  const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: config.lr });
  const pairs = new GlyphPairs(trainSet, 64 * config.batch, config.seed).transform((a, b, label) => [small(a), small(b), label] as const);
  const loader = new DataLoader(pairs, { batchSize: config.batch, lastBatch: 'discard', seed: config.seed });
  setStatus('training');
  while (!config.steps || state.metrics.length < config.steps) {
    for await (const [a, b, label] of loader) {
      while (paused) await new Promise((r) => setTimeout(r, 100));
      const started = performance.now();
      runtime.resetStats();
      const { loss: value } = await trainStep(model, loss, trainer, a, b, label);
      const dispatches = runtime.stats().dispatches;
      for (const t of [a, b, label] as Tensor[]) t.dispose();
      state.metrics.push({ step: state.metrics.length + 1, loss: value, ms: performance.now() - started, dispatches });
      showStats();
      drawLossCurve(canvas('loss'), state.metrics.map((m) => m.loss));
      if (state.metrics.length % 5 === 1) await updatePairs(model);
      // Let the page paint and take mouse input between steps.
      await new Promise((r) => page.requestAnimationFrame(() => setTimeout(r, 0)));
      if (config.steps && state.metrics.length >= config.steps) break;
    }
  }
  await updatePairs(model);
  setStatus('done', `finished after ${state.metrics.length} steps`);
}

function testBatch() {
  const set = new GlyphPairs(trainSet, 8, 99);
  const items = Array.from({ length: 8 }, () => set.get());
  const cat = (k: 0 | 1) => {
    const out = new Float32Array(8 * config.size * config.size);
    items.forEach((it, i) => out.set(flat(it[k]), i * config.size * config.size));
    return out;
  };
  return { a: cat(0), b: cat(1), label: Float32Array.from(items, (it) => it[2].data[0]) };
}

const pad = makePad(canvas('pad'), () => void classifyDrawing(pad.ink(), canvas('pad').width).catch(fail));
element('clear').addEventListener('click', () => pad.clear());
element('pause').addEventListener('click', () => {
  paused = !paused;
  element('pause').textContent = paused ? 'Resume' : 'Pause';
  if (state.status === 'training' || state.status === 'paused') setStatus(paused ? 'paused' : 'training');
});
drawReferences(canvas('refs'), references, config.size, null, null);
drawPairs(canvas('pairs'), shown, config.size);

function fail(e: unknown): void {
  state.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  setStatus('error', `error: ${e instanceof Error ? e.message : String(e)}`);
  console.error(e);
}

state.checks = makeChecks(config.size, testBatch, () => model);
state.done = train().catch(fail);
