// `npx tsx bench/batch_sizes.ts`: the hybridized Siamese network (inference) fed COUNT distinct batch
// sizes, 1..COUNT in a shuffled order, against COUNT calls at the middle size: the same rows in all.
// Prints and writes bench/results/batch-sizes-<time>.json: seconds, new pipelines, live GPU bytes.
// SIZE (default 28) is the image side, COUNT (default 100) the number of sizes.
import { cpus } from 'node:os';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { nd, runtime, tidy } from '../src/index.js';
import { Siamese } from '../examples/siamese/model.js';

const device = await runtime.init();
const size = Number(process.env.SIZE ?? 28);
const count = Number(process.env.COUNT ?? 100);
const net = new Siamese();
net.initialize();
net.hybridize();

const call = async (n: number) => {
  const [a, b] = tidy(() => net.forward(nd.random.uniform(0, 1, [n, 1, size, size]), nd.random.uniform(0, 1, [n, 1, size, size])));
  await a.data();
  a.dispose();
  b.dispose();
};

const run = async (sizes: readonly number[]) => {
  runtime.resetStats();
  const t0 = performance.now();
  for (const n of sizes) await call(n);
  const s = runtime.stats();
  return { seconds: (performance.now() - t0) / 1000, newPipelines: s.pipelines, liveBytes: s.liveBytes, peakBytes: s.peakBytes };
};

// Compiled before the clock starts: the one-size loop then measures steady calls only.
const mid = Math.round((count + 1) / 2);
await call(mid);
const oneSize = await run(Array.from({ length: count }, () => mid));

let seed = 7;
const order = Array.from({ length: count }, (_, i) => i + 1);
for (let i = order.length - 1; i > 0; i--) {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  const j = seed % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}
const manySizes = await run(order);

const result = {
  case: 'batch-sizes', cpu: cpus()[0]?.model ?? 'unknown', device, imageSize: size, count,
  oneSize, manySizes, ratio: manySizes.seconds / oneSize.seconds,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/batch-sizes-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
