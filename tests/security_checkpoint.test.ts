// A crafted checkpoint.json must not reach outside the run's folder: resume refuses a parameter
// file named by `../`, an absolute path or a symlink out of `--out`, and never loads or deletes it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinDataset } from '../src/data/glyphs.js';
import { init, nd } from '../src/index.js';
import { Siamese } from '../examples/siamese/model.js';
import { train, type TrainOptions } from '../examples/siamese/train.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-checkpoint-'));
const out = join(root, 'out');
const elsewhere = join(root, 'elsewhere');
// A real parameter file of the network: without the check, resume would load it, then delete it.
const victim = join(elsewhere, 'victim.safetensors');
let victimBytes: Buffer;
let data: { trainDirs: string[]; testDirs: string[] };
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 20;
beforeAll(async () => {
  data = await builtinDataset(join(root, 'glyphs'), { alphabets: 3, charactersPerAlphabet: 4, drawers: 2 });
  mkdirSync(out, { recursive: true });
  mkdirSync(elsewhere, { recursive: true });
  nd.random.seed(1);
  const model = new Siamese();
  model.initialize(new init.Xavier());
  const probe = nd.zeros([1, 1, SIZE, SIZE]);
  model.forward(probe, probe);
  await model.saveParameters(victim);
  victimBytes = readFileSync(victim);
});

function options(): TrainOptions {
  return {
    trainDirs: data.trainDirs, testDirs: data.testDirs, epochs: 2, stepsPerEpoch: 1, batchSize: 2, imageSize: SIZE,
    hybridize: false, seed: 3, out, resume: true, learningRate: 0.001, numWorkers: 0, quiet: true,
  };
}

/** Writes a checkpoint after epoch 1 whose `params` is `params`, as an attacker could. */
function craftCheckpoint(params: string): void {
  const metrics = [{ step: 1, epoch: 0, loss: 1, seconds: 0.1, dispatches: 1 }];
  writeFileSync(join(out, 'checkpoint.json'), JSON.stringify({ epoch: 1, metrics, settings: { imageSize: SIZE, batchSize: 2, stepsPerEpoch: 1 }, params }));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function expectVictimUntouched(): void {
  expect(existsSync(victim)).toBe(true);
  expect(readFileSync(victim).equals(victimBytes)).toBe(true);
  expect(readdirSync(elsewhere)).toEqual(['victim.safetensors']);
}

describe('resume with a crafted checkpoint.json', () => {
  it.each([
    ['a relative path out of --out', '../elsewhere/victim.safetensors', 'which is not a bare file name in that folder'],
    ['an absolute path', victim, 'which is not a bare file name in that folder'],
    ['a path with a separator', 'sub/../../elsewhere/victim.safetensors', 'which is not a bare file name in that folder'],
  ])('refuses %s, naming the path and the folder, and leaves the file alone', async (_what, params, why) => {
    craftCheckpoint(params);
    await expect(train(options())).rejects.toThrow(new RegExp(
      `cannot resume from ${escape(join(out, 'checkpoint.json'))}: it names the parameter file ${escape(JSON.stringify(params))}, ` +
      `${escape(why)}; a checkpoint may only name a file in its folder ${escape(out)}`));
    expectVictimUntouched();
  });

  it('refuses a bare name that is a symlink leading out of --out', async () => {
    const link = join(out, 'link.safetensors');
    symlinkSync(victim, link);
    craftCheckpoint('link.safetensors');
    await expect(train(options())).rejects.toThrow(new RegExp(
      `it names the parameter file "link\\.safetensors", which leads out of that folder \\(to ${escape(victim)}\\)`));
    expectVictimUntouched();
    rmSync(link);
  });

  it('still resumes from a parameter file in --out, and replaces only that one', async () => {
    copyFileSync(victim, join(out, 'checkpoint-epoch1.safetensors'));
    craftCheckpoint('checkpoint-epoch1.safetensors');
    const result = await train(options());
    expect(result.metrics.map((m) => m.step)).toEqual([1, 2]);
    const saved = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { epoch: number; params: string };
    expect(saved).toMatchObject({ epoch: 2, params: 'checkpoint-epoch2.safetensors' });
    expect(existsSync(join(out, 'checkpoint-epoch1.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint-epoch2.safetensors'))).toBe(true);
    expectVictimUntouched();
  });
});

describe('a diverged run', () => {
  it('writes no checkpoint with NaN or Inf weights over the last good one', async () => {
    const good = join(out, 'checkpoint-epoch1.safetensors');
    rmSync(join(out, 'checkpoint-epoch2.safetensors'), { force: true });
    copyFileSync(victim, good);
    craftCheckpoint('checkpoint-epoch1.safetensors');
    const before = readFileSync(join(out, 'checkpoint.json'), 'utf8');
    // Adam's first step moves every weight by about the learning rate: 1e39 is Inf in float32.
    await expect(train({ ...options(), learningRate: 1e39 })).rejects.toThrow(
      /training diverged: at epoch 2 .* hold NaN or Inf, so no checkpoint was written \(the last good one, checkpoint-epoch1\.safetensors, is kept\)/);
    expect(readFileSync(join(out, 'checkpoint.json'), 'utf8')).toBe(before);
    expect(readFileSync(good)).toEqual(victimBytes);
    expect(existsSync(join(out, 'checkpoint-epoch2.safetensors'))).toBe(false);
  });
});
