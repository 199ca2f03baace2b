// Case: the contrastive loss alone, forward + backward w.r.t. both inputs (head gradient ones),
// at --variant n262144xd2 (N=262,144 x D=2) or n16384xd128 (N=16,384 x D=128).
import { runCase } from '../harness.js';
import { initTfjs } from '../tfjs/setup.js';
import { tfjsContrastive } from '../tfjs/contrastive.js';
import { pytorchRunner } from './_pytorch.js';
import { webgluonContrastive } from './_webgluon.js';

await runCase('contrastive-loss', {
  'webgluon-eager': (a) => webgluonContrastive('eager', a.variant || 'n262144xd2'),
  'webgluon-hybrid': (a) => webgluonContrastive('hybrid', a.variant || 'n262144xd2'),
  'tfjs-webgpu': async (a) => tfjsContrastive(await initTfjs('webgpu'), a.variant || 'n262144xd2'),
  'tfjs-cpu': async (a) => tfjsContrastive(await initTfjs('cpu'), a.variant || 'n262144xd2'),
  'pytorch-cpu': (a) => pytorchRunner('contrastive-loss', a.variant || 'n262144xd2'),
});
