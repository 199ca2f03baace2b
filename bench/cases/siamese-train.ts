// Case: one training step of the tutorial's Siamese network (16 pairs of 1x105x105, both towers
// sharing weights, contrastive loss, backward, Adam lr 0.001), the scalar loss awaited each step.
import { parseArgs, runCase } from '../harness.js';
import { initTfjs } from '../tfjs/setup.js';
import { tfjsSiameseTrain } from '../tfjs/siamese.js';
import { pytorchRunner } from './_pytorch.js';
import { webgluonSiameseTrain } from './_webgluon.js';

// Variant 'batched': both images of a pair go through the tower as one batch of 2N (the same
// arithmetic, in every system); the default calls the tower twice, as the tutorial writes it.
const batched = parseArgs(process.argv.slice(2)).variant === 'batched';

await runCase('siamese-train', {
  'webgluon-eager': () => webgluonSiameseTrain('eager', batched),
  'webgluon-hybrid': () => webgluonSiameseTrain('hybrid', batched),
  'tfjs-webgpu': async () => tfjsSiameseTrain(await initTfjs('webgpu'), batched),
  'tfjs-cpu': async () => tfjsSiameseTrain(await initTfjs('cpu'), batched),
  'pytorch-cpu': () => pytorchRunner('siamese-train', batched ? 'batched' : ''),
});
