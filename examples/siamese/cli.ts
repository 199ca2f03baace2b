// The Siamese example's command line: `train`, `eval-oneshot` and `make-oneshot-runs`, as in the
// README, parsed by node:util parseArgs in strict mode; `npm start` runs main.ts, which chains them
// on the built-in data. Exit status: 0 done (or --help), 1 failed, 2 called wrongly.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { suggestName } from '../../src/base/options.js';
import { writeFileAtomic } from '../../src/data/atomic_write.js';
import { builtinDataset } from '../../src/data/glyphs.js';
import { makeOneshotRuns } from '../../src/data/oneshot_runs.js';
import { exportOnnx } from '../../src/index.js';
import { readParameterMetadata } from '../../src/nn/serialization.js';
import { formatOneshotReport, loadSiamese, oneshotReport } from './evaluate.js';
import { alphabetDirs } from './pairs.js';
import { train, type TrainOptions } from './train.js';

const PROGRAM = 'webgluon-siamese';

/** Checks a flag's value beyond its type: what a count, a size, a seed or a rate may be. */
type ValueRule = 'positive integer' | 'non-negative integer' | 'positive number';

interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  rule?: ValueRule;
  required?: boolean;
  /** May be given more than once (a string flag): its value is then the list, in order. */
  multiple?: boolean;
  /** The values a string flag may take. */
  choices?: readonly string[];
}

interface CommandSpec {
  usage: string;
  flags: Record<string, FlagSpec>;
}

const help: FlagSpec = { type: 'boolean', short: 'h' };

