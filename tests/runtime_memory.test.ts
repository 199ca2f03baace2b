// The runtime's promises: eager steps without dispose() keep GPU memory flat (tensors are freed
// when collected), the pool stops allocating, and a script using webgluon exits by itself.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { autograd, nd } from '../src/ndarray/index.js';
import { stats } from '../src/runtime/stats.js';
import { flush } from '../src/runtime/executor.js';

/** Lets FinalizationRegistry callbacks run: they need a GC and a turn of the event loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('runtime memory', () => {
  it('keeps live bytes flat over 1,000 eager training steps with no dispose() calls', async () => {
    nd.random.seed(3);
    const w = nd.random.normal(0, 0.1, [64, 32]);
    const x = nd.random.uniform(-1, 1, [16, 64]);
    const samples: number[] = [];
    let param = w;
    for (let step = 0; step < 1000; step++) {
      param.attachGrad();
      const loss = autograd.record(() => nd.mean(nd.square(nd.tanh(nd.sum(nd.mul(nd.expandDims(x, 2), param), 1)))));
      loss.backward();
      param = nd.sub(param, nd.mul(param.grad!, 0.1)).detach();
      if (step % 100 === 99) {
        await flush();
        await settle();
        samples.push(stats().liveBytes);
      }
    }
    await loss_value(param);
    // After warm-up, live memory must not grow with the step count.
    const early = samples[2];
    const late = samples[samples.length - 1];
    expect(late).toBeLessThanOrEqual(early * 1.5 + 1e6);
  });
});

async function loss_value(t: { data(): Promise<unknown> }): Promise<void> {
  await t.data();
}

describe('process lifetime', () => {
  it('a script that used the GPU exits on its own', () => {
    const script = `import { nd } from './src/ndarray/index.js';
const t = nd.add(nd.array([1, 2, 3]), 1);
console.log(JSON.stringify(Array.from(await t.data())));`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(), encoding: 'utf8', timeout: 60_000,
    });
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toBe('[2,3,4]');
  });
});
