// The Siamese example's training job on a tiny built-in data set: it writes the parameters,
// metrics.json, a checkpoint and the two pictures, which must be valid PNGs of the expected size.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinDataset } from '../src/data/glyphs.js';
import { train } from '../examples/siamese/train.js';
import { evalOneshot } from '../examples/siamese/evaluate.js';
import { makeOneshotRuns } from '../src/data/oneshot_runs.js';

const dir = mkdtempSync(join(tmpdir(), 'siamese-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/siamese train', () => {
  it('trains, then writes parameters, metrics, checkpoint and pictures', async () => {
    const data = await builtinDataset(join(dir, 'glyphs'), { alphabets: 3, charactersPerAlphabet: 20, drawers: 4 });
    const out = join(dir, 'out');
    const result = await train({
      trainDirs: data.trainDirs, testDirs: data.testDirs, epochs: 1, stepsPerEpoch: 3, batchSize: 4, imageSize: 20,
      hybridize: true, seed: 2, out, resume: false, learningRate: 0.001, numWorkers: 0, quiet: true,
    });
    expect(result.metrics).toHaveLength(3);
    expect(result.metrics.every((m) => Number.isFinite(m.loss) && m.dispatches > 0)).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.steps).toHaveLength(3);
    expect(metrics.settings.imageSize).toBe(20);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')).epoch).toBe(1);
    const curve = PNG.sync.read(readFileSync(join(out, 'loss-curve.png')));
    expect([curve.width, curve.height]).toEqual([800, 500]);
    const pairs = PNG.sync.read(readFileSync(join(out, 'pairs.png')));
    expect(pairs.width).toBeGreaterThan(100);
    expect(pairs.height).toBeGreaterThan(100);

    const runs = join(dir, 'runs');
    await makeOneshotRuns({ alphabetDirs: data.testDirs, outDir: runs, runs: 2, seed: 1 });
    const oneshot = await evalOneshot(result.model, runs, 20);
    expect(oneshot.runs).toHaveLength(2);
    expect(oneshot.meanAccuracy).toBeGreaterThanOrEqual(0);
    expect(oneshot.meanAccuracy).toBeLessThanOrEqual(1);
  });
});