/** Each command: its usage (printed by --help) and its flags, as node:util parseArgs options. */
export const COMMANDS = {
  train: {
    usage: `usage: ${PROGRAM} train [options]
Trains the Siamese network of MXNet's custom-loss tutorial with the contrastive loss.
  --train-dir DIR        one alphabet (its characters are the classes) or a folder of alphabets;
                         repeatable (a character reached twice counts once); without it, the
                         built-in glyph data (generated once into the cache folder)
  --test-dir DIR         held-out alphabets for the test pairs (default: the training ones)
  --epochs N             epochs (default 1)
  --steps-per-epoch N    steps per epoch (default 40)
  --batch-size N         pairs per step (default 16)
  --image-size N         images are resized to N x N (default 105)
  --no-hybridize         run eagerly instead of compiling the network and the loss
  --seed S               random seed, a non-negative integer (default 1)
  --lr RATE              Adam's learning rate (default 0.001)
  --workers N            image decoding workers, 0 for none (default 1)
  --out DIR              where parameters, metrics and pictures go (default out/siamese)
  --resume               continue from the checkpoint in --out
  --tower NAME           tutorial (default) or deep (4 x conv 3x3 + BatchNorm + relu + max-pool)
  --embedding-dim N      size of the embedding (default 2)
  --loss NAME            contrastive (default: random pairs) or episode (batches of distinct
                         characters, two images each, SDMLLoss: the other rows are the negatives)
  --augment              random affine augmentation (rotation, shear, scale, shift) of training images
  --negatives NAME       negative pairs: random (default) or same-alphabet
  --lr-schedule NAME     constant (default), cosine (to 0 at the last step) or factor
  --warmup-steps N       linear warm-up of the learning rate (default 0)
  --lr-factor F          factor schedule: the multiplier (default 0.5)
  --lr-step N            factor schedule: steps between (default: one epoch)
  --eval-runs DIR        one-shot runs (make-oneshot-runs, held-out alphabets) scored after every
                         epoch: metrics.json, validation-curve.png and best.safetensors
  --patience N           stop when --eval-runs has not improved for N epochs (default: never)
  --keep-checkpoints     keep every epoch's checkpoint-epochN.safetensors
  -h, --help             print this and exit`,
    flags: {
      'train-dir': { type: 'string', multiple: true }, 'test-dir': { type: 'string' },
      tower: { type: 'string', choices: ['tutorial', 'deep'] }, 'embedding-dim': { type: 'string', rule: 'positive integer' },
      loss: { type: 'string', choices: ['contrastive', 'episode'] }, augment: { type: 'boolean' },
      negatives: { type: 'string', choices: ['random', 'same-alphabet'] },
      'lr-schedule': { type: 'string', choices: ['constant', 'cosine', 'factor'] },
      'warmup-steps': { type: 'string', rule: 'non-negative integer' }, 'lr-factor': { type: 'string', rule: 'positive number' },
      'lr-step': { type: 'string', rule: 'positive integer' }, 'eval-runs': { type: 'string' },
      patience: { type: 'string', rule: 'non-negative integer' }, 'keep-checkpoints': { type: 'boolean' },
      epochs: { type: 'string', rule: 'positive integer' }, 'steps-per-epoch': { type: 'string', rule: 'positive integer' },
      'batch-size': { type: 'string', rule: 'positive integer' }, 'image-size': { type: 'string', rule: 'positive integer' },
      'no-hybridize': { type: 'boolean' }, seed: { type: 'string', rule: 'non-negative integer' },
      lr: { type: 'string', rule: 'positive number' }, workers: { type: 'string', rule: 'non-negative integer' },
      out: { type: 'string' }, resume: { type: 'boolean' }, help,
    },
  },
  'eval-oneshot': {
    usage: `usage: ${PROGRAM} eval-oneshot --runs DIR --params FILE [options]
Scores 20-way one-shot classification with trained parameters.
Prints accuracy per alphabet with 95% Wilson intervals, and the Modified Hausdorff Distance
baseline (Lake et al.) on the same runs: the reference the learned model must beat.
  --runs DIR             the one-shot runs (written by make-oneshot-runs)
  --params FILE          parameters written by train; repeat it for several training seeds
                         (their items are pooled, the spread between seeds printed)
  --image-size N         must match the parameter file's, which is used by default (105 if it does not say)
  --no-mhd               skip the MHD baseline
  --json FILE            also write the result as JSON
  -h, --help             print this and exit`,
    flags: {
      runs: { type: 'string', required: true }, params: { type: 'string', required: true, multiple: true },
      'image-size': { type: 'string', rule: 'positive integer' }, 'no-mhd': { type: 'boolean' }, json: { type: 'string' }, help,
    },
  },
  'make-oneshot-runs': {
    usage: `usage: ${PROGRAM} make-oneshot-runs --alphabets DIR [options]
Writes 20-way one-shot runs (training and test images per run) from held-out alphabets.
  --alphabets DIR        one alphabet or a folder of alphabets; repeatable
  --out DIR              where the runs go (default out/oneshot-runs)
  --runs N               number of runs (default 20)
  --ways N               classes per run (default 20)
  --seed S               random seed, a non-negative integer (default 1)
  -h, --help             print this and exit`,
    flags: {
      alphabets: { type: 'string', required: true, multiple: true }, out: { type: 'string' },
      runs: { type: 'string', rule: 'positive integer' }, ways: { type: 'string', rule: 'positive integer' }, seed: { type: 'string', rule: 'non-negative integer' }, help,
    },
  },
  export: {
    usage: `usage: ${PROGRAM} export --params FILE --onnx FILE [options]
Writes the trained network as an ONNX model (opset 18, any batch size) for ONNX Runtime.
  --params FILE          parameters written by train
  --onnx FILE            the model to write (.onnx is added when missing)
  --tower                only the tower: one image batch in, its embeddings out
                         (default: the pair network, two image batches in, two embeddings out)
  --image-size N         must match the parameter file's, which is used by default
  -h, --help             print this and exit`,
    flags: {
      params: { type: 'string', required: true }, onnx: { type: 'string', required: true }, tower: { type: 'boolean' },
      'image-size': { type: 'string', rule: 'positive integer' }, help,
    },
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export const USAGE = `usage: ${PROGRAM} <command> [options]
commands:
  train               train the Siamese network (built-in glyph data unless --train-dir)
  eval-oneshot        score 20-way one-shot classification with trained parameters
  make-oneshot-runs   write one-shot runs from held-out alphabets
  export              write the trained network as an ONNX model
Run \`${PROGRAM} <command> --help\` for a command's options.`;

/** A mistake in how the command was called: printed with a pointer to --help, exit status 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly command: CommandName | null) {
    super(message);
  }
}

/** A command's flags once parsed and checked: numbers for the numeric ones. */
export type Flags = Record<string, string | string[] | number | boolean | undefined>;

export interface ParsedCommand {
  command: CommandName;
  /** --help or -h was given: print the usage and do nothing else. */
  help: boolean;
  flags: Flags;
}

function checkValue(command: CommandName, flag: string, raw: string, rule: ValueRule): number {
  const n = raw.trim() === '' ? NaN : Number(raw);
  const ok = Number.isFinite(n) && (rule === 'positive number' ? n > 0 : Number.isInteger(n) && (rule === 'positive integer' ? n >= 1 : n >= 0));
  if (!ok) throw new UsageError(`--${flag} must be a ${rule}, got '${raw}'`, command);
  return n;
}

/**
 * Parses one command's arguments with node:util parseArgs in strict mode (`--flag value` and
 * `--flag=value`), refusing unknown flags with the closest known one, and checks every value.
 */
export function parseCommand(command: CommandName, args: readonly string[]): ParsedCommand {
  const spec: CommandSpec = COMMANDS[command];
  const options = Object.fromEntries(Object.entries(spec.flags).map(([k, f]) => [k, { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]));
  // A first, lenient pass finds --help wherever it is, names unknown flags with a suggestion, and
  // writes `--flag -1` as `--flag=-1`, so that a negative number is refused by its check below
  // (strict parsing calls any value starting with '-' ambiguous).
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const rewritten = [...args];
  const joined = new Set<number>();
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { command, help: true, flags: {} };
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (!(t.name in spec.flags)) {
      const known = Object.keys(spec.flags);
      const meant = suggestName(t.name, known);
      throw new UsageError(`unknown option ${t.rawName}${meant ? ` (did you mean --${meant}?)` : ''}`, command);
    }
    if (spec.flags[t.name].type === 'string' && t.value !== undefined && !t.inlineValue && /^-[\d.]/.test(t.value)) {
      rewritten[t.index] = `${t.rawName}=${t.value}`;
      joined.add(t.index + 1);
    }
  }
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({ args: rewritten.filter((_, i) => !joined.has(i)), options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((e as Error).message.split('\n')[0], command);
    throw e;
  }
  const flags: Flags = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const v = values[name];
    if (v === undefined) {
      if (f.required) throw new UsageError(`--${name} is required`, command);
      continue;
    }
    if (f.choices && typeof v === 'string' && !f.choices.includes(v)) {
      throw new UsageError(`--${name} must be one of ${f.choices.join(', ')}, got '${v}'`, command);
    }
    flags[name] = f.rule && typeof v === 'string' ? checkValue(command, name, v, f.rule) : v;
  }
  return { command, help: false, flags };
}

/** The whole command line: the command, then its flags. Throws UsageError. */
export function parseCommandLine(argv: readonly string[]): ParsedCommand | { command: null; help: true; topic: CommandName | null } {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given', null);
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = rest[0];
    if (topic !== undefined && !(topic in COMMANDS)) throw new UsageError(`unknown command '${topic}'`, null);
    return { command: null, help: true, topic: (topic as CommandName | undefined) ?? null };
  }
  if (!(first in COMMANDS)) {
    const meant = suggestName(first, Object.keys(COMMANDS));
    throw new UsageError(`unknown command '${first}'${meant ? ` (did you mean '${meant}'?)` : ''}`, null);
  }
  return parseCommand(first as CommandName, rest);
}

/** Prints a usage error the way every command does: the message, then where to read more. */
export function reportUsageError(e: UsageError): void {
  const where = e.command ? `${PROGRAM} ${e.command}` : PROGRAM;
  console.error(`${where}: ${e.message}`);
  console.error(e.command ? `Run \`${where} --help\` for its options.` : USAGE);
  process.exitCode = e.exitCode;
}

export function cacheDir(): string {
  return process.env.WEBGLUON_CACHE ?? join(homedir(), '.cache', 'webgluon');
}

const text = (flags: Flags, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[v.length - 1] : undefined;
};
/** A repeatable flag's values (a single value as a list of one). */
const texts = (flags: Flags, name: string): string[] => {
  const v = flags[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
};
const count = (flags: Flags, name: string, fallback: number): number => {
  const v = flags[name];
  return typeof v === 'number' ? v : fallback;
};

/** train's options from its parsed flags; `defaults` replaces the usual defaults (npm start's smaller run). */
export async function trainingOptions(flags: Flags, defaults: Partial<Record<'epochs' | 'steps-per-epoch' | 'image-size', number>> = {}): Promise<TrainOptions> {
  let trainDirs: string[];
  let testDirs: string[];
  const trainDir = texts(flags, 'train-dir');
  if (trainDir.length > 0) {
    trainDirs = trainDir.flatMap((d) => alphabetDirs(resolve(d)));
    const testDir = text(flags, 'test-dir');
    testDirs = testDir ? alphabetDirs(resolve(testDir)) : trainDirs;
  } else {
    const builtin = await builtinDataset(join(cacheDir(), 'glyphs-v1'));
    trainDirs = builtin.trainDirs;
    testDirs = builtin.testDirs;
  }
  return {
    trainDirs, testDirs,
    epochs: count(flags, 'epochs', defaults.epochs ?? 1),
    stepsPerEpoch: count(flags, 'steps-per-epoch', defaults['steps-per-epoch'] ?? 40),
    batchSize: count(flags, 'batch-size', 16),
    imageSize: count(flags, 'image-size', defaults['image-size'] ?? 105),
    hybridize: flags['no-hybridize'] !== true,
    seed: count(flags, 'seed', 1),
    learningRate: count(flags, 'lr', 0.001),
    numWorkers: count(flags, 'workers', 1),
    out: resolve(text(flags, 'out') ?? 'out/siamese'),
    resume: flags.resume === true,
    // Issue #18's options, only when given: their absence is the tutorial's run.
    ...(text(flags, 'tower') ? { tower: text(flags, 'tower') as TrainOptions['tower'] } : {}),
    ...(flags['embedding-dim'] !== undefined ? { embeddingDim: count(flags, 'embedding-dim', 2) } : {}),
    ...(text(flags, 'loss') ? { loss: text(flags, 'loss') as TrainOptions['loss'] } : {}),
    ...(flags.augment === true ? { augment: true } : {}),
    ...(text(flags, 'negatives') ? { negatives: text(flags, 'negatives') as TrainOptions['negatives'] } : {}),
    ...(text(flags, 'lr-schedule') ? { lrSchedule: text(flags, 'lr-schedule') as TrainOptions['lrSchedule'] } : {}),
    ...(flags['warmup-steps'] !== undefined ? { warmupSteps: count(flags, 'warmup-steps', 0) } : {}),
    ...(flags['lr-factor'] !== undefined ? { lrFactor: count(flags, 'lr-factor', 0.5) } : {}),
    ...(flags['lr-step'] !== undefined ? { lrStep: count(flags, 'lr-step', 1) } : {}),
    ...(text(flags, 'eval-runs') ? { evalRuns: resolve(text(flags, 'eval-runs')!) } : {}),
    ...(flags.patience !== undefined ? { patience: count(flags, 'patience', 0) } : {}),
    ...(flags['keep-checkpoints'] === true ? { keepCheckpoints: true } : {}),
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

/**
 * `imageSize` undefined: each parameter file's (see oneshotImageSize). Several parameter files
 * (training seeds) are pooled. `mhd`: also score the MHD baseline on the same runs. Returns the
 * model's accuracy.
 */
export async function runOneshot(runsDir: string, paramsPath: string | readonly string[], imageSize: number | undefined, jsonPath?: string, opts: { mhd?: boolean } = {}): Promise<number> {
  const paths = typeof paramsPath === 'string' ? [paramsPath] : [...paramsPath];
  const params = await Promise.all(paths.map(async (path) => ({ path, imageSize: await oneshotImageSize(path, imageSize) })));
  const report = await oneshotReport(runsDir, params, { mhd: opts.mhd === true });
  console.log(formatOneshotReport(report));
  // runs and meanAccuracy first, as before the report had more in it.
  if (jsonPath) await writeFileAtomic(jsonPath, JSON.stringify({ runs: report.model!.perRun, meanAccuracy: report.model!.accuracy, ...report }, null, 2));
  return report.model!.accuracy;
}

/** Loads trained parameters into the network and writes it (or its tower) as ONNX; returns the file. */
export async function exportTrained(paramsPath: string, onnxPath: string, tower: boolean, imageSize: number | undefined): Promise<string> {
  imageSize = await oneshotImageSize(paramsPath, imageSize);
  const model = await loadSiamese(paramsPath, imageSize);
  const { onnxFile } = tower
    ? await exportOnnx(model.cnn, onnxPath, { inputs: [{ shape: [1, 1, imageSize, imageSize], dtype: 'float32' }] })
    : await exportOnnx(model, onnxPath);
  return onnxFile;
}

/**
 * Runs a command line. A usage error (unknown command or flag, missing or bad value) is printed
 * with a pointer to --help and sets exit status 2 without running anything; other errors reject
 * (bin.ts and the block below print them and exit with 1). --help prints the usage and exits 0.
 */
export async function main(argv: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return reportUsageError(e);
    throw e;
  }
  if (parsed.command === null) {
    console.log(parsed.topic ? COMMANDS[parsed.topic].usage : USAGE);
    return;
  }
  if (parsed.help) {
    console.log(COMMANDS[parsed.command].usage);
    return;
  }
  const flags = parsed.flags;
  switch (parsed.command) {
    case 'train': {
      const opts = await trainingOptions(flags);
      const result = await train(opts);
      console.log(`parameters: ${result.paramsPath}`);
      console.log(`test pairs: mean distance ${result.distances.same.toFixed(3)} (same) vs ${result.distances.different.toFixed(3)} (different)`);
      break;
    }
    case 'eval-oneshot': {
      const size = flags['image-size'] === undefined ? undefined : count(flags, 'image-size', 105);
      await runOneshot(resolve(text(flags, 'runs')!), texts(flags, 'params').map((p) => resolve(p)), size, text(flags, 'json'), { mhd: flags['no-mhd'] !== true });
      break;
    }
    case 'export': {
      const size = flags['image-size'] === undefined ? undefined : count(flags, 'image-size', 105);
      const file = await exportTrained(resolve(text(flags, 'params')!), resolve(text(flags, 'onnx')!), flags.tower === true, size);
      console.log(`ONNX model written to ${file}`);
      break;
    }
    case 'make-oneshot-runs': {
      const out = resolve(text(flags, 'out') ?? 'out/oneshot-runs');
      mkdirSync(join(out, '..'), { recursive: true });
      await makeOneshotRuns({ alphabetDirs: texts(flags, 'alphabets').flatMap((a) => alphabetDirs(resolve(a))), outDir: out, runs: count(flags, 'runs', 20), ways: count(flags, 'ways', 20), seed: count(flags, 'seed', 1) });
      console.log(`one-shot runs written to ${out}`);
      break;
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
