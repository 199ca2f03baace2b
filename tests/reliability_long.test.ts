// Long runs (WEBGLUON_LONG=1): 10,000 hybridized and 1,000 eager training steps of a small model
// keep live GPU memory and the JS heap flat, and compile no pipeline after the first step.
// The curves are printed; scripts/long_run.ts runs the same by hand.
import { describe, expect, it } from 'vitest';
import { longRun, summarize, type LongRunResult } from '../scripts/long_run.js';

const LONG = process.env.WEBGLUON_LONG === '1';
const log = (s: string) => console.log(s);

function expectFlat(r: LongRunResult): void {
  // The first sample is taken right after step 1; the second, after warm-up, is the baseline.
  const start = r.samples[1];
  const end = r.samples[r.samples.length - 1];
  console.log(summarize(r));
  expect(r.pipelinesCompiledLater).toBe(0);
  expect(new Set(r.samples.map((s) => s.pipelines)).size).toBe(1);
  expect(end.liveBytes).toBeLessThanOrEqual(start.liveBytes * 1.25 + 64 * 1024);
  expect(Math.max(...r.samples.slice(1).map((s) => s.liveBytes))).toBeLessThanOrEqual(start.liveBytes * 2 + 256 * 1024);
  expect(end.heapUsed).toBeLessThanOrEqual(start.heapUsed + 8 * 2 ** 20);
  // Freed buffers are reused: what the pool holds stays bounded (the runtime collects garbage
  // after 64 MiB of buffer churn), it does not grow with the step count.
  expect(end.pooledBytes).toBeLessThanOrEqual(160 * 2 ** 20);
  expect(Number.isFinite(end.loss) && end.loss < r.samples[0].loss).toBe(true);
}

describe.skipIf(!LONG)('long runs (WEBGLUON_LONG=1)', () => {
  it('10,000 hybridized training steps: flat live GPU bytes and heap, no new pipelines', async () => {
    expectFlat(await longRun({ steps: 10_000, hybridize: true, sampleEvery: 500, log }));
  }, 3_600_000);

  it('1,000 eager training steps: flat live GPU bytes and heap, no new pipelines', async () => {
    expectFlat(await longRun({ steps: 1000, hybridize: false, sampleEvery: 100, log }));
  }, 3_600_000);
});
