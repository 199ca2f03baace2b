// The contrastive loss alone, forward + backward w.r.t. both inputs, on tfjs.
import { CONTRASTIVE_VARIANTS, contrastiveInputs, type Runner } from '../harness.js';
import { contrastiveLoss } from './siamese.js';
import type { TfjsEnv } from './setup.js';

export function tfjsContrastive(env: TfjsEnv, variant: string): Runner {
  const { tf } = env;
  const size = CONTRASTIVE_VARIANTS[variant];
  if (!size) throw new Error(`unknown variant ${variant} (${Object.keys(CONTRASTIVE_VARIANTS).join(', ')})`);
  const { n, d } = size;
  const host = contrastiveInputs(n, d);
  const a = tf.tensor2d(host.a, [n, d]);
  const b = tf.tensor2d(host.b, [n, d]);
  const y = tf.tensor2d(host.label, [n, 1]);
  // dy defaults to ones: the same head gradient as webgluon's loss.backward() on the (N, 1) loss.
  const grads = tf.grads((p, q) => contrastiveLoss(tf, p, q, y));
  return {
    adapter: env.adapter,
    items: { count: n, unit: 'rows' },
    resetStats: env.resetStats,
    stats: env.stats,
    notes: ['timed: forward + backward, then the GPU queue drained (no readback)'],
    async step() {
      const [ga, gb] = grads([a, b]);
      await env.sync();
      tf.dispose([ga, gb]);
    },
    async check() {
      const [ga, gb] = grads([a, b]);
      const loss = contrastiveLoss(tf, a, b, y);
      const out = {
        lossSum: (await tf.sum(loss).data())[0],
        gradAbsSumA: (await tf.sum(tf.abs(ga)).data())[0],
        gradAbsSumB: (await tf.sum(tf.abs(gb)).data())[0],
      };
      return out;
    },
  };
}
