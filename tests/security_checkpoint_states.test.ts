// The files a checkpoint names beyond the parameters — the trainer state file — and its random
// state are read back from disk, so they are held to the same rules: only a bare file name in
// --out (no `../`, no absolute path, no symlink out), never loaded or deleted elsewhere; a
// tampered random state or a trainer file that does not fit is refused with the checkpoint named.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinDataset } from '../src/data/glyphs.js';
import { train, type TrainOptions } from '../examples/siamese/train.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-checkpoint-states-'));
const first = join(root, 'first');
const out = join(root, 'out');
const elsewhere = join(root, 'elsewhere');
const victim = join(elsewhere, 'victim.states');
let victimBytes: Buffer;
let data: { trainDirs: string[]; testDirs: string[] };
let good: Record<string, unknown>;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 20;
function options(o: Partial<TrainOptions> = {}): TrainOptions {
  return {
    trainDirs: data.trainDirs, testDirs: data.testDirs, epochs: 2, stepsPerEpoch: 1, batchSize: 2, imageSize: SIZE,
    hybridize: false, seed: 3, out, resume: true, learningRate: 0.001, numWorkers: 0, quiet: true, ...o,
  };
}

beforeAll(async () => {
  data = await builtinDataset(join(root, 'glyphs'), { alphabets: 3, charactersPerAlphabet: 4, drawers: 2 });
  // A real first epoch: its checkpoint files are copied into `out` before each case.
  await train(options({ epochs: 1, out: first, resume: false }));
  good = JSON.parse(readFileSync(join(first, 'checkpoint.json'), 'utf8')) as Record<string, unknown>;
  expect(good).toMatchObject({ epoch: 1, params: 'checkpoint-epoch1.safetensors', trainer: 'checkpoint-epoch1.states' });
  mkdirSync(elsewhere, { recursive: true });
  // A real trainer state file of this network: without the check, resume would load it, then delete it.
  copyFileSync(join(first, 'checkpoint-epoch1.states'), victim);
  victimBytes = readFileSync(victim);
});

/** `out` holds the first epoch's checkpoint, with checkpoint.json changed by `change`. */
function craft(change: Record<string, unknown>): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of ['checkpoint-epoch1.safetensors', 'checkpoint-epoch1.states']) copyFileSync(join(first, f), join(out, f));
  writeFileSync(join(out, 'checkpoint.json'), JSON.stringify({ ...good, ...change }));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function expectVictimUntouched(): void {
  expect(readFileSync(victim).equals(victimBytes)).toBe(true);
  expect(readdirSync(elsewhere)).toEqual(['victim.states']);
}

describe('resume with a crafted trainer state file name', () => {
  it.each([
    ['a relative path out of --out', '../elsewhere/victim.states'],
    ['an absolute path', () => victim],
  ])('refuses %s, naming it as the trainer state file', async (_what, name) => {
    const trainer = typeof name === 'function' ? name() : name;
    craft({ trainer });
    await expect(train(options())).rejects.toThrow(new RegExp(
      `cannot resume from ${escape(join(out, 'checkpoint.json'))}: it names the trainer state file ${escape(JSON.stringify(trainer))}, ` +
      `which is not a bare file name in that folder; a checkpoint may only name a file in its folder ${escape(out)}`));
    expectVictimUntouched();
  });

  it('refuses a bare name that is a symlink leading out of --out', async () => {
    craft({ trainer: 'link.states' });
    symlinkSync(victim, join(out, 'link.states'));
    await expect(train(options())).rejects.toThrow(new RegExp(
      `it names the trainer state file "link\\.states", which leads out of that folder \\(to ${escape(victim)}\\)`));
    expectVictimUntouched();
  });

  it('refuses a trainer state file in --out that is not one', async () => {
    craft({ trainer: 'checkpoint-epoch1.safetensors' });
    await expect(train(options())).rejects.toThrow(/cannot load trainer states from .*checkpoint-epoch1\.safetensors': its format is 'webgluon-params\/1'/);
  });

  it('refuses a tampered random state, naming the checkpoint', async () => {
    craft({ rng: { ...(good.rng as object), pairs: -1 } });
    await expect(train(options())).rejects.toThrow(new RegExp(
      `cannot resume from ${escape(join(out, 'checkpoint.json'))}: its rng.pairs must be a 32-bit unsigned integer`));
    craft({ rng: { ...(good.rng as object), loader: { random: 1, carried: [0, 1, 2] } } });
    await expect(train(options())).rejects.toThrow(/cannot resume from .*checkpoint\.json: the sampler state's carried indices must be fewer than the batch size 2/);
  });

  it('refuses another --seed: the random state belongs to the checkpoint\'s', async () => {
    craft({});
    await expect(train(options({ seed: 4 }))).rejects.toThrow(/it was made with seed 3, this run has 4; use the same settings, or another --out/);
  });

  it('resumes from files in --out, and replaces exactly the previous checkpoint\'s two files', async () => {
    craft({});
    const result = await train(options());
    expect(result.metrics.map((m) => m.step)).toEqual([1, 2]);
    const saved = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ epoch: 2, params: 'checkpoint-epoch2.safetensors', trainer: 'checkpoint-epoch2.states' });
    expect(existsSync(join(out, 'checkpoint-epoch1.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint-epoch1.states'))).toBe(false);
    expect(readdirSync(out).filter((f) => f.startsWith('checkpoint')).sort())
      .toEqual(['checkpoint-epoch2.safetensors', 'checkpoint-epoch2.states', 'checkpoint.json']);
    expectVictimUntouched();
  });
});
