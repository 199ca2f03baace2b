// Prints how many kernels each part of one hybridized Siamese training step issues.
import { autograd, gluon, init, nd, runtime, type Tensor } from '../src/index.js';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';

const size = Number(process.argv[2] ?? 28);
nd.random.seed(1);
const model = new Siamese();
model.initialize(new init.Xavier());
const loss = new ContrastiveLoss();
if (process.argv[3] !== 'eager') { model.hybridize(); loss.hybridize(); }
const x1 = nd.random.uniform(0, 1, [16, 1, size, size]);
const x2 = nd.random.uniform(0, 1, [16, 1, size, size]);
const y = nd.array(Float32Array.from({ length: 16 }, (_, i) => i % 2), { shape: [16, 1] });
model.forward(x1, x2);
const trainer = new gluon.Trainer(model.collectParams(), 'adam', { learningRate: 0.001 });
for (let step = 0; step < Number(process.env.STEPS ?? 5); step++) {
  await runtime.flush();
  runtime.resetStats();
  const t0 = performance.now();
  const parts: [string, number][] = [];
  let last = 0;
  const mark = (name: string) => { const d = runtime.stats().dispatches; parts.push([name, d - last]); last = d; };
  const value = autograd.record(() => {
    const [o1, o2] = model.forward(x1, x2) as [Tensor, Tensor];
    mark('model forward');
    const l = loss.forward(o1, o2, y) as Tensor;
    mark('loss forward');
    return l;
  });
  value.backward();
  mark('backward');
  trainer.step(16);
  mark('trainer');
  const m = await nd.mean(value).item();
  mark('mean');
  console.log(`step ${step}: ${((performance.now() - t0) / 1000).toFixed(2)} s, loss ${m.toFixed(4)} dispatches ${runtime.stats().dispatches} submits ${runtime.stats().submits} bind groups created ${runtime.stats().bindGroups}`, JSON.stringify(parts));
}
