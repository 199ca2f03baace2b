// The training loop of the tutorial: random pairs → Siamese network → contrastive loss →
// backward → Adam step, with metrics, checkpoints every epoch (atomic) and resuming.
//
// A checkpoint is three files in --out, published by the last one written:
//   checkpoint-epochN.safetensors  the parameters (metadata: model, image size, training arguments)
//   checkpoint-epochN.states       Trainer.saveStates: Adam's moments, update counts, numUpdate
//   checkpoint.json                {epoch, metrics, settings, params, trainer, rng}: the names of
//                                  the two files, and the random state at the end of epoch N
// so that `--resume` continues exactly as the run would have: the same pairs (their PRNG), the
// same batches (the DataLoader's order), the same optimizer steps; nd.random is seeded afresh
// from (seed, epoch) at the start of every epoch, so Dropout and friends repeat as well.
//
// One-shot recipe (issue #18): train on images_background_small1, select the epoch on runs from a
// held-out alphabet (Tagalog, 17-way: small2's Greek and Latin are copies of small1's, so they are
// not held out), test on 20-way runs from Japanese (katakana) and Sanskrit, MHD baseline beside:
//   S=../shared/data/omniglot/images_background_small2; C="npx tsx examples/siamese/cli.ts"
//   $C make-oneshot-runs --alphabets $S/Tagalog --ways 17 --runs 10 --seed 7 --out out/oneshot/runs-val
//   $C make-oneshot-runs --alphabets "$S/Japanese_(katakana)" --alphabets $S/Sanskrit --runs 20 --seed 1 --out out/oneshot/runs-test
//   $C train --train-dir ../shared/data/omniglot/images_background_small1 --test-dir "$S/Japanese_(katakana)" \
//     --image-size 28 --tower deep --embedding-dim 64 --loss episode --batch-size 20 --augment \
//     --lr-schedule cosine --warmup-steps 50 --epochs 20 --steps-per-epoch 100 \
//     --eval-runs out/oneshot/runs-val --patience 4 --out out/oneshot
//   $C eval-oneshot --runs out/oneshot/runs-test --params out/oneshot/best.safetensors --json out/oneshot/oneshot.json
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DataLoader, HostArray } from '../../src/data/index.js';
import { checkRandomState, type SamplerState } from '../../src/data/sampler.js';
import { writeFileAtomic } from '../../src/data/atomic_write.js';
import { plotImagePairs, plotLossCurve } from '../../src/data/plot.js';
import { autograd, gluon, init, nd, runtime, type Tensor } from '../../src/index.js';
import { blockMetadata, saveParameters } from '../../src/nn/serialization.js';
import { evalOneshot, meanDistances, pairDistances } from './evaluate.js';
import { ContrastiveLoss, Siamese, type TowerName } from './model.js';
import { ImagePairs, toChw, type NegativeSampling } from './pairs.js';
import { RandomAffine } from '../../src/data/transforms.js';
import { Progress } from './progress.js';

export interface TrainOptions {
  trainDirs: readonly string[];
  testDirs: readonly string[];
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  imageSize: number;
  hybridize: boolean;
  seed: number;
  out: string;
  resume: boolean;
  learningRate: number;
  numWorkers: number;
  quiet?: boolean;
  // Options of issue #18, all optional: their defaults are the tutorial's run.
  /** Size of the embedding (default 2). */
  embeddingDim?: number;
  /** 'tutorial' (default) or 'deep' (4 × conv+BatchNorm+relu+pool). */
  tower?: TowerName;
  /**
   * 'contrastive' (default): the tutorial's loss on random pairs. 'episode': every batch is a
   * one-shot episode of batchSize distinct characters, two images each, scored with SDMLLoss
   * (smoothing 0: softmax over the batch of −squared distances, the other rows the negatives).
   */
  loss?: LossName;
  /** Random affine augmentation of every training image (rotation, shear, scale, translation). */
  augment?: boolean;
  /** Negative pairs: 'random' (default) or 'same-alphabet'. */
  negatives?: NegativeSampling;
  /** 'constant' (default), 'cosine' (to 0 at the last step) or 'factor' (× lrFactor every lrStep steps). */
  lrSchedule?: LRScheduleName;
  /** Linear warm-up steps from 0 (cosine, factor; default 0). */
  warmupSteps?: number;
  /** 'factor': the multiplier (default 0.5) and the steps between (default stepsPerEpoch). */
  lrFactor?: number;
  lrStep?: number;
  /** A folder of one-shot runs (make-oneshot-runs) from held-out alphabets, scored after every epoch. */
  evalRuns?: string;
  /** Stop when the validation accuracy has not improved for this many epochs (0, the default: never). */
  patience?: number;
  /** Keep every epoch's parameter file (checkpoint-epochN.safetensors) instead of the last one only. */
  keepCheckpoints?: boolean;
}

