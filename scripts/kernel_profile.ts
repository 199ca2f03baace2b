// Where a hybridized Siamese training step spends its time: the step's kernels are recorded,
// then each is replayed on its own (submitted and waited for, `repeats` times) and timed.
//   npx tsx scripts/kernel_profile.ts [imageSize=105] [repeats=3] [eager]
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';
import { enqueue, flush, tapDispatches, type Dispatch } from '../src/runtime/executor.js';
import { getDevice } from '../src/runtime/device.js';

const size = Number(process.argv[2] ?? 105);
const repeats = Number(process.argv[3] ?? 3);
const hybrid = process.argv[4] !== 'eager';
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
// The second step, recorded: its storages are kept alive for the replays.
const recorded: Dispatch[] = [];
tapDispatches((d) => {
  [...d.reads, ...d.writes].forEach((s) => s.retain());
  recorded.push(d);
});
await step();
tapDispatches(null);

const device = await getDevice();
const done = async () => {
  await flush();
  await device.queue.onSubmittedWorkDone();
};
const byLabel = new Map<string, number>();
let total = 0;
for (const d of recorded) {
  enqueue(d);
  await done(); // first run: pipeline ready, buffers bound
  const t0 = performance.now();
  for (let r = 0; r < repeats; r++) {
    enqueue(d);
    await done();
  }
  const ms = (performance.now() - t0) / repeats;
  // Group the kernels of one plan position (Adam's updates share a label).
  const label = d.kernel.label.replace(/ @ .*$/, '');
  byLabel.set(label, (byLabel.get(label) ?? 0) + ms);
  total += ms;
}
const rows = [...byLabel].sort((a, b) => b[1] - a[1]);
console.log(`${recorded.length} kernels in a ${hybrid ? 'hybridized' : 'eager'} step at ${size}x${size}, each timed alone (mean of ${repeats} runs):`);
for (const [label, ms] of rows) console.log(`${ms.toFixed(1).padStart(9)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%  ${label}`);
console.log(`${total.toFixed(1).padStart(9)} ms in all`);
