// The Siamese training step in a browser page: webgluon hybridized (the browser build, src/browser.ts)
// against tfjs-webgpu 4.22 (bench/tfjs/siamese.ts's tower and loss) in the same page of the same
// Chromium, on the same adapter, from the same weights and batch (bench/harness.ts); timed alike,
// dispatches and submits counted at WebGPU's own methods for both. bench/browser/run.ts drives it.
// URL parameters: size (105), batch (16), repeat (2), warmup (0), variant (batched if it has '-batched'),
// systems (webgluon-hybrid,tfjs-webgpu; webgluon-eager too if listed).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-webgpu';
import { ContrastiveLoss } from '../../examples/siamese/model.js';
import { autograd, gluon, nd, runtime, tidy, type Tensor } from '../../src/browser.js';
import {
  SIAMESE, SIAMESE_PARAM_ORDER, denseNchwToNhwcKernel, oihwToHwio, prng, siameseBatch, siameseWeights, transpose2d,
  uniformArray, type SiameseWeights, type TfjsSiameseWeights,
} from '../harness.js';
import { buildTfjsSiamese, contrastiveLoss } from '../tfjs/siamese.js';

const q = new URLSearchParams((globalThis as unknown as { location: { search: string } }).location.search);
const num = (k: string, d: number) => (q.has(k) ? Number(q.get(k)) : d);
const config = {
  size: num('size', SIAMESE.size),
  batch: num('batch', SIAMESE.batch),
  repeat: num('repeat', 2),
  warmup: num('warmup', 0),
  variant: q.get('variant') ?? '',
  systems: (q.get('systems') ?? 'webgluon-hybrid,tfjs-webgpu').split(','),
};
const batched = config.variant.split('-').includes('batched');

export interface SystemResult {
  system: string;
  firstMs: number;
  ms: number[];
  medianMs: number;
  dispatches: number;
  submits: number;
  /** The mean loss of the first step: every system must compute the same number. */
  firstLoss: number;
  losses: number[];
}

const out = {
  status: 'running' as 'running' | 'done' | 'error',
  config,
  adapter: '',
  results: [] as SystemResult[],
  error: null as string | null,
};
(globalThis as unknown as { __bench: typeof out }).__bench = out;

// Dispatches and submits of every system, counted where WebGPU takes them.
const counts = { dispatches: 0, submits: 0 };
const gpuClasses = globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> }>;
for (const [cls, method, key] of [['GPUComputePassEncoder', 'dispatchWorkgroups', 'dispatches'], ['GPUQueue', 'submit', 'submits']] as const) {
  const proto = gpuClasses[cls].prototype;
  const original = proto[method];
  proto[method] = function (this: unknown, ...args: unknown[]) {
    counts[key]++;
    return original.apply(this, args);
  };
}

/** 105 → 101 → 50 → 46 → 23: the side of the last feature map. */
const featSize = (size: number) => Math.floor((Math.floor((size - 4) / 2) - 4) / 2);

/** bench/harness.ts's weights; for another image size, the same draws with dense1 sized to fit. */
function weights(): { w: SiameseWeights; shapes: Record<keyof SiameseWeights, number[]> } {
  const f = featSize(config.size);
  const flat = SIAMESE.conv2 * f * f;
  const shapes: Record<keyof SiameseWeights, number[]> = {
    conv1W: [SIAMESE.conv1, SIAMESE.channels, SIAMESE.kernel, SIAMESE.kernel], conv1B: [SIAMESE.conv1],
    conv2W: [SIAMESE.conv2, SIAMESE.conv1, SIAMESE.kernel, SIAMESE.kernel], conv2B: [SIAMESE.conv2],
    dense1W: [SIAMESE.hidden, flat], dense1B: [SIAMESE.hidden], dense2W: [SIAMESE.out, SIAMESE.hidden], dense2B: [SIAMESE.out],
  };
  if (config.size === SIAMESE.size) return { w: siameseWeights(), shapes };
  const rnd = prng(20240601);
  const xavier = (s: number[]) => {
    const rf = s.length > 2 ? s[2] * s[3] : 1;
    const a = Math.sqrt(6 / (s[1] * rf + s[0] * rf));
    return uniformArray(s.reduce((x, y) => x * y, 1), -a, a, rnd);
  };
  const bias = (n: number) => uniformArray(n, -0.01, 0.01, rnd);
  return {
    shapes,
    w: {
      conv1W: xavier(shapes.conv1W), conv1B: bias(SIAMESE.conv1), conv2W: xavier(shapes.conv2W), conv2B: bias(SIAMESE.conv2),
      dense1W: xavier(shapes.dense1W), dense1B: bias(SIAMESE.hidden), dense2W: xavier(shapes.dense2W), dense2B: bias(SIAMESE.out),
    },
  };
}