export type LossName = 'contrastive' | 'episode';
export type LRScheduleName = 'constant' | 'cosine' | 'factor';

/** The new options' defaults: the tutorial's run. */
export const OPTION_DEFAULTS = {
  embeddingDim: 2, tower: 'tutorial', loss: 'contrastive', augment: false, negatives: 'random',
  lrSchedule: 'constant', warmupSteps: 0, lrFactor: 0.5, patience: 0, keepCheckpoints: false,
} as const satisfies Partial<TrainOptions>;

/** Omniglot-sized affine augmentation (as Koch et al.): ±10° rotation, ±10° shear, 0.85–1.15 scale, ±5% shift, white fill. */
export function omniglotAugmentation(seed: number): RandomAffine {
  return new RandomAffine({ degrees: 10, shear: 10, scale: [0.85, 1.15], translate: [0.05, 0.05], fill: 255, seed });
}

/** One-shot validation after an epoch. */
export interface ValidationMetric {
  epoch: number;
  accuracy: number;
  runs: number;
}

export interface StepMetric {
  step: number;
  epoch: number;
  loss: number;
  seconds: number;
  dispatches: number;
  /** GPU bytes held by live tensors and the JS heap after the step (memory stays flat in a healthy run). */
  liveBytes?: number;
  heapBytes?: number;
}

export interface TrainResult {
  model: Siamese;
  metrics: StepMetric[];
  paramsPath: string;
  distances: { same: number; different: number };
  /** One-shot accuracy on evalRuns after each epoch (empty without evalRuns). */
  validation: ValidationMetric[];
  /** best.safetensors (the epoch of highest validation accuracy), when evalRuns is given. */
  bestPath: string | null;
  bestEpoch: number | null;
  /** Whether early stopping ended the run before `epochs`. */
  stoppedEarly: boolean;
}

/** The random state at the end of a checkpoint's epoch: what the next epoch draws from. */
interface RandomState {
  /** The pair generator's PRNG (ImagePairs.getRandomState). */
  pairs: number;
  /** The DataLoader's order (DataLoader.getState). */
  loader: SamplerState;
  /** nd.random's seed for the next epoch (epochSeed(seed, epoch)). */
  nd: number;
}

interface Checkpoint {
  epoch: number;
  metrics: StepMetric[];
  settings: Omit<TrainOptions, 'resume' | 'quiet'>;
  /** The parameter file of this checkpoint, in `out` (older checkpoints: checkpoint.safetensors). */
  params?: string;
  /** The trainer state file of this checkpoint, in `out` (absent in older checkpoints). */
  trainer?: string;
  /** Absent in older checkpoints, which resume with fresh random streams. */
  rng?: RandomState;
  /** Validation after each epoch so far, and the best epoch (absent without evalRuns). */
  validation?: ValidationMetric[];
  bestEpoch?: number | null;
}

/**
 * Settings a resumed run must share with the checkpoint, or its parameters, metrics or random
 * streams would not fit. (--lr may change: a diverged run is resumed with a lower one.)
 */
const RESUME_KEYS = ['imageSize', 'batchSize', 'stepsPerEpoch', 'seed', 'embeddingDim', 'tower', 'loss'] as const;

/** nd.random's seed for an epoch: a function of the run's seed and the epoch, so a resumed run draws the same. */
function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

