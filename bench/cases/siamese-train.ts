// Case: one training step of the tutorial's Siamese network (16 pairs of 1x105x105, both towers
// sharing weights, contrastive loss, backward, Adam lr 0.001), the scalar loss awaited each step.
import { runCase } from '../harness.js';
import { initTfjs } from '../tfjs/setup.js';
import { tfjsSiameseTrain } from '../tfjs/siamese.js';
import { webgluonSiameseTrain } from './_webgluon.js';

await runCase('siamese-train', {
  'webgluon-eager': () => webgluonSiameseTrain('eager'),
  'webgluon-hybrid': () => webgluonSiameseTrain('hybrid'),
  'tfjs-webgpu': async () => tfjsSiameseTrain(await initTfjs('webgpu')),
  'tfjs-cpu': async () => tfjsSiameseTrain(await initTfjs('cpu')),
});
