// Where a hybridized Siamese training step spends its time: the step's kernels are recorded,
// then each is replayed on its own (submitted and waited for, `repeats` times) and timed, with its
// FLOPs and bytes counted from the shapes and read against the adapter's FMA ceiling and streaming
// bandwidth (measured first by bench/ceiling.ts's probes; --no-ceiling skips them).
//   npx tsx scripts/kernel_profile.ts [imageSize=105] [repeats=3] [eager] [--no-ceiling] [--json out.json]
import { writeFileSync } from 'node:fs';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';
import { getBackend } from '../src/runtime/device.js';
import { describeCeiling, measureCeiling, type Ceiling } from '../bench/ceiling.js';
import { profileStep, profileTable } from '../bench/profile.js';

const argv = process.argv.slice(2);
const jsonAt = argv.indexOf('--json');
const jsonOut = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const positional = argv.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));
const size = Number(positional[0] ?? 105);
const repeats = Number(positional[1] ?? 3);
const hybrid = positional[2] !== 'eager';
const withCeiling = !argv.includes('--no-ceiling');

nd.random.seed(1);
const model = new Siamese();
model.initialize(new init.Xavier());
const loss = new ContrastiveLoss();
if (hybrid) {
  model.hybridize();
  loss.hybridize();
}
const x1 = nd.random.uniform(0, 1, [16, 1, size, size]);
const x2 = nd.random.uniform(0, 1, [16, 1, size, size]);
const y = nd.array(Float32Array.from({ length: 16 }, (_, i) => i % 2), { shape: [16, 1] });
model.forward(x1, x2);
const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: 0.001 });
const step = async () => {
  const l = autograd.record(() => {
    const [a, b] = model.forward(x1, x2) as [Tensor, Tensor];
    return loss.forward(a, b, y) as Tensor;
  });
  l.backward();
  trainer.step(16);
  await l.data();
};
await step();
await step();
const backend = await getBackend();
let ceiling: Ceiling | null = null;
if (withCeiling && backend.kind === 'gpu') {
  ceiling = await measureCeiling(backend.device, backend.adapterName);
  console.log(`${describeCeiling(ceiling)}\n`);
}
// The third step, recorded: its storages are kept alive for the replays.
const profile = await profileStep(step, repeats);
console.log(profileTable(profile, ceiling, `${hybrid ? 'hybridized' : 'eager'} step at ${size}x${size}`, 1000));
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ size, hybrid, ceiling, profile }, null, 1)}\n`);
process.exit(0);
