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
import { exportOnnx, nd } from '../../src/index.js';
import { readParameterMetadata } from '../../src/nn/serialization.js';
import { evalOneshot } from './evaluate.js';
import { Siamese } from './model.js';
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
                         without it, the built-in glyph data (generated once into the cache folder)
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
  -h, --help             print this and exit`,
    flags: {
      'train-dir': { type: 'string' }, 'test-dir': { type: 'string' },
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
  --runs DIR             the one-shot runs (written by make-oneshot-runs)
  --params FILE          parameters written by train
  --image-size N         must match the parameter file's, which is used by default (105 if it does not say)
  --json FILE            also write the result as JSON
  -h, --help             print this and exit`,
    flags: {
      runs: { type: 'string', required: true }, params: { type: 'string', required: true },
      'image-size': { type: 'string', rule: 'positive integer' }, json: { type: 'string' }, help,
    },
  },
  'make-oneshot-runs': {
    usage: `usage: ${PROGRAM} make-oneshot-runs --alphabets DIR [options]
Writes 20-way one-shot runs (training and test images per run) from held-out alphabets.
  --alphabets DIR        one alphabet or a folder of alphabets
  --out DIR              where the runs go (default out/oneshot-runs)
  --runs N               number of runs (default 20)
  --seed S               random seed, a non-negative integer (default 1)
  -h, --help             print this and exit`,
    flags: {
      alphabets: { type: 'string', required: true }, out: { type: 'string' },
      runs: { type: 'string', rule: 'positive integer' }, seed: { type: 'string', rule: 'non-negative integer' }, help,
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
export type Flags = Record<string, string | number | boolean | undefined>;

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
  const options = Object.fromEntries(Object.entries(spec.flags).map(([k, f]) => [k, f.short ? { type: f.type, short: f.short } : { type: f.type }]));
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
  let values: Record<string, string | boolean | undefined>;
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
  return typeof v === 'string' ? v : undefined;
};
const count = (flags: Flags, name: string, fallback: number): number => {
  const v = flags[name];
  return typeof v === 'number' ? v : fallback;
};

/** train's options from its parsed flags; `defaults` replaces the usual defaults (npm start's smaller run). */
export async function trainingOptions(flags: Flags, defaults: Partial<Record<'epochs' | 'steps-per-epoch' | 'image-size', number>> = {}): Promise<TrainOptions> {
  let trainDirs: string[];
  let testDirs: string[];
  const trainDir = text(flags, 'train-dir');
  if (trainDir) {
    trainDirs = alphabetDirs(resolve(trainDir));
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

/** Loads trained parameters into the network and writes it (or its tower) as ONNX; returns the file. */
export async function exportTrained(paramsPath: string, onnxPath: string, tower: boolean, imageSize: number | undefined): Promise<string> {
  imageSize = await oneshotImageSize(paramsPath, imageSize);
  const model = new Siamese();
  model.initialize();
  const probe = nd.zeros([1, 1, imageSize, imageSize]);
  model.forward(probe, probe);
  await model.loadParameters(paramsPath);
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
      await runOneshot(resolve(text(flags, 'runs')!), resolve(text(flags, 'params')!), size, text(flags, 'json'));
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
      await makeOneshotRuns({ alphabetDirs: alphabetDirs(resolve(text(flags, 'alphabets')!)), outDir: out, runs: count(flags, 'runs', 20), seed: count(flags, 'seed', 1) });
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
