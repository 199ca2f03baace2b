// The Siamese example's command line: `train`, `eval-oneshot` and `make-oneshot-runs`, as in the
// README; `npm start` runs main.ts, which chains them on the built-in data.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../src/data/atomic_write.js';
import { builtinDataset } from '../../src/data/glyphs.js';
import { makeOneshotRuns } from '../../src/data/oneshot_runs.js';
import { nd } from '../../src/index.js';
import { readParameterMetadata } from '../../src/nn/serialization.js';
import { evalOneshot } from './evaluate.js';
import { Siamese } from './model.js';
import { alphabetDirs } from './pairs.js';
import { train, type TrainOptions } from './train.js';

export const USAGE = `usage:
  webgluon-siamese train [--train-dir DIR] [--test-dir DIR] [--epochs N] [--steps-per-epoch N]
                         [--batch-size 16] [--image-size 105] [--no-hybridize] [--seed S]
                         [--lr 0.001] [--workers N] [--out DIR] [--resume]
  webgluon-siamese eval-oneshot --runs DIR --params FILE [--image-size N] [--json FILE]
  webgluon-siamese make-oneshot-runs --alphabets DIR [--out DIR] [--runs 20] [--seed S]
eval-oneshot takes the image size from the parameter file (train writes it there).
A DIR is one alphabet (its characters are the classes) or a folder of alphabets. Without
--train-dir, train uses the built-in glyph data (generated once into the cache folder).`;

export function cacheDir(): string {
  return process.env.WEBGLUON_CACHE ?? join(homedir(), '.cache', 'webgluon');
}

type Flags = Record<string, string | boolean>;

export function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'\n${USAGE}`);
    const name = a.slice(2);
    if (name.startsWith('no-')) flags[name.slice(3)] = false;
    else if (i + 1 < args.length && !args[i + 1].startsWith('--')) flags[name] = args[++i];
    else flags[name] = true;
  }
  return flags;
}

function num(flags: Flags, name: string, dflt: number): number {
  const v = flags[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got '${String(v)}'`);
  return n;
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined || typeof v === 'boolean') return undefined;
  return v;
}

export async function trainingOptions(flags: Flags): Promise<TrainOptions> {
  let trainDirs: string[];
  let testDirs: string[];
  const trainDir = str(flags, 'train-dir');
  if (trainDir) {
    trainDirs = alphabetDirs(resolve(trainDir));
    const testDir = str(flags, 'test-dir');
    testDirs = testDir ? alphabetDirs(resolve(testDir)) : trainDirs;
  } else {
    const builtin = await builtinDataset(join(cacheDir(), 'glyphs-v1'));
    trainDirs = builtin.trainDirs;
    testDirs = builtin.testDirs;
  }
  return {
    trainDirs, testDirs,
    epochs: num(flags, 'epochs', 1),
    stepsPerEpoch: num(flags, 'steps-per-epoch', 40),
    batchSize: num(flags, 'batch-size', 16),
    imageSize: num(flags, 'image-size', 105),
    hybridize: flags.hybridize !== false,
    seed: num(flags, 'seed', 1),
    learningRate: num(flags, 'lr', 0.001),
    numWorkers: num(flags, 'workers', 1),
    out: resolve(str(flags, 'out') ?? 'out/siamese'),
    resume: flags.resume === true,
  };
}

/** The image size a parameter file was trained with (its metadata's imageSize), or null if it does not say. */
export async function imageSizeOf(paramsPath: string): Promise<number | null> {
  const raw = (await readParameterMetadata(paramsPath)).imageSize;
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${paramsPath}: its metadata has imageSize ${JSON.stringify(raw)}, not a positive integer`);
  return n;
}

/**
 * The image size for eval-oneshot: the parameter file's, which --image-size may repeat but not
 * contradict; 105 (Omniglot's) for a file that does not say, unless --image-size gives one.
 */
export async function oneshotImageSize(paramsPath: string, flag: number | undefined): Promise<number> {
  const fromFile = await imageSizeOf(paramsPath);
  if (fromFile !== null && flag !== undefined && flag !== fromFile) {
    throw new Error(`--image-size ${flag} does not match ${paramsPath}, which was trained on ${fromFile}x${fromFile} images ` +
      `(its metadata says imageSize ${fromFile}); drop --image-size or pass --image-size ${fromFile}`);
  }
  return fromFile ?? flag ?? 105;
}

/** `imageSize` undefined: the parameter file's (see oneshotImageSize). */
export async function runOneshot(runsDir: string, paramsPath: string, imageSize: number | undefined, jsonPath?: string): Promise<number> {
  imageSize = await oneshotImageSize(paramsPath, imageSize);
  const model = new Siamese();
  model.initialize();
  const probe = nd.zeros([1, 1, imageSize, imageSize]);
  model.forward(probe, probe);
  await model.loadParameters(paramsPath);
  const result = await evalOneshot(model, runsDir, imageSize);
  for (const r of result.runs) console.log(`  ${r.name}: ${(100 * r.accuracy).toFixed(1)}%`);
  console.log(`20-way one-shot accuracy: ${(100 * result.meanAccuracy).toFixed(1)}% over ${result.runs.length} runs (chance: 5%)`);
  if (jsonPath) await writeFileAtomic(jsonPath, JSON.stringify(result, null, 2));
  return result.meanAccuracy;
}

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  const flags = parseFlags(rest);
  switch (command) {
    case 'train': {
      const opts = await trainingOptions(flags);
      const result = await train(opts);
      console.log(`parameters: ${result.paramsPath}`);
      console.log(`test pairs: mean distance ${result.distances.same.toFixed(3)} (same) vs ${result.distances.different.toFixed(3)} (different)`);
      break;
    }
    case 'eval-oneshot': {
      const runs = str(flags, 'runs');
      const params = str(flags, 'params');
      if (!runs || !params) throw new Error(`eval-oneshot needs --runs and --params\n${USAGE}`);
      const size = flags['image-size'] === undefined ? undefined : num(flags, 'image-size', 105);
      await runOneshot(resolve(runs), resolve(params), size, str(flags, 'json'));
      break;
    }
    case 'make-oneshot-runs': {
      const alphabets = str(flags, 'alphabets');
      if (!alphabets) throw new Error(`make-oneshot-runs needs --alphabets\n${USAGE}`);
      const out = resolve(str(flags, 'out') ?? 'out/oneshot-runs');
      mkdirSync(join(out, '..'), { recursive: true });
      await makeOneshotRuns({ alphabetDirs: alphabetDirs(resolve(alphabets)), outDir: out, runs: num(flags, 'runs', 20), seed: num(flags, 'seed', 1) });
      console.log(`one-shot runs written to ${out}`);
      break;
    }
    default:
      console.log(USAGE);
      if (command && command !== 'help' && command !== '--help') process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}

