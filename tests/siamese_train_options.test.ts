// The Siamese example's training options of issue #18 on tiny glyph data: a deep tower with a
// wider embedding, the episode loss, augmentation, same-alphabet negatives, a cosine schedule
// with warm-up, validation runs after every epoch with best.safetensors, kept checkpoints,
// resuming with the validation history, and early stopping.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinDataset } from '../src/data/glyphs.js';
import { makeOneshotRuns } from '../src/data/oneshot_runs.js';
import { makeScheduler, train, type TrainOptions } from '../examples/siamese/train.js';
import { loadSiamese, oneshotReport } from '../examples/siamese/evaluate.js';

const dir = mkdtempSync(join(tmpdir(), 'siamese-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let base: TrainOptions;
let runs = '';
beforeAll(async () => {
  const data = await builtinDataset(join(dir, 'glyphs'), { alphabets: 3, charactersPerAlphabet: 12, drawers: 3 });
  runs = await makeOneshotRuns({ alphabetDirs: data.testDirs, outDir: join(dir, 'runs'), runs: 2, ways: 5, seed: 1 });
  base = {
    trainDirs: data.trainDirs, testDirs: data.testDirs, epochs: 2, stepsPerEpoch: 2, batchSize: 4, imageSize: 16,
    hybridize: true, seed: 2, out: join(dir, 'out'), resume: false, learningRate: 0.001, numWorkers: 0, quiet: true,
  };
});

describe('siamese train options', () => {
  it('schedules: cosine and factor with warm-up, constant by default', () => {
    expect(makeScheduler({ ...base, epochs: 2, stepsPerEpoch: 5 })).toBeNull();
    const cos = makeScheduler({ ...base, epochs: 2, stepsPerEpoch: 5, lrSchedule: 'cosine', warmupSteps: 2 })!;
    expect([0, 1, 2, 10].map((n) => +cos.lr(n).toFixed(8))).toEqual([0, 0.0005, 0.001, 0]);
    const factor = makeScheduler({ ...base, epochs: 2, stepsPerEpoch: 5, lrSchedule: 'factor', lrFactor: 0.1 })!;
    expect([1, 5, 6].map((n) => +factor.lr(n).toFixed(8))).toEqual([0.001, 0.001, 0.0001]);
  });

  it('deep tower, episode loss, augmentation, validation, best and kept checkpoints, then resume', async () => {
    const opts: TrainOptions = {
      ...base, tower: 'deep', embeddingDim: 8, loss: 'episode', augment: true, negatives: 'same-alphabet',
      lrSchedule: 'cosine', warmupSteps: 1, evalRuns: runs, keepCheckpoints: true, epochs: 1,
    };
    const first = await train(opts);
    expect(first.metrics.every((m) => Number.isFinite(m.loss))).toBe(true);
    expect(first.validation.map((v) => v.epoch)).toEqual([1]);
    expect(first.bestEpoch).toBe(1);
    const resumed = await train({ ...opts, epochs: 2, resume: true });
    expect(resumed.validation.map((v) => v.epoch)).toEqual([1, 2]);
    expect(resumed.metrics).toHaveLength(4);
    for (const f of ['best.safetensors', 'checkpoint-epoch1.safetensors', 'checkpoint-epoch2.safetensors', 'validation-curve.png']) {
      expect(existsSync(join(opts.out, f)), f).toBe(true);
    }
    const metrics = JSON.parse(readFileSync(join(opts.out, 'metrics.json'), 'utf8'));
    expect(metrics.validation).toHaveLength(2);
    expect(metrics.settings.tower).toBe('deep');
    expect(PNG.sync.read(readFileSync(join(opts.out, 'validation-curve.png'))).width).toBe(800);
    // The evaluator rebuilds the deep tower from the parameter file's metadata.
    const model = await loadSiamese(join(opts.out, 'best.safetensors'), 16);
    expect(model.tower).toBe('deep');
    expect(model.embeddingDim).toBe(8);
    const report = await oneshotReport(runs, [{ path: resumed.bestPath!, imageSize: 16 }, { path: resumed.paramsPath, imageSize: 16 }], { mhd: false });
    expect(report.model!.perSeed).toHaveLength(2);
    expect(report.model!.n).toBe(2 * 2 * 5);
  }, 480_000);

  it('stops early when validation does not improve for `patience` epochs', async () => {
    // A learning rate of 0 leaves the tutorial network as initialized: epoch 1 stays the best.
    const result = await train({ ...base, out: join(dir, 'early'), learningRate: 0, epochs: 5, stepsPerEpoch: 1, evalRuns: runs, patience: 1 });
    expect(result.stoppedEarly).toBe(true);
    expect(result.validation.map((v) => v.epoch)).toEqual([1, 2]);
    expect(result.bestEpoch).toBe(1);
    expect(existsSync(join(dir, 'early', 'checkpoint-epoch1.safetensors'))).toBe(false);
  }, 300_000);
});