/** bench/harness.ts's batch (sparse strokes, labels alternating); for another size, the same draws. */
function batch(): { x1: Float32Array; x2: Float32Array; label: Float32Array } {
  if (config.size === SIAMESE.size) return siameseBatch(7, config.batch);
  const rnd = prng(7);
  const n = config.batch * config.size * config.size;
  const img = () => Float32Array.from({ length: n }, () => (rnd() < 0.1 ? 1 : 0));
  const x1 = img();
  const x2 = img();
  return { x1, x2, label: Float32Array.from({ length: config.batch }, (_, i) => i % 2) };
}

type Step = () => Promise<number>;

function webgluonStep(hybrid: boolean): Step {
  const { w, shapes } = weights();
  const { nn } = gluon;
  const tower = new nn.HybridSequential();
  tower.add(
    new nn.Conv2D(SIAMESE.conv1, SIAMESE.kernel, { activation: 'relu', inChannels: SIAMESE.channels }),
    new nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new nn.Conv2D(SIAMESE.conv2, SIAMESE.kernel, { activation: 'relu', inChannels: SIAMESE.conv1 }),
    new nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new nn.Dense(SIAMESE.hidden, { activation: 'relu', inUnits: shapes.dense1W[1] }),
    new nn.Dense(SIAMESE.out, { activation: 'softrelu', inUnits: SIAMESE.hidden }),
  );
  tower.initialize();
  [...tower.collectParams().values()].forEach((p, i) => p.setData(nd.array(w[SIAMESE_PARAM_ORDER[i]], { shape: shapes[SIAMESE_PARAM_ORDER[i]] })));
  class Pair extends gluon.HybridBlock<[Tensor, Tensor], [Tensor, Tensor]> {
    readonly tower = tower;
    override hybridForward(F: gluon.F, x1: Tensor, x2: Tensor): [Tensor, Tensor] {
      const n = x1.shape[0];
      const both = this.tower.forward(F.concat([x1, x2], 0)) as Tensor;
      return [F.slice(both, [0, null], [n, null]), F.slice(both, [n, null], [2 * n, null])];
    }
  }
  const pair = batched ? new Pair() : null;
  const loss = new ContrastiveLoss(SIAMESE.margin);
  if (hybrid) {
    (pair ?? tower).hybridize({ staticAlloc: true, staticShape: true });
    loss.hybridize({ staticAlloc: true, staticShape: true });
  }
  const trainer = new gluon.Trainer(tower.collectParams(), 'adam', { learningRate: SIAMESE.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const data = batch();
  const shape = [config.batch, SIAMESE.channels, config.size, config.size];
  return async () => {
    const mean = tidy(() => {
      const x1 = nd.array(data.x1, { shape });
      const x2 = nd.array(data.x2, { shape });
      const y = nd.array(data.label, { shape: [config.batch, 1] });
      const l = autograd.record(() => {
        const [o1, o2] = pair ? pair.forward(x1, x2) : [tower.forward(x1) as Tensor, tower.forward(x2) as Tensor];
        return loss.forward(o1, o2, y);
      });
      l.backward();
      trainer.step(config.batch);
      return nd.mean(l);
    });
    const v = await mean.item();
    mean.dispose();
    return v;
  };
}

/** tfjsSiameseTrain (bench/tfjs/siamese.ts) at this page's size and batch: the same tower, loss and Adam. */
async function tfjsStep(): Promise<Step> {
  if (!(await tf.setBackend('webgpu'))) throw new Error("tfjs: setBackend('webgpu') failed");
  await tf.ready();
  const { w, shapes: S } = weights();
  const f = featSize(config.size);
  const tw: TfjsSiameseWeights = {
    conv1W: oihwToHwio(w.conv1W, S.conv1W), conv1B: w.conv1B, conv2W: oihwToHwio(w.conv2W, S.conv2W), conv2B: w.conv2B,
    dense1W: denseNchwToNhwcKernel(w.dense1W, SIAMESE.hidden, SIAMESE.conv2, f, f), dense1B: w.dense1B,
    dense2W: transpose2d(w.dense2W, SIAMESE.out, SIAMESE.hidden), dense2B: w.dense2B,
    shapes: {
      conv1W: [S.conv1W[2], S.conv1W[3], S.conv1W[1], S.conv1W[0]], conv1B: S.conv1B,
      conv2W: [S.conv2W[2], S.conv2W[3], S.conv2W[1], S.conv2W[0]], conv2B: S.conv2B,
      dense1W: [S.dense1W[1], SIAMESE.hidden], dense1B: S.dense1B, dense2W: [SIAMESE.hidden, SIAMESE.out], dense2B: S.dense2B,
    },
  };
  const net = buildTfjsSiamese(tf, tw);
  const data = batch();
  const opt = tf.train.adam(SIAMESE.lr, 0.9, 0.999, 1e-8);
  const varList = Object.values(net.vars);
  const nhwc: [number, number, number, number] = [config.batch, config.size, config.size, SIAMESE.channels];
  type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;
  return async () => {
    const x1 = tf.tensor4d(data.x1, nhwc);
    const x2 = tf.tensor4d(data.x2, nhwc);
    const y = tf.tensor2d(data.label, [config.batch, 1]);
    const towers = (): [Tensor2D, Tensor2D] => {
      if (!batched) return [net.tower(x1), net.tower(x2)];
      const both = net.tower(tf.concat([x1, x2], 0));
      return [tf.slice(both, [0, 0], [config.batch, -1]), tf.slice(both, [config.batch, 0], [config.batch, -1])];
    };
    const loss = opt.minimize(() => tf.mean(contrastiveLoss(tf, ...towers(), y)) as import('@tensorflow/tfjs-core').Scalar, true, varList);
    const v = (await loss!.data())[0];
    tf.dispose([x1, x2, y, loss!]);
    return v;
  };
}

async function measure(system: string, make: () => Step | Promise<Step>): Promise<SystemResult> {
  const step = await make();
  const timed = async () => {
    counts.dispatches = 0;
    counts.submits = 0;
    const t0 = performance.now();
    const loss = await step();
    return { ms: performance.now() - t0, loss, dispatches: counts.dispatches, submits: counts.submits };
  };
  // Progress for bench/browser/run.ts, which prints the page's console.info lines.
  const note = (what: string, r: { ms: number; loss: number; dispatches: number }) =>
    console.info(`${system}: ${what} ${(r.ms / 1000).toFixed(2)} s, loss ${r.loss.toPrecision(6)}, ${r.dispatches} dispatches`);
  const first = await timed();
  note('first step (compiles)', first);
  for (let i = 0; i < config.warmup; i++) note(`warm-up step ${i + 1}`, await timed());
  const steps = [];
  for (let i = 0; i < config.repeat; i++) {
    steps.push(await timed());
    note(`timed step ${i + 1}/${config.repeat}`, steps[i]);
  }
  const ms = steps.map((s) => s.ms);
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    system, firstMs: first.ms, ms,
    medianMs: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    dispatches: steps[steps.length - 1].dispatches, submits: steps[steps.length - 1].submits,
    firstLoss: first.loss, losses: steps.map((s) => s.loss),
  };
}

async function main(): Promise<void> {
  const info = await runtime.init();
  out.adapter = info.name;
  const makers: Record<string, () => Step | Promise<Step>> = {
    'webgluon-hybrid': () => webgluonStep(true),
    'webgluon-eager': () => webgluonStep(false),
    'tfjs-webgpu': tfjsStep,
  };
  for (const system of config.systems) {
    if (!makers[system]) throw new Error(`unknown system ${system} (known: ${Object.keys(makers).join(', ')})`);
    out.results.push(await measure(system, makers[system]));
  }
  out.status = 'done';
}

main().catch((e: unknown) => {
  out.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  out.status = 'error';
  console.error(e);
});
