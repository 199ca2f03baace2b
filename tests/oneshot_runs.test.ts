// One-shot runs: written in Lake's format, read back, answer keys that match the images' real classes,
// classes drawn from one alphabet, determinism, tolerant parsing, and errors that name the file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGlyphDataset } from '../src/data/glyphs.js';
import { makeOneshotRuns, readOneshotRuns } from '../src/data/oneshot_runs.js';

const scratch = mkdtempSync(join(tmpdir(), 'webgluon-oneshot-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let alphabetDirs: string[] = [];
/** Image bytes (base64) → the character folders that hold a file with exactly those bytes. */
const ownerOf = new Map<string, Set<string>>();

beforeAll(async () => {
  const root = await generateGlyphDataset({ root: join(scratch, 'glyphs'), alphabets: 3, charactersPerAlphabet: 20, drawers: 4 });
  alphabetDirs = ['Alphabet_02', 'Alphabet_03'].map((a) => join(root, a));
  for (const alphabet of alphabetDirs) {
    for (const character of readdirSync(alphabet)) {
      for (const file of readdirSync(join(alphabet, character))) {
        const key = readFileSync(join(alphabet, character, file)).toString('base64');
        ownerOf.set(key, (ownerOf.get(key) ?? new Set()).add(join(alphabet, character)));
      }
    }
  }
});

function characterOf(path: string): string {
  const owners = ownerOf.get(readFileSync(path).toString('base64'));
  expect(owners?.size, `${path} is a copy of exactly one character's image`).toBe(1);
  return [...owners!][0]!;
}

describe('makeOneshotRuns / readOneshotRuns', () => {
  it("writes 20 runs of 20 ways in Lake's layout, with an answer key consistent with the images", async () => {
    const outDir = await makeOneshotRuns({ alphabetDirs, outDir: join(scratch, 'runs'), seed: 3 });
    expect(readdirSync(outDir).filter((n) => n.startsWith('run'))).toHaveLength(20);
    const labels = readFileSync(join(outDir, 'run07', 'class_labels.txt'), 'utf8').trim().split('\n');
    expect(labels).toHaveLength(20);
    for (const line of labels) expect(line).toMatch(/^run07\/test\/item\d\d\.png run07\/training\/class\d\d\.png$/);

    const runs = await readOneshotRuns(outDir);
    expect(runs.map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `run${String(i + 1).padStart(2, '0')}`));
    for (const run of runs) {
      expect(run.training.map((p) => basename(p))).toEqual(Array.from({ length: 20 }, (_, i) => `class${String(i + 1).padStart(2, '0')}.png`));
      expect(run.test).toHaveLength(20);
      expect([...run.answers].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const classes = run.training.map(characterOf);
      expect(new Set(classes).size).toBe(20);
      // All classes of a run come from one alphabet.
      expect(new Set(classes.map((c) => dirname(c))).size).toBe(1);
      run.test.forEach((item, k) => {
        expect(characterOf(item)).toBe(classes[run.answers[k]!]);
        // The test item is another drawer's image than the training one.
        expect(readFileSync(item).equals(readFileSync(run.training[run.answers[k]!]!))).toBe(false);
      });
    }
    // The runs are not all the same task.
    expect(new Set(runs.map((r) => r.answers.join(','))).size).toBeGreaterThan(15);
    expect(new Set(runs.map((r) => dirname(characterOf(r.training[0]!)))).size).toBe(2);
  });

  it('is deterministic from the seed and reuses a complete output folder', async () => {
    const a = await makeOneshotRuns({ alphabetDirs, outDir: join(scratch, 'seed-a'), runs: 4, ways: 10, seed: 5 });
    const b = await makeOneshotRuns({ alphabetDirs, outDir: join(scratch, 'seed-b'), runs: 4, ways: 10, seed: 5 });
    const c = await makeOneshotRuns({ alphabetDirs, outDir: join(scratch, 'seed-c'), runs: 4, ways: 10, seed: 6 });
    const key = (dir: string): string => readdirSync(dir).filter((n) => n.startsWith('run')).map((r) => readFileSync(join(dir, r, 'class_labels.txt'), 'utf8')).join('');
    const bytes = (dir: string): string => readFileSync(join(dir, 'run02', 'training', 'class03.png')).toString('base64');
    expect(key(b)).toBe(key(a));
    expect(bytes(b)).toBe(bytes(a));
    expect(key(c) === key(a) && bytes(c) === bytes(a)).toBe(false);
    writeFileSync(join(a, 'run01', 'touched'), 'x');
    await makeOneshotRuns({ alphabetDirs, outDir: a, runs: 4, ways: 10, seed: 5 });
    expect(existsSync(join(a, 'run01', 'touched'))).toBe(true);
    expect(readdirSync(scratch).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('pools characters across alphabets when no alphabet has enough, and says when there are too few', async () => {
    const small = await generateGlyphDataset({ root: join(scratch, 'small'), alphabets: 2, charactersPerAlphabet: 4, drawers: 3 });
    const dirs = ['Alphabet_01', 'Alphabet_02'].map((a) => join(small, a));
    const runs = await readOneshotRuns(await makeOneshotRuns({ alphabetDirs: dirs, outDir: join(scratch, 'pooled'), runs: 3, ways: 6 }));
    expect(runs).toHaveLength(3);
    for (const run of runs) expect(run.training).toHaveLength(6);
    await expect(makeOneshotRuns({ alphabetDirs: dirs, outDir: join(scratch, 'too-many'), ways: 9 })).rejects.toThrow(/needs 9 characters.*found 8/);
    expect(existsSync(join(scratch, 'too-many'))).toBe(false);
  });

  it('reads answer keys with or without the run prefix, and names the file of a bad line', async () => {
    const source = await makeOneshotRuns({ alphabetDirs, outDir: join(scratch, 'source'), runs: 2, ways: 5, seed: 9 });
    const expected = await readOneshotRuns(source);
    const copy = join(scratch, 'lake-style');
    for (const run of ['run01', 'run02']) {
      for (const sub of ['training', 'test']) {
        mkdirSync(join(copy, run, sub), { recursive: true });
        for (const f of readdirSync(join(source, run, sub))) copyFileSync(join(source, run, sub, f), join(copy, run, sub, f));
      }
      const lines = readFileSync(join(source, run, 'class_labels.txt'), 'utf8').trim().split('\n').reverse();
      const stripped = run === 'run01' ? lines.map((l) => l.replaceAll(`${run}/`, '')) : lines.map((l) => l.replace(' ', '   '));
      writeFileSync(join(copy, run, 'class_labels.txt'), stripped.join('\r\n') + '\r\n\r\n');
    }
    const parsed = await readOneshotRuns(copy);
    expect(parsed.map((r) => r.answers)).toEqual(expected.map((r) => r.answers));
    expect(parsed.map((r) => r.test.map((p) => basename(p)))).toEqual(expected.map((r) => r.test.map((p) => basename(p))));

    const labels = join(copy, 'run02', 'class_labels.txt');
    writeFileSync(labels, 'run02/test/item01.png run02/training/class99.png\n');
    await expect(readOneshotRuns(copy)).rejects.toThrow(`${labels}:1`);
    await expect(readOneshotRuns(join(scratch, 'glyphs'))).rejects.toThrow(join(scratch, 'glyphs'));
  });

  const omniglot = '/work/shared/data/omniglot/images_background_small1';
  it.skipIf(!existsSync(omniglot))('builds runs from real Omniglot alphabets, copying the files unchanged', async () => {
    const dirs = ['Latin', 'Greek', 'Korean'].map((a) => join(omniglot, a));
    const runs = await readOneshotRuns(await makeOneshotRuns({ alphabetDirs: dirs, outDir: join(scratch, 'omniglot'), runs: 3 }));
    for (const run of runs) {
      for (const path of [...run.training, ...run.test]) expect(readFileSync(path).subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
    }
    // Each copied file is byte-identical to a source image of its class.
    const run = runs[0]!;
    const sources = new Map<string, string>();
    for (const dir of dirs) {
      for (const character of readdirSync(dir)) {
        for (const file of readdirSync(join(dir, character))) sources.set(readFileSync(join(dir, character, file)).toString('base64'), join(dir, character));
      }
    }
    run.test.forEach((item, k) => {
      const itemClass = sources.get(readFileSync(item).toString('base64'));
      expect(itemClass).toBeDefined();
      expect(sources.get(readFileSync(run.training[run.answers[k]!]!).toString('base64'))).toBe(itemClass);
    });
  });
});
