// The browser build (src/browser.ts) in headless Chromium: the demo page (examples/browser) is
// bundled with esbuild's browser platform, which fails on any Node module the page would load,
// served on 127.0.0.1 and trained for 20 steps on WebGPU (SwiftShader). In the page, eager and
// hybridized agree; parameters move between Node and the page as safetensors bytes, both ways,
// with the same embeddings. Node-side: the in-memory glyphs equal glyphs.ts's files, and the
// byte-level parameter functions read and write what the file functions do.
// Skipped with a message when there is no Chromium (scripts/setup.sh installs it).
// WEBGLUON_SCREENSHOT=1 also writes docs/browser-demo.png (after 60 steps rather than 20).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Siamese } from '../examples/siamese/model.js';
import { GlyphImages } from '../src/data/glyph_images.js';
import { generateGlyphDataset } from '../src/data/glyphs.js';
import { readPng } from '../src/data/png.js';
import { toChw } from '../src/data/resample.js';
import { autograd, init, nd, type Tensor } from '../src/index.js';
import { loadParametersFromBytes, saveParametersToBytes } from '../src/nn/param_bytes.js';

const ROOT = resolve(__dirname, '..');
const CHROMIUM = process.env.WEBGLUON_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`tests/browser.test.ts: skipping the browser tests: no Chromium at ${CHROMIUM} (bash scripts/setup.sh installs it)`);

