// N-way one-shot classification tasks in the format of Lake's Omniglot one-shot runs: the evaluation of
// the Siamese example. Made from alphabet folders (glyphs.ts's, or real Omniglot) and read back for scoring.
//
// Layout: `outDir/runNN/training/classMM.png` (one image per class), `outDir/runNN/test/itemMM.png` (another
// image of each class, shuffled), `outDir/runNN/class_labels.txt` with one line per test item,
// `runNN/test/itemMM.png runNN/training/classKK.png`: the answer key. Files are copied, not re-encoded.
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { publishDirectory } from './atomic_write.js';
import { deriveSeed, makeRng } from './glyph_strokes.js';

export interface OneshotRunsOptions {
  /** Alphabet folders, each holding one subfolder of images per character. */
  alphabetDirs: string[];
  outDir: string;
  runs?: number;
  ways?: number;
  seed?: number;
}

export interface OneshotRun {
  name: string;
  /** Absolute paths of the training images, class order. */
  training: string[];
  /** Absolute paths of the test items, item order. */
  test: string[];
  /** For each test item, its class's index into `training`. */
  answers: number[];
}

interface CharacterImages {
  dir: string;
  images: string[];
}

const LABELS_FILE = 'class_labels.txt';
const COMPLETE_MARKER = '.complete';
const FORMAT_VERSION = 1;

function pad(value: number, count: number): string {
  return String(value).padStart(Math.max(2, String(count).length), '0');
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (error) {
    throw new Error(`webgluon: cannot read the folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
}

async function pngFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.png')).map((e) => e.name).sort();
}

/** Characters with at least two images: one becomes the training image, another the test item. */
async function listCharacters(alphabetDir: string): Promise<CharacterImages[]> {
  const characters: CharacterImages[] = [];
  for (const name of await subdirectories(alphabetDir)) {
    const dir = join(alphabetDir, name);
    const images = await pngFiles(dir);
    if (images.length >= 2) characters.push({ dir, images });
  }
  return characters;
}

/** Each run draws its classes from one alphabet large enough; if none is, from all alphabets together. */
async function characterPools(alphabetDirs: string[], ways: number): Promise<CharacterImages[][]> {
  const alphabets = await Promise.all(alphabetDirs.map(listCharacters));
  const large = alphabets.filter((characters) => characters.length >= ways);
  if (large.length > 0) return large;
  const all = alphabets.flat();
  if (all.length < ways) {
    throw new Error(
      `webgluon: makeOneshotRuns needs ${ways} characters with two or more images, found ${all.length} in ` +
        alphabetDirs.join(', '),
    );
  }
  return [all];
}

async function writeRuns(tempDir: string, options: Required<OneshotRunsOptions>): Promise<void> {
  const { runs, ways, seed } = options;
  const pools = await characterPools(options.alphabetDirs, ways);
  const rng = makeRng(deriveSeed(seed, 0x05e1));
  const poolOrder = rng.shuffle(pools.map((_, i) => i));
  for (let r = 0; r < runs; r++) {
    const run = `run${pad(r + 1, runs)}`;
    const classes = rng.shuffle([...pools[poolOrder[r % pools.length]!]!]).slice(0, ways);
    const itemOfClass = rng.shuffle(classes.map((_, i) => i)); // itemOfClass[k]: the class of item k
    await fs.mkdir(join(tempDir, run, 'training'), { recursive: true });
    await fs.mkdir(join(tempDir, run, 'test'), { recursive: true });
    const testImageOfClass: string[] = [];
    const copies: Promise<void>[] = [];
    classes.forEach((character, c) => {
      // Two different drawers of the same character: one to learn from, one to recognise.
      const [trainImage, testImage] = rng.shuffle([...character.images]);
      testImageOfClass.push(join(character.dir, testImage!));
      const target = join(tempDir, run, 'training', `class${pad(c + 1, ways)}.png`);
      copies.push(fs.copyFile(join(character.dir, trainImage!), target));
    });
    const lines: string[] = [];
    itemOfClass.forEach((c, k) => {
      const item = `item${pad(k + 1, ways)}.png`;
      copies.push(fs.copyFile(testImageOfClass[c]!, join(tempDir, run, 'test', item)));
      lines.push(`${run}/test/${item} ${run}/training/class${pad(c + 1, ways)}.png`);
    });
    await Promise.all(copies);
    await fs.writeFile(join(tempDir, run, LABELS_FILE), lines.join('\n') + '\n');
  }
}

/**
 * Writes `runs` one-shot tasks of `ways` classes into `outDir` (built in a temp folder, then renamed;
 * reused when already made with the same options) and returns `outDir`. Deterministic from `seed`.
 */
export async function makeOneshotRuns(options: OneshotRunsOptions): Promise<string> {
  const resolved: Required<OneshotRunsOptions> = { runs: 20, ways: 20, seed: 1, ...options };
  for (const key of ['runs', 'ways'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new Error(`webgluon: makeOneshotRuns(${options.outDir}): ${key} must be a positive integer`);
    }
  }
  const { outDir, ...content } = resolved;
  const alphabetDirs = content.alphabetDirs.map((d) => resolve(d));
  const marker = { format: 'webgluon-oneshot-runs', version: FORMAT_VERSION, ...content, alphabetDirs };
  await publishDirectory({
    finalDir: outDir,
    markerName: COMPLETE_MARKER,
    markerContent: JSON.stringify(marker) + '\n',
    build: (tempDir) => writeRuns(tempDir, resolved),
  });
  return outDir;
}

/** `run01/test/item01.png`, `test/item01.png` and absolute paths all name `test/item01.png` of the run. */
function pathInRun(runDir: string, written: string): string {
  const parts = written.split(/[\\/]+/).filter((p) => p.length > 0);
  return join(runDir, ...parts.slice(-2));
}

async function readRun(runDir: string): Promise<OneshotRun> {
  const labelsPath = join(runDir, LABELS_FILE);
  let text: string;
  try {
    text = await fs.readFile(labelsPath, 'utf8');
  } catch (error) {
    const reason = (error as Error).message;
    throw new Error(`webgluon: cannot read the answer key ${labelsPath}: ${reason}`, { cause: error });
  }
  const training = (await pngFiles(join(runDir, 'training'))).map((f) => join(runDir, 'training', f));
  const testItems = new Set((await pngFiles(join(runDir, 'test'))).map((f) => join(runDir, 'test', f)));
  const pairs: [string, number][] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const fields = line.trim().split(/\s+/);
    const item = fields.length === 2 ? pathInRun(runDir, fields[0]!) : '';
    const answer = fields.length === 2 ? training.indexOf(pathInRun(runDir, fields[1]!)) : -1;
    if (answer < 0 || !testItems.has(item)) {
      throw new Error(
        `webgluon: ${labelsPath}:${index + 1}: expected "<test item> <training class image>" naming an ` +
          `image in ${join(runDir, 'test')} and one in ${join(runDir, 'training')}, got "${line.trim()}"`,
      );
    }
    pairs.push([item, answer]);
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { name: basename(runDir), training, test: pairs.map((p) => p[0]), answers: pairs.map((p) => p[1]) };
}

/** Reads every `runNN` folder of `dir` (Lake's `all_runs` layout, or `makeOneshotRuns`'s), in run order. */
export async function readOneshotRuns(dir: string): Promise<OneshotRun[]> {
  const runs = (await subdirectories(dir))
    .filter((name) => /^run\d+$/.test(name))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  if (runs.length === 0) throw new Error(`webgluon: no runNN folders in ${dir}`);
  return Promise.all(runs.map((name) => readRun(resolve(dir, name))));
}