/** The checkpoint's random state, checked: null when it has none (an older checkpoint). */
function randomStateOf(saved: Checkpoint, path: string): RandomState | null {
  const rng = saved.rng;
  if (rng === undefined) return null;
  try {
    if (typeof rng !== 'object' || rng === null) throw new Error(`its rng is ${JSON.stringify(rng)}, not {pairs, loader, nd}`);
    checkRandomState('its rng.pairs', rng.pairs);
    checkRandomState('its rng.nd', rng.nd);
    if (typeof rng.loader !== 'object' || rng.loader === null) throw new Error(`its rng.loader is ${JSON.stringify(rng.loader)}, not {random, carried}`);
  } catch (e) {
    throw new Error(`cannot resume from ${path}: ${(e as Error).message.replace(/^webgluon: /, '')}; remove it (or use another --out) to start afresh`, { cause: e });
  }
  return rng;
}

function readCheckpoint(path: string, opts: TrainOptions): Checkpoint {
  let saved: Checkpoint;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch (e) {
    throw new Error(`cannot resume from ${path}: ${(e as Error).message}; remove it (or use another --out) to start afresh`, { cause: e });
  }
  if (!Number.isInteger(saved.epoch) || !Array.isArray(saved.metrics)) {
    throw new Error(`cannot resume from ${path}: it is not a checkpoint of this example (no epoch or metrics)`);
  }
  for (const k of RESUME_KEYS) {
    if (saved.settings?.[k] !== undefined && saved.settings[k] !== opts[k]) {
      throw new Error(`cannot resume from ${path}: it was made with ${k} ${saved.settings[k]}, this run has ${opts[k]}; ` +
        'use the same settings, or another --out to start afresh');
    }
  }
  return saved;
}

/**
 * The path in `out` of a file that a checkpoint names, or an error. checkpoint.json is read back
 * from disk, so its names are untrusted: one like `../x` or `/x`, or a symlink out of the folder,
 * would make resume load, and later delete, a file elsewhere. Only a bare file name is accepted
 * (it is all this example writes), and an existing file must really lie in `out` (symlinks resolved).
 */
function fileInOut(out: string, name: unknown, from: string, doing: string, kind = 'parameter file'): string {
  const refuse = (why: string) => new Error(`${doing} ${from}: it names the ${kind} ${JSON.stringify(name)}, ` +
    `${why}; a checkpoint may only name a file in its folder ${out}. Remove the checkpoint (or use another --out) to start afresh`);
  if (typeof name !== 'string' || name === '') throw refuse('which is not a file name');
  // Both separators on every platform: a checkpoint may have been written on another system.
  if (/[\\/\0]/.test(name) || name === '.' || name === '..' || isAbsolute(name) || basename(name) !== name) {
    throw refuse('which is not a bare file name in that folder');
  }
  const path = resolve(out, name);
  if (!isInside(resolve(out), path)) throw refuse('which leaves that folder');
  if (existsSync(path)) {
    const real = realpathSync(path);
    if (!isInside(realpathSync(out), real)) throw refuse(`which leads out of that folder (to ${real})`);
  }
  return path;
}

/** Whether `path` lies strictly inside the folder `dir` (both absolute and resolved). */
function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * A diverged run (NaN or Inf in a weight) stops before it writes: its checkpoint would replace
 * the last good one, and a resume would continue from garbage.
 */
async function refuseNonFinite(model: Siamese, when: string, lastGood: string | null): Promise<void> {
  const bad: string[] = [];
  for (const [name, p] of model.collectParams()) {
    const values = await p.data().data();
    if (!values.every(Number.isFinite)) bad.push(name);
  }
  if (bad.length === 0) return;
  throw new Error(`training diverged: at ${when} ${bad.join(', ')} hold NaN or Inf, so no checkpoint was written ` +
    `(the last good one, ${lastGood ?? 'none yet'}, is kept); lower --lr or check the data`);
}

/** Removes temp files that a run killed while writing left in `dir` (`NAME.tmp-PID-XXXX`, PID dead). */
function removeStaleTempFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(dir, name), { force: true });
    }
  }
}