// Small enough that SwiftShader, a CPU implementation of Vulkan, trains a step in about a second.
const SIZE = 20;
const BATCH = 8;
// WEBGLUON_SCREENSHOT=1 trains longer, for a picture where the distances have moved.
const SCREENSHOT = process.env.WEBGLUON_SCREENSHOT === '1';
const STEPS = SCREENSHOT ? 60 : 20;
const scratch = mkdtempSync(join(tmpdir(), 'webgluon-browser-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The largest |a - b| / (1e-6 · max|b| + |b|): a relative error with a floor for values near zero. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-6 * scale + Math.abs(b[i])));
  return worst;
}

/** Six held-out glyphs as the page prepares them: drawn at 105, shrunk to SIZE; flat N×S×S. */
function probeImages(): number[] {
  const glyphs = new GlyphImages({ size: 105 });
  return Array.from({ length: 6 }, (_, c) => [...toChw(glyphs.image(5, c, 1), SIZE).data]).flat();
}

async function embedInNode(model: Siamese, images: number[]): Promise<Float32Array> {
  const x = nd.array(Float32Array.from(images), { shape: [images.length / (SIZE * SIZE), 1, SIZE, SIZE] });
  const out = autograd.predictMode(() => model.cnn.forward(x) as Tensor);
  return (await out.data()) as Float32Array;
}

function nodeSiamese(): Siamese {
  const model = new Siamese();
  model.initialize(new init.Xavier());
  const probe = nd.zeros([1, 1, SIZE, SIZE]);
  autograd.pause(() => model.forward(probe, probe));
  return model;
}

describe.skipIf(!hasChromium)('the browser build in headless Chromium', () => {
  type Page = import('playwright-core').Page;
  type Browser = import('playwright-core').Browser;
  let browser: Browser | undefined;
  let page: Page;
  let closeServer: (() => Promise<void>) | undefined;
  let built: import('../examples/browser/build.mjs').BuildResult;
  const errors: string[] = [];
  const warnings: string[] = [];
  const started = Date.now();

  beforeAll(async () => {
    const { buildDemo } = await import('../examples/browser/build.mjs');
    const { serve } = await import('../examples/browser/serve.mjs');
    built = await buildDemo({ outdir: join(scratch, 'demo') });
    const server = await serve(join(scratch, 'demo'));
    closeServer = server.close;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 780 } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
      if (m.type() === 'warning') warnings.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    await page.goto(`${server.url}?size=${SIZE}&batch=${BATCH}&steps=${STEPS}&seed=1`);
    await page.waitForFunction(() => {
      const s = (globalThis as unknown as { __webgluon?: { status: string } }).__webgluon?.status;
      return s === 'done' || s === 'error';
    }, null, { timeout: 150_000, polling: 250 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await closeServer?.();
  });

  const state = () => page.evaluate(() => {
    const s = (globalThis as unknown as { __webgluon: { status: string; error: string | null; adapter: string; metrics: { loss: number; ms: number; dispatches: number }[] } }).__webgluon;
    return { status: s.status, error: s.error, adapter: s.adapter, metrics: s.metrics };
  });

  it('bundles with no Node module in what the page loads', async () => {
    // buildDemo() above already failed on any; here: what stands in for the shared layers' Node code.
    console.log(`browser bundle: ${(built.staticBytes / 1024).toFixed(0)} KiB loaded by the page, ${(built.bytes / 1024).toFixed(0)} KiB in all; ` +
      `Node modules only in chunks loaded by Node-only calls: ${built.lazyNode.join(', ') || 'none'}`);
    const { buildBrowser, PENDING } = await import('../examples/browser/build.mjs');
    const strict = await buildBrowser({ entry: 'src/browser.ts', outdir: join(scratch, 'strict'), strict: true }).then(() => null, (e: Error) => e.message);
    if (strict === null) {
      expect(Object.keys(PENDING), 'src/browser.ts builds without stand-ins now: empty PENDING in examples/browser/build.mjs').toEqual([]);
    } else {
      console.log(`stand-ins until issue #14's edits land: ${built.standIns.join('; ')}`);
      expect(built.unusedPending, 'these files no longer need their PENDING entry in examples/browser/build.mjs').toEqual([]);
    }
  });

  it(`trains ${STEPS} hybridized steps with no console errors, and the loss falls`, async () => {
    const s = await state();
    expect(s.error).toBeNull();
    expect(s.status).toBe('done');
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(s.adapter).not.toMatch(/^CPU/);
    expect(s.metrics.length).toBe(STEPS);
    const mean = (xs: { loss: number }[]) => xs.reduce((a, m) => a + m.loss, 0) / xs.length;
    const first = mean(s.metrics.slice(0, 5));
    const last = mean(s.metrics.slice(-5));
    const later = s.metrics.slice(2);
    const perSecond = later.length / later.reduce((a, m) => a + m.ms, 0) * 1000;
    console.log(`page (${s.adapter}): loss ${first.toFixed(3)} over the first 5 steps → ${last.toFixed(3)} over the last 5; ` +
      `${perSecond.toFixed(2)} steps/s after the first two (${SIZE}×${SIZE}, ${BATCH} pairs), ${s.metrics[s.metrics.length - 1].dispatches} dispatches per step`);
    expect(last).toBeLessThan(0.8 * first);
    expect(Math.max(...s.metrics.slice(2).map((m) => m.dispatches))).toBeLessThan(60);
  });

  it('eager and hybridized agree in the page: contrastive loss and one Siamese step', async () => {
    type Result = { errors: Record<string, number>; dispatches: { eager: number; hybridized: number } };
    const result = await page.evaluate(() => (globalThis as unknown as { __webgluon: { checks: { eagerVsHybrid(): Promise<Result> } } }).__webgluon.checks.eagerVsHybrid());
    console.log(`eager vs hybridized in the page, worst relative error: ${Object.entries(result.errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}; ` +
      `dispatches of a training step: ${result.dispatches.eager} eager, ${result.dispatches.hybridized} hybridized`);
    // Relative to each element, with a floor of 1e-3 of the tensor's largest value (a sum that cancels may round differently).
    for (const [what, err] of Object.entries(result.errors)) expect(err, what).toBeLessThan(1e-4);
    // The hybridized model really ran compiled (fused kernels, fewer dispatches), not eagerly.
    expect(result.dispatches.hybridized).toBeLessThan(0.6 * result.dispatches.eager);
    expect(warnings.filter((w) => /ran eagerly/.test(w))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a parameter file saved in Node loads in the page with the same embeddings, and back', async () => {
    const images = probeImages();
    nd.random.seed(21);
    const model = nodeSiamese();
    const file = join(scratch, 'node.safetensors');
    await model.saveParameters(file);
    const mine = await embedInNode(model, images);
    const theirs = await page.evaluate(([b64, imgs]) => (globalThis as unknown as { __webgluon: { checks: { embedWith(p: string, i: number[]): Promise<number[]> } } })
      .__webgluon.checks.embedWith(b64, imgs), [readFileSync(file).toString('base64'), images] as const);
    const there = relativeError(theirs, mine);

    const trained = await page.evaluate((imgs) => (globalThis as unknown as { __webgluon: { checks: { trainedParams(i: number[]): Promise<{ params: string; embeddings: number[] }> } } })
      .__webgluon.checks.trainedParams(imgs), images);
    const back = join(scratch, 'page.safetensors');
    writeFileSync(back, Buffer.from(trained.params, 'base64'));
    const loaded = nodeSiamese();
    await loaded.loadParameters(back);
    const backErr = relativeError(await embedInNode(loaded, images), trained.embeddings);
    console.log(`embeddings, Node → page: relative error ${there.toExponential(1)}; page → Node: ${backErr.toExponential(1)}`);
    expect(there).toBeLessThan(1e-4);
    expect(backErr).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
  });

  it('classifies a glyph drawn with the mouse against the shown characters', async () => {
    const pad = (await page.locator('#pad').boundingBox())!;
    const at = (x: number, y: number) => [pad.x + x * pad.width, pad.y + y * pad.height] as const;
    await page.mouse.move(...at(0.25, 0.2));
    await page.mouse.down();
    for (const [x, y] of [[0.3, 0.5], [0.3, 0.8], [0.7, 0.8], [0.75, 0.3]]) await page.mouse.move(...at(x, y), { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction(() => (globalThis as unknown as { __webgluon: { oneShot: unknown } }).__webgluon.oneShot !== null, null, { timeout: 20_000 });
    const shot = await page.evaluate(() => (globalThis as unknown as { __webgluon: { oneShot: { nearest: number; distances: number[] } } }).__webgluon.oneShot);
    expect(shot.distances).toHaveLength(10);
    expect(shot.nearest).toBe(shot.distances.indexOf(Math.min(...shot.distances)));
    expect(errors).toEqual([]);
    if (SCREENSHOT) {
      await page.screenshot({ path: join(ROOT, 'docs/browser-demo.png') });
      console.log('wrote docs/browser-demo.png');
    }
    console.log(`browser tests took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
});

describe('browser-safe parts, in Node', () => {
  it('src/browser.ts exports the names src/index.ts does, and gluon.data its browser-safe part', async () => {
    const node = await import('../src/index.js');
    const browser = await import('../src/browser.js');
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
    const { data: nodeData, ...nodeGluon } = node.gluon;
    const { data: browserData, ...browserGluon } = browser.gluon;
    expect(Object.keys(browserGluon).sort()).toEqual(Object.keys(nodeGluon).sort());
    const nodeOnly = ['ImageFolderDataset', 'vision', 'readPng', 'decodePng', 'encodePng', 'DEFAULT_IMAGE_LIMITS', 'builtinDataset',
      'generateGlyphDataset', 'makeOneshotRuns', 'readOneshotRuns', 'plotLossCurve', 'plotImagePairs'];
    const shared = Object.keys(nodeData).filter((k) => !nodeOnly.includes(k));
    expect(Object.keys(browserData)).toEqual(expect.arrayContaining(shared));
    for (const k of shared) expect((browserData as Record<string, unknown>)[k], k).toBe((nodeData as Record<string, unknown>)[k]);
  });

  it('the glyphs drawn in memory are the pixels of the PNG files glyphs.ts writes', async () => {
    const options = { alphabets: 2, charactersPerAlphabet: 2, drawers: 3, size: 32, seed: 4 };
    const root = await generateGlyphDataset({ root: join(scratch, 'glyphs'), ...options });
    const glyphs = new GlyphImages(options);
    let compared = 0;
    for (let a = 0; a < options.alphabets; a++) {
      for (let c = 0; c < options.charactersPerAlphabet; c++) {
        const dir = join(root, `Alphabet_0${a + 1}`, `character0${c + 1}`);
        const files = readdirSync(dir).sort();
        expect(files).toHaveLength(options.drawers);
        for (let d = 0; d < options.drawers; d++) {
          const file = await readPng(join(dir, files[d]), 0);
          const mine = glyphs.image(a, c, d);
          expect(mine.shape).toEqual(file.shape);
          expect(Buffer.from(mine.data as Uint8Array).equals(Buffer.from(file.data as Uint8Array)), `${dir}/${files[d]}`).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBe(12);
  });

  it('parameters as bytes: what saveParameters(path) writes loads from bytes, and bytes load as a file', async () => {
    nd.random.seed(8);
    const a = nodeSiamese();
    const file = join(scratch, 'a.safetensors');
    await a.saveParameters(file);
    const b = nodeSiamese();
    loadParametersFromBytes(b, new Uint8Array(readFileSync(file)));
    const images = probeImages();
    expect(relativeError(await embedInNode(b, images), await embedInNode(a, images))).toBe(0);

    const bytes = await saveParametersToBytes(a);
    writeFileSync(join(scratch, 'b.safetensors'), bytes);
    const c = nodeSiamese();
    await c.loadParameters(join(scratch, 'b.safetensors'));
    expect(relativeError(await embedInNode(c, images), await embedInNode(a, images))).toBe(0);

    // A file of another model is refused, and leaves the model as it was.
    const before = await embedInNode(c, images);
    const truncated = bytes.subarray(0, bytes.length - 4);
    expect(() => loadParametersFromBytes(c, truncated)).toThrow(/cannot load parameters from bytes: .*the model was not changed/);
    expect(relativeError(await embedInNode(c, images), before)).toBe(0);
  });
});
