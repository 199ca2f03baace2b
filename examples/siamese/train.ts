// The training loop of the tutorial: random pairs → Siamese network → contrastive loss →
// backward → Adam step, with metrics, checkpoints every epoch (atomic) and resuming.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DataLoader, HostArray } from '../../src/data/index.js';
import { writeFileAtomic } from '../../src/data/atomic_write.js';
import { plotImagePairs, plotLossCurve } from '../../src/data/plot.js';
import { autograd, gluon, init, nd, runtime, type Tensor } from '../../src/index.js';
import { meanDistances, pairDistances } from './evaluate.js';
import { ContrastiveLoss, Siamese } from './model.js';
import { ImagePairs, toChw } from './pairs.js';
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
}

export interface StepMetric {
  step: number;
  epoch: number;
  loss: number;
  seconds: number;
  dispatches: number;
}

export interface TrainResult {
  model: Siamese;
  metrics: StepMetric[];
  paramsPath: string;
  distances: { same: number; different: number };
}

interface Checkpoint {
  epoch: number;
  metrics: StepMetric[];
  settings: Omit<TrainOptions, 'resume' | 'quiet'>;
  /** The parameter file of this checkpoint, in `out` (older checkpoints: checkpoint.safetensors). */
  params?: string;
}

/** Settings a resumed run must share with the checkpoint, or its parameters or metrics would not fit. */
const RESUME_KEYS = ['imageSize', 'batchSize', 'stepsPerEpoch'] as const;

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
function fileInOut(out: string, name: unknown, from: string, doing: string): string {
  const refuse = (why: string) => new Error(`${doing} ${from}: it names the parameter file ${JSON.stringify(name)}, ` +
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

export async function train(opts: TrainOptions): Promise<TrainResult> {
  mkdirSync(opts.out, { recursive: true });
  removeStaleTempFiles(opts.out);
  nd.random.seed(opts.seed);
  const size = opts.imageSize;
  const pairs = new ImagePairs(opts.trainDirs, { seed: opts.seed, pairsPerEpoch: opts.stepsPerEpoch * opts.batchSize });
  const data = pairs.transform((a: HostArray, b: HostArray, label: HostArray) => [toChw(a, size), toChw(b, size), label] as [HostArray, HostArray, HostArray]);
  const loader = new DataLoader(data, { batchSize: opts.batchSize, lastBatch: 'discard', numWorkers: opts.numWorkers, seed: opts.seed });

  const model = new Siamese();
  model.initialize(new init.Xavier());
  const loss = new ContrastiveLoss(6);
  if (opts.hybridize) {
    model.hybridize();
    loss.hybridize();
  }
  // Deferred initialization: one forward pass fixes every parameter's shape.
  const probe = nd.zeros([1, 1, size, size]);
  model.forward(probe, probe);

  const checkpointPath = join(opts.out, 'checkpoint.json');
  const paramsPath = join(opts.out, 'siamese.safetensors');
  let metrics: StepMetric[] = [];
  let startEpoch = 0;
  let checkpointParams: string | null = null;
  if (opts.resume && existsSync(checkpointPath)) {
    const saved = readCheckpoint(checkpointPath, opts);
    checkpointParams = saved.params ?? 'checkpoint.safetensors';
    await model.loadParameters(fileInOut(opts.out, checkpointParams, checkpointPath, 'cannot resume from'));
    metrics = saved.metrics;
    startEpoch = saved.epoch;
    if (!opts.quiet) console.log(`resuming after epoch ${startEpoch} (${metrics.length} steps done)`);
  }
  const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: opts.learningRate });

  const progress = new Progress(opts.epochs * opts.stepsPerEpoch);
  for (let epoch = startEpoch; epoch < opts.epochs; epoch++) {
    for await (const [image1, image2, label] of loader) {
      const started = performance.now();
      runtime.resetStats();
      const value = autograd.record(() => {
        const [out1, out2] = model.forward(image1, image2) as [Tensor, Tensor];
        return loss.forward(out1, out2, label) as Tensor;
      });
      value.backward();
      trainer.step(image1.shape[0]);
      const mean = await nd.mean(value).item();
      const seconds = (performance.now() - started) / 1000;
      metrics.push({ step: metrics.length + 1, epoch, loss: mean, seconds, dispatches: runtime.stats().dispatches });
      if (!opts.quiet) progress.update(metrics.length, mean, opts.batchSize / seconds, `epoch ${epoch + 1}/${opts.epochs}`);
    }
    await refuseNonFinite(model, `epoch ${epoch + 1}`, checkpointParams);
    // A new parameter file per checkpoint, published by the JSON written after it: a run killed
    // at any moment leaves a checkpoint.json whose parameter file is complete and of its epoch.
    const params = `checkpoint-epoch${epoch + 1}.safetensors`;
    await model.saveParameters(join(opts.out, params));
    const { resume: _r, quiet: _q, ...settings } = opts;
    await writeFileAtomic(checkpointPath, JSON.stringify({ epoch: epoch + 1, metrics, settings, params } satisfies Checkpoint));
    // Checked again right before deleting: whatever happened to the folder since resuming, the
    // file removed is the previous checkpoint's, in `out`, and never one elsewhere.
    if (checkpointParams && checkpointParams !== params) {
      rmSync(fileInOut(opts.out, checkpointParams, checkpointPath, 'will not delete the previous parameters named by'), { force: true });
    }
    checkpointParams = params;
  }
  await refuseNonFinite(model, 'the end of training', checkpointParams);
  await model.saveParameters(paramsPath);

  const tests = await pairDistances(model, opts.testDirs, size, 16, opts.seed + 1);
  const distances = meanDistances(tests);
  const { resume: _r, quiet: _q, ...settings } = opts;
  await writeFileAtomic(join(opts.out, 'metrics.json'), JSON.stringify({ settings, steps: metrics, testDistances: distances }, null, 2));
  await writeFileAtomic(join(opts.out, 'loss-curve.png'), plotLossCurve(metrics.map((m) => ({ x: m.step, y: m.loss })),
    { title: 'Contrastive loss while training', xLabel: 'step', yLabel: 'mean loss', smooth: true }));
  await writeFileAtomic(join(opts.out, 'pairs.png'), plotImagePairs(tests.slice(0, 8).map((t) => ({ a: t.a, b: t.b, h: size, w: size, distance: t.distance, label: t.label })),
    { columns: 2, scale: Math.max(1, Math.round(105 / size)), range: 1 }));
  return { model, metrics, paramsPath, distances };
}