/** The metadata of the example's parameter files: eval-oneshot reads imageSize from it. */
function parameterMetadata(model: Siamese, opts: TrainOptions, epoch: number): Record<string, string> {
  const { resume: _r, quiet: _q, ...settings } = opts;
  const sample = [1, 1, opts.imageSize, opts.imageSize];
  return blockMetadata(model, {
    inputShapes: JSON.stringify([sample, sample]),
    imageSize: String(opts.imageSize),
    epoch: String(epoch),
    trainingArgs: JSON.stringify(settings),
  });
}

/** The learning-rate schedule of the options, or null for a constant rate. */
export function makeScheduler(opts: TrainOptions): gluon.lrScheduler.LRScheduler | null {
  const o = { ...OPTION_DEFAULTS, ...opts };
  const total = opts.epochs * opts.stepsPerEpoch;
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) throw new Error(`warmupSteps must be a non-negative integer, got ${o.warmupSteps}`);
  switch (o.lrSchedule) {
    case 'constant':
      if (o.warmupSteps > 0) return new gluon.lrScheduler.FactorScheduler({ step: total + 1, factor: 1, baseLr: opts.learningRate, warmupSteps: o.warmupSteps });
      return null;
    case 'cosine':
      return new gluon.lrScheduler.CosineScheduler({ maxUpdate: Math.max(total, o.warmupSteps + 1), baseLr: opts.learningRate, finalLr: 0, warmupSteps: o.warmupSteps });
    case 'factor':
      return new gluon.lrScheduler.FactorScheduler({ step: o.lrStep ?? opts.stepsPerEpoch, factor: o.lrFactor, baseLr: opts.learningRate, warmupSteps: o.warmupSteps });
    default:
      throw new Error(`unknown lrSchedule '${String(o.lrSchedule)}'; expected constant, cosine or factor`);
  }
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const opts: TrainOptions = { ...OPTION_DEFAULTS, ...options };
  const lossName = opts.loss ?? 'contrastive';
  if (lossName !== 'contrastive' && lossName !== 'episode') throw new Error(`unknown loss '${String(lossName)}'; expected contrastive or episode`);
  if (lossName === 'episode' && opts.batchSize < 2) throw new Error('the episode loss needs a batch size of at least 2 (the other rows are the negatives)');
  mkdirSync(opts.out, { recursive: true });
  removeStaleTempFiles(opts.out);
  nd.random.seed(opts.seed);
  const size = opts.imageSize;
  const pairs = new ImagePairs(opts.trainDirs, {
    seed: opts.seed, pairsPerEpoch: opts.stepsPerEpoch * opts.batchSize, negatives: opts.negatives,
    mode: lossName === 'episode' ? 'episode' : 'pairs', episodeSize: opts.batchSize,
    augment: opts.augment ? omniglotAugmentation(opts.seed) : undefined,
  });
  const data = pairs.transform((a: HostArray, b: HostArray, label: HostArray) => [toChw(a, size), toChw(b, size), label] as [HostArray, HostArray, HostArray]);
  const loader = new DataLoader(data, { batchSize: opts.batchSize, lastBatch: 'discard', numWorkers: opts.numWorkers, seed: opts.seed });

  const model = new Siamese({ tower: opts.tower, embeddingDim: opts.embeddingDim });
  model.initialize(new init.Xavier());
  const loss: gluon.loss.Loss<[Tensor, Tensor, Tensor]> | gluon.loss.SDMLLoss = lossName === 'episode'
    ? new gluon.loss.SDMLLoss({ smoothingParameter: 0 }) : new ContrastiveLoss(6);
  if (opts.hybridize) {
    model.hybridize();
    loss.hybridize();
  }
  // Deferred initialization: one forward pass fixes every parameter's shape.
  const probe = nd.zeros([1, 1, size, size]);
  model.forward(probe, probe);

  const checkpointPath = join(opts.out, 'checkpoint.json');
  const paramsPath = join(opts.out, 'siamese.safetensors');
  const scheduler = makeScheduler(opts);
  const trainer = new gluon.Trainer(model.collectParams(), 'adam', scheduler ? { learningRate: opts.learningRate, lrScheduler: scheduler } : { learningRate: opts.learningRate });
  const bestPath = join(opts.out, 'best.safetensors');
  let validation: ValidationMetric[] = [];
  let bestEpoch: number | null = null;
  let stoppedEarly = false;
  let metrics: StepMetric[] = [];
  let startEpoch = 0;
  let checkpointParams: string | null = null;
  let checkpointTrainer: string | null = null;
  let nextSeed: number | null = null;
  if (opts.resume && existsSync(checkpointPath)) {
    const saved = readCheckpoint(checkpointPath, opts);
    const rng = randomStateOf(saved, checkpointPath);
    checkpointParams = saved.params ?? 'checkpoint.safetensors';
    const paramsFile = fileInOut(opts.out, checkpointParams, checkpointPath, 'cannot resume from');
    const trainerFile = saved.trainer === undefined ? null
      : fileInOut(opts.out, saved.trainer, checkpointPath, 'cannot resume from', 'trainer state file');
    await model.loadParameters(paramsFile);
    const notes: string[] = [];
    if (trainerFile) {
      await trainer.loadStates(trainerFile);
      checkpointTrainer = saved.trainer!;
      // The command line's rate wins over the saved one (a diverged run resumes with a lower --lr).
      if (trainer.optimizer.learningRate !== opts.learningRate) {
        notes.push(`learning rate ${opts.learningRate} (the checkpoint's was ${trainer.optimizer.learningRate})`);
        trainer.setLearningRate(opts.learningRate);
      }
    } else {
      notes.push('the checkpoint has no optimizer state: Adam starts afresh');
    }
    if (rng) {
      try {
        pairs.setRandomState(rng.pairs);
        loader.setState(rng.loader);
      } catch (e) {
        throw new Error(`cannot resume from ${checkpointPath}: ${(e as Error).message.replace(/^webgluon: /, '')}; ` +
          'remove it (or use another --out) to start afresh', { cause: e });
      }
      nextSeed = rng.nd;
    } else {
      notes.push('the checkpoint has no random state: the data order differs from an uninterrupted run');
    }
    metrics = saved.metrics;
    startEpoch = saved.epoch;
    validation = Array.isArray(saved.validation) ? saved.validation : [];
    bestEpoch = typeof saved.bestEpoch === 'number' ? saved.bestEpoch : null;
    if (!opts.quiet) console.log(`resuming after epoch ${startEpoch} (${metrics.length} steps done)${notes.length ? `; ${notes.join('; ')}` : ''}`);
  }

  const progress = new Progress(opts.epochs * opts.stepsPerEpoch);
  let lastEpoch = Math.max(startEpoch, opts.epochs);
  for (let epoch = startEpoch; epoch < opts.epochs; epoch++) {
    nd.random.seed(nextSeed ?? epochSeed(opts.seed, epoch));
    nextSeed = null;
    for await (const [image1, image2, label] of loader) {
      const started = performance.now();
      runtime.resetStats();
      const value = autograd.record(() => {
        const [out1, out2] = model.forward(image1, image2) as [Tensor, Tensor];
        return loss instanceof gluon.loss.SDMLLoss ? loss.forward(out1, out2) : loss.forward(out1, out2, label);
      });
      value.backward();
      trainer.step(image1.shape[0]);
      const mean = await nd.mean(value).item();
      const seconds = (performance.now() - started) / 1000;
      const { dispatches, liveBytes } = runtime.stats();
      metrics.push({ step: metrics.length + 1, epoch, loss: mean, seconds, dispatches, liveBytes, heapBytes: process.memoryUsage().heapUsed });
      if (!opts.quiet) progress.update(metrics.length, mean, opts.batchSize / seconds, `epoch ${epoch + 1}/${opts.epochs}`);
    }
    await refuseNonFinite(model, `epoch ${epoch + 1}`, checkpointParams);
    if (opts.evalRuns) {
      const result = await evalOneshot(model, opts.evalRuns, size);
      validation.push({ epoch: epoch + 1, accuracy: result.meanAccuracy, runs: result.runs.length });
      const best = bestEpoch === null ? -1 : validation.find((v) => v.epoch === bestEpoch)?.accuracy ?? -1;
      if (result.meanAccuracy > best) {
        bestEpoch = epoch + 1;
        await saveParameters(model.collectParams(), bestPath, parameterMetadata(model, opts, epoch + 1));
      }
      if (!opts.quiet) console.log(`\nepoch ${epoch + 1}: validation one-shot accuracy ${(100 * result.meanAccuracy).toFixed(1)}% over ${result.runs.length} runs (best ${(100 * Math.max(best, result.meanAccuracy)).toFixed(1)}%, epoch ${bestEpoch})`);
    }
    // New parameter and trainer state files per checkpoint, published by the JSON written after
    // them: a run killed at any moment leaves a checkpoint.json whose files are complete and of its epoch.
    const params = `checkpoint-epoch${epoch + 1}.safetensors`;
    const states = `checkpoint-epoch${epoch + 1}.states`;
    await saveParameters(model.collectParams(), join(opts.out, params), parameterMetadata(model, opts, epoch + 1));
    await trainer.saveStates(join(opts.out, states));
    const rng: RandomState = { pairs: pairs.getRandomState(), loader: loader.getState(), nd: epochSeed(opts.seed, epoch + 1) };
    const { resume: _r, quiet: _q, ...settings } = opts;
    await writeFileAtomic(checkpointPath, JSON.stringify({ epoch: epoch + 1, metrics, settings, params, trainer: states, rng, validation, bestEpoch } satisfies Checkpoint));
    // Checked again right before deleting: whatever happened to the folder since resuming, the
    // files removed are the previous checkpoint's, in `out`, and never ones elsewhere.
    if (checkpointParams && checkpointParams !== params && !opts.keepCheckpoints) {
      rmSync(fileInOut(opts.out, checkpointParams, checkpointPath, 'will not delete the previous parameters named by'), { force: true });
    }
    if (checkpointTrainer && checkpointTrainer !== states) {
      rmSync(fileInOut(opts.out, checkpointTrainer, checkpointPath, 'will not delete the previous trainer state named by', 'trainer state file'), { force: true });
    }
    checkpointParams = params;
    checkpointTrainer = states;
    if (opts.patience && bestEpoch !== null && epoch + 1 - bestEpoch >= opts.patience && epoch + 1 < opts.epochs) {
      if (!opts.quiet) console.log(`early stopping after epoch ${epoch + 1}: no better validation accuracy for ${opts.patience} epoch(s) (best: epoch ${bestEpoch})`);
      stoppedEarly = true;
      lastEpoch = epoch + 1;
      break;
    }
  }
  await refuseNonFinite(model, 'the end of training', checkpointParams);
  await saveParameters(model.collectParams(), paramsPath, parameterMetadata(model, opts, lastEpoch));

  const tests = await pairDistances(model, opts.testDirs, size, 16, opts.seed + 1);
  const distances = meanDistances(tests);
  const { resume: _r, quiet: _q, ...settings } = opts;
  await writeFileAtomic(join(opts.out, 'metrics.json'), JSON.stringify({ settings, steps: metrics, testDistances: distances, validation, bestEpoch, stoppedEarly }, null, 2));
  if (validation.length > 0) {
    await writeFileAtomic(join(opts.out, 'validation-curve.png'), plotLossCurve(validation.map((v) => ({ x: v.epoch, y: 100 * v.accuracy })),
      { title: 'One-shot validation accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)' }));
  }
  await writeFileAtomic(join(opts.out, 'loss-curve.png'), plotLossCurve(metrics.map((m) => ({ x: m.step, y: m.loss })),
    { title: lossName === 'episode' ? 'Episode loss (SDML) while training' : 'Contrastive loss while training', xLabel: 'step', yLabel: 'mean loss', smooth: true }));
  await writeFileAtomic(join(opts.out, 'pairs.png'), plotImagePairs(tests.slice(0, 8).map((t) => ({ a: t.a, b: t.b, h: size, w: size, distance: t.distance, label: t.label })),
    { columns: 2, scale: Math.max(1, Math.round(105 / size)), range: 1 }));
  return { model, metrics, paramsPath, distances, validation, bestPath: bestEpoch === null ? null : bestPath, bestEpoch, stoppedEarly };
}
