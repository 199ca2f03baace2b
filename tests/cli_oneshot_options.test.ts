// The command-line flags of issue #18: repeatable --train-dir / --alphabets / --params, the
// training options with their choices checked, and eval-oneshot's report with the MHD baseline.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main, parseCommand, trainingOptions, UsageError } from '../examples/siamese/cli.js';
import { generateGlyphDataset } from '../src/data/glyphs.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-cli18-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('issue #18 flags', () => {
  it('parses the training options; absent flags keep the tutorial run', async () => {
    const glyphs = await generateGlyphDataset({ root: join(root, 'glyphs'), alphabets: 2, charactersPerAlphabet: 3, drawers: 2 });
    const a = join(glyphs, 'Alphabet_01');
    const b = join(glyphs, 'Alphabet_02');
    const parsed = parseCommand('train', ['--train-dir', a, '--train-dir', b, '--tower', 'deep', '--embedding-dim', '64', '--loss', 'episode',
      '--augment', '--negatives', 'same-alphabet', '--lr-schedule', 'cosine', '--warmup-steps', '10', '--eval-runs', 'runs', '--patience', '3', '--keep-checkpoints']);
    const opts = await trainingOptions(parsed.flags);
    expect(opts.trainDirs).toEqual([a, b]);
    expect(opts).toMatchObject({ tower: 'deep', embeddingDim: 64, loss: 'episode', augment: true, negatives: 'same-alphabet', lrSchedule: 'cosine', warmupSteps: 10, patience: 3, keepCheckpoints: true });
    const plain = await trainingOptions(parseCommand('train', ['--train-dir', a]).flags);
    for (const k of ['tower', 'embeddingDim', 'loss', 'augment', 'negatives', 'lrSchedule', 'evalRuns', 'patience']) expect(plain).not.toHaveProperty(k);
    expect(() => parseCommand('train', ['--tower', 'wide'])).toThrow(UsageError);
    expect(() => parseCommand('train', ['--loss', 'triplet'])).toThrow(/--loss must be one of contrastive, episode, got 'triplet'/);
    expect(() => parseCommand('train', ['--embedding-dim', '0'])).toThrow(/positive integer/);
  });

  it('make-oneshot-runs takes several --alphabets and --ways; eval-oneshot prints the MHD baseline', async () => {
    const glyphs = await generateGlyphDataset({ root: join(root, 'glyphs2'), alphabets: 2, charactersPerAlphabet: 6, drawers: 2 });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const runs = join(root, 'runs');
      await main(['make-oneshot-runs', '--alphabets', join(glyphs, 'Alphabet_01'), '--alphabets', join(glyphs, 'Alphabet_02'), '--ways', '5', '--runs', '2', '--out', runs]);
      const marker = JSON.parse(readFileSync(join(runs, '.complete'), 'utf8'));
      expect(marker.alphabetDirs).toHaveLength(2);
      expect(marker.ways).toBe(5);
      await expect(main(['eval-oneshot', '--runs', runs, '--params', join(root, 'none.safetensors')])).rejects.toThrow();
    } finally {
      log.mockRestore();
    }
  });
});
