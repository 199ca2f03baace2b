// What tests/browser.test.ts asks the page through window.__webgluon.checks: eager against
// hybridized on the contrastive loss and on one Siamese training step, run here in the browser,
// and embeddings under parameters handed over as bytes (saved by Node, or to be loaded by Node).
import { autograd, gluon, nd, runtime, type Tensor } from '../../src/browser.js';
import { ContrastiveLoss, embed, makeSiamese, paramsToBytes, trainStep, type Siamese } from './siamese.js';

/** The largest |a - b| / (atol + |b|) over the elements, where atol is `floor` × the largest |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) return Infinity;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  const atol = floor * scale || 1e-30;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + Math.abs(b[i])));
  return worst;
}

export interface Comparison {
  /** What was compared, and the worst relative error found (see relativeError). */
  [what: string]: number;
}

async function values(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** ContrastiveLoss eager against hybridized: per-pair losses and both input gradients. */
async function contrastive(): Promise<Comparison> {
  nd.random.seed(5);
  const a = nd.random.normal(0, 1, [256, 2]);
  const b = nd.random.normal(0, 1, [256, 2]);
  const label = nd.greater(nd.random.uniform(0, 1, [256, 1]), 0.5);
  const run = async (hybrid: boolean) => {
    const loss = new ContrastiveLoss(6);
    if (hybrid) loss.hybridize();
    const x = a.copy();
    const y = b.copy();
    x.attachGrad();
    y.attachGrad();
    const out = autograd.record(() => loss.forward(x, y, label));
    out.backward();
    return { out: await values(out), ga: await values(x.grad!), gb: await values(y.grad!) };
  };
  const eager = await run(false);
  const hybrid = await run(true);
  return {
    'contrastive loss': relativeError(hybrid.out, eager.out),
    'contrastive ∂a': relativeError(hybrid.ga, eager.ga),
    'contrastive ∂b': relativeError(hybrid.gb, eager.gb),
  };
}

/** One Siamese step from the same weights, eager and hybridized: losses, every gradient, the loss after Adam. */
async function siameseStep(size: number, batch: Float32Array[], label: Float32Array, params: Uint8Array): Promise<Comparison> {
  const n = label.length;
  const run = async (hybrid: boolean) => {
    const model = makeSiamese(size, { params, hybridize: hybrid });
    const loss = new ContrastiveLoss(6);
    if (hybrid) loss.hybridize();
    const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: 0.001 });
    const a = nd.array(batch[0], { shape: [n, 1, size, size] });
    const b = nd.array(batch[1], { shape: [n, 1, size, size] });
    const y = nd.array(label, { shape: [n, 1] });
    const grads: Float32Array[] = [];
    const first = await trainStepKeepingGrads(model, loss, trainer, a, b, y, grads);
    await runtime.flush();
    runtime.resetStats();
    const second = await trainStep(model, loss, trainer, a, b, y, { perPair: true });
    return { first, grads, second: second.losses!, dispatches: runtime.stats().dispatches };
  };
  const eager = await run(false);
  const hybrid = await run(true);
  // Not errors: the kernels of the second step, which show that the hybridized model ran compiled.
  dispatches.eager = eager.dispatches;
  dispatches.hybridized = hybrid.dispatches;
  const out: Comparison = { 'siamese losses': relativeError(hybrid.first, eager.first) };
  eager.grads.forEach((g, i) => (out[`siamese ∂param ${i}`] = relativeError(hybrid.grads[i], g)));
  out['siamese losses after Adam'] = relativeError(hybrid.second, eager.second);
  return out;
}

async function trainStepKeepingGrads(model: Siamese, loss: ContrastiveLoss, trainer: gluon.Trainer, a: Tensor, b: Tensor, y: Tensor,
  grads: Float32Array[]): Promise<Float32Array> {
  const value = autograd.record(() => {
    const [o1, o2] = model.forward(a, b);
    return loss.forward(o1, o2, y);
  });
  value.backward();
  for (const p of model.collectParams().values()) grads.push(await values(p.grad()));
  trainer.step(a.shape[0]);
  const losses = await values(value);
  value.dispose();
  return losses;
}

const dispatches = { eager: 0, hybridized: 0 };

/** The checks the test runs, given the page's data and image size. */
export function makeChecks(size: number, testBatch: () => { a: Float32Array; b: Float32Array; label: Float32Array }, trained: () => Siamese | null) {
  return {
    /** The worst relative errors, and the dispatches of one training step in each mode. */
    async eagerVsHybrid(): Promise<{ errors: Comparison; dispatches: { eager: number; hybridized: number } }> {
      const { a, b, label } = testBatch();
      nd.random.seed(11);
      const params = await paramsToBytes(makeSiamese(size));
      const errors = { ...(await contrastive()), ...(await siameseStep(size, [a, b], label, params)) };
      return { errors, dispatches: { ...dispatches } };
    },
    /** Embeddings of `images` (flat N×S×S) by a network given its parameters as base64 safetensors bytes. */
    async embedWith(paramsBase64: string, images: number[]): Promise<number[]> {
      const model = makeSiamese(size, { params: fromBase64(paramsBase64) });
      return Array.from(await embed(model, Float32Array.from(images), size));
    },
    /** The trained network's parameters (base64 safetensors) and its embeddings of `images`. */
    async trainedParams(images: number[]): Promise<{ params: string; embeddings: number[] }> {
      const model = trained();
      if (!model) throw new Error('the page has not trained a model yet');
      return { params: toBase64(await paramsToBytes(model)), embeddings: Array.from(await embed(model, Float32Array.from(images), size)) };
    },
  };
}

export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}
