// The page's side of the Siamese example: the tutorial's model (examples/siamese/model.ts) made,
// embedded and trained one step at a time with the browser build, and moved in and out as bytes.
import { autograd, init, nd, tidy, gluon, type Tensor } from '../../src/browser.js';
import { loadParametersFromBytes, saveParametersToBytes } from '../../src/nn/param_bytes.js';
import { ContrastiveLoss, Siamese } from '../siamese/model.js';

export { ContrastiveLoss, Siamese };

/** A Siamese network for size×size images with every parameter made (deferred shapes fixed eagerly). */
export function makeSiamese(size: number, opts: { hybridize?: boolean; params?: Uint8Array } = {}): Siamese {
  const model = new Siamese();
  model.initialize(new init.Xavier());
  const probe = nd.zeros([1, 1, size, size]);
  autograd.pause(() => model.forward(probe, probe));
  probe.dispose();
  if (opts.params) loadParametersFromBytes(model, opts.params);
  if (opts.hybridize) model.hybridize();
  return model;
}

/** Embeddings of images (N×1×S×S, flat) with one tower, in predict mode: N×2 values. */
export async function embed(model: Siamese, images: Float32Array, size: number): Promise<Float32Array> {
  const n = images.length / (size * size);
  const out = tidy(() => autograd.predictMode(() => model.cnn.forward(nd.array(images, { shape: [n, 1, size, size] })) as Tensor));
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

/** The parameters as a safetensors file in memory. */
export function paramsToBytes(model: Siamese): Promise<Uint8Array> {
  return saveParametersToBytes(model);
}

export interface StepResult {
  /** Mean loss of the step, read back. */
  loss: number;
  /** Per-pair losses, when asked for. */
  losses?: Float32Array;
}

/**
 * One training step as train.ts takes it: forward both images, the contrastive loss, backward,
 * Adam. Everything it makes except the parameters and Adam's state is disposed.
 */
export async function trainStep(model: Siamese, loss: ContrastiveLoss, trainer: gluon.Trainer, a: Tensor, b: Tensor, label: Tensor,
  opts: { perPair?: boolean } = {}): Promise<StepResult> {
  const [mean, perPair] = tidy(() => {
    const value = autograd.record(() => {
      const [o1, o2] = model.forward(a, b);
      return loss.forward(o1, o2, label);
    });
    value.backward();
    trainer.step(a.shape[0]);
    return [nd.mean(value), opts.perPair ? value : null] as const;
  });
  const result: StepResult = { loss: await mean.item() };
  if (perPair) result.losses = (await perPair.data()) as Float32Array;
  mean.dispose();
  perPair?.dispose();
  return result;
}
