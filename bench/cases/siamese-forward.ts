// Case: inference of the tutorial's Siamese network: both towers on 16 pairs and the pair
// distances (16 floats) read back.
import { runCase } from '../harness.js';
import { initTfjs } from '../tfjs/setup.js';
import { tfjsSiameseForward } from '../tfjs/siamese.js';
import { pytorchRunner } from './_pytorch.js';
import { webgluonSiameseForward } from './_webgluon.js';

await runCase('siamese-forward', {
  'webgluon-eager': () => webgluonSiameseForward('eager'),
  'webgluon-hybrid': () => webgluonSiameseForward('hybrid'),
  'tfjs-webgpu': async () => tfjsSiameseForward(await initTfjs('webgpu')),
  'tfjs-cpu': async () => tfjsSiameseForward(await initTfjs('cpu')),
  'pytorch-cpu': () => pytorchRunner('siamese-forward', ''),
});
