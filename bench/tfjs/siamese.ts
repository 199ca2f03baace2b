// The tutorial's Siamese network and contrastive loss written with tfjs-core ops, the way
// tfjs-layers would run them (fused conv2d/matMul with bias and relu), NHWC. Weights come from
// bench/harness.ts, converted from webgluon's layouts, so the math is the same as webgluon's.
import {
  SIAMESE, siameseBatch, siameseWeights, toTfjsWeights, type Runner, type TfjsSiameseWeights,
} from '../harness.js';
import type { Tf, TfjsEnv } from './setup.js';

type Tensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor4D = import('@tensorflow/tfjs-core').Tensor4D;
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;
type Variable = import('@tensorflow/tfjs-core').Variable;

export interface TfjsSiamese {
  vars: Record<keyof Omit<TfjsSiameseWeights, 'shapes'>, Variable>;
  tower(x: Tensor4D): Tensor2D;
}

export function buildTfjsSiamese(tf: Tf, w = toTfjsWeights(siameseWeights())): TfjsSiamese {
  const v = (k: keyof Omit<TfjsSiameseWeights, 'shapes'>) => tf.variable(tf.tensor(w[k], w.shapes[k]), true, `siamese/${k}`);
  const vars = {
    conv1W: v('conv1W'), conv1B: v('conv1B'), conv2W: v('conv2W'), conv2B: v('conv2B'),
    dense1W: v('dense1W'), dense1B: v('dense1B'), dense2W: v('dense2W'), dense2B: v('dense2B'),
  };
  const tower = (x: Tensor4D): Tensor2D => {
    let h = tf.fused.conv2d({ x, filter: vars.conv1W as Tensor4D, strides: 1, pad: 'valid', bias: vars.conv1B, activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.fused.conv2d({ x: h, filter: vars.conv2W as Tensor4D, strides: 1, pad: 'valid', bias: vars.conv2B, activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    const flat = tf.reshape(h, [x.shape[0], -1]) as Tensor2D;
    const d1 = tf.fused.matMul({ a: flat, b: vars.dense1W as Tensor2D, bias: vars.dense1B, activation: 'relu' });
    // softrelu = softplus; tfjs has no fused softplus, so it follows the biased matMul.
    return tf.softplus(tf.fused.matMul({ a: d1, b: vars.dense2W as Tensor2D, bias: vars.dense2B })) as Tensor2D;
  };
  return { vars, tower };
}

/** The tutorial's ContrastiveLoss: one value per sample, shape (N, 1). */
export function contrastiveLoss(tf: Tf, a: Tensor, b: Tensor, label: Tensor, margin = SIAMESE.margin): Tensor {
  const d2 = tf.sum(tf.square(tf.sub(a, b)), 1, true);
  const d = tf.sqrt(tf.add(d2, 1e-4));
  const c = tf.clipByValue(tf.sub(margin, d), 0, margin);
  return tf.mul(0.5, tf.add(tf.mul(tf.sub(1, label), d2), tf.mul(label, tf.square(c))));
}

const NHWC = [SIAMESE.batch, SIAMESE.size, SIAMESE.size, SIAMESE.channels] as const;

/**
 * One training step as the tutorial runs it: upload the batch, both towers (shared weights),
 * the contrastive loss, backward, Adam (lr 0.001, MXNet's beta/epsilon defaults); the gradient
 * of the mean loss equals MXNet's `loss.backward(); trainer.step(batchSize)`.
 */
export function tfjsSiameseTrain(env: TfjsEnv, batched = false): Runner {
  const { tf } = env;
  const net = buildTfjsSiamese(tf);
  const batch = siameseBatch();
  const opt = tf.train.adam(SIAMESE.lr, 0.9, 0.999, 1e-8);
  const varList = Object.values(net.vars);
  return {
    adapter: env.adapter,
    items: { count: SIAMESE.batch, unit: 'pairs' },
    maxStepMs: env.kind === 'cpu' ? 60_000 : undefined,
    notes: [`tfjs: ${batched ? 'both images through the tower as one batch of 2N' : 'two tower calls per step (as the tutorial writes it)'}; fused conv2d/matMul+bias+relu as tfjs-layers does`],
    resetStats: env.resetStats,
    stats: env.stats,
    async step() {
      const x1 = tf.tensor4d(batch.x1, [...NHWC]);
      const x2 = tf.tensor4d(batch.x2, [...NHWC]);
      const y = tf.tensor2d(batch.label, [SIAMESE.batch, 1]);
      const towers = (): [Tensor2D, Tensor2D] => {
        if (!batched) return [net.tower(x1), net.tower(x2)];
        const both = net.tower(tf.concat([x1, x2], 0));
        return [tf.slice(both, [0, 0], [SIAMESE.batch, -1]), tf.slice(both, [SIAMESE.batch, 0], [SIAMESE.batch, -1])];
      };
      const loss = opt.minimize(() => tf.mean(contrastiveLoss(tf, ...towers(), y)) as import('@tensorflow/tfjs-core').Scalar, true, varList);
      const v = (await loss!.data())[0];
      tf.dispose([x1, x2, y, loss!]);
      return v;
    },
  };
}

/** Inference: both towers and the pair distances (16 values read back). */
export function tfjsSiameseForward(env: TfjsEnv): Runner {
  const { tf } = env;
  const net = buildTfjsSiamese(tf);
  const batch = siameseBatch();
  let last: Float32Array | null = null;
  return {
    adapter: env.adapter,
    items: { count: SIAMESE.batch, unit: 'pairs' },
    resetStats: env.resetStats,
    stats: env.stats,
    async step() {
      const dist = tf.tidy(() => {
        const x1 = tf.tensor4d(batch.x1, [...NHWC]);
        const x2 = tf.tensor4d(batch.x2, [...NHWC]);
        const o1 = net.tower(x1);
        const o2 = net.tower(x2);
        return tf.sqrt(tf.sum(tf.square(tf.sub(o1, o2)), 1));
      });
      last = (await dist.data()) as Float32Array;
      dist.dispose();
      return last[0];
    },
    async check() {
      return { distances: Array.from(last ?? []).map((x) => +x.toPrecision(6)) };
    },
  };
}
