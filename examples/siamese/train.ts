// The training loop of the tutorial: random pairs → Siamese network → contrastive loss →
// backward → Adam step, with metrics, checkpoints every epoch (atomic) and resuming.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  mkdirSync(opts.out, { recursive: true });
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
  if (opts.resume && existsSync(checkpointPath)) {
    const saved = JSON.parse(readFileSync(checkpointPath, 'utf8')) as Checkpoint;
    model.loadParameters(join(opts.out, 'checkpoint.safetensors'));
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
    await model.saveParameters(join(opts.out, 'checkpoint.safetensors'));
    const { resume: _r, quiet: _q, ...settings } = opts;
    await writeFileAtomic(checkpointPath, JSON.stringify({ epoch: epoch + 1, metrics, settings } satisfies Checkpoint));
  }
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
