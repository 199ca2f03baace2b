// Long training runs that watch for leaks: live GPU bytes (runtime.stats().liveBytes), the JS heap
// (process.memoryUsage().heapUsed, after a full collection) and the pipeline cache, sampled every
// `sampleEvery` steps. A loop that leaks shows a rising curve; one that does not stays flat.
//
//   node --import tsx scripts/long_run.ts [--steps 10000] [--eager-steps 1000] [--sample-every 500]
//
// tests/reliability_long.test.ts runs the same with WEBGLUON_LONG=1.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { autograd, gluon, init, nd, runtime, type Tensor } from '../src/index.js';
import { pipelineCount } from '../src/runtime/executor.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A full collection, with turns of the event loop so that FinalizationRegistry callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  await runtime.flush();
}

export interface Sample {
  step: number;
  liveBytes: number;
  liveBuffers: number;
  /** Free buffers the pool keeps for reuse (GPU memory held, not in use). */
  pooledBytes: number;
  /** GPU buffers created since the first step. */
  allocations: number;
  heapUsed: number;
  /** Compiled pipelines held by the cache. */
  pipelines: number;
  loss: number;
}

export interface LongRunResult {
  mode: 'hybridized' | 'eager';
  steps: number;
  seconds: number;
  samples: Sample[];
  /** Pipelines after the first step, and compiled after it (should be 0). */
  pipelinesAfterFirstStep: number;
  pipelinesCompiledLater: number;
  /** GPU buffers created after the first sample (the pool should serve every later step). */
  allocationsLater: number;
}

/** A small classifier (an MLP on 64 random 20-feature samples, 4 classes) trained with Adam. */
export async function longRun(opts: { steps: number; hybridize: boolean; sampleEvery: number; log?: (s: string) => void }): Promise<LongRunResult> {
  nd.random.seed(7);
  const net = new gluon.nn.HybridSequential();
  net.add(new gluon.nn.Dense(32, { activation: 'relu', inUnits: 20 }), new gluon.nn.Dense(16, { activation: 'tanh', inUnits: 32 }), new gluon.nn.Dense(4, { inUnits: 16 }));
  net.initialize(new init.Xavier());
  const loss = new gluon.loss.SoftmaxCrossEntropyLoss();
  if (opts.hybridize) {
    net.hybridize();
    loss.hybridize();
  }
  const trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.001 });
  const x = nd.random.normal(0, 1, [64, 20]);
  const y = nd.array(Array.from({ length: 64 }, (_, i) => i % 4));
  const step = async (): Promise<number> => {
    const l = autograd.record(() => loss.forward(net.forward(x) as Tensor, y) as Tensor);
    l.backward();
    trainer.step(64);
    // A training loop reads its loss every step: one sync per step, as in the Siamese example.
    return nd.mean(l).item();
  };

  const started = performance.now();
  let last = await step();
  const pipelinesAfterFirstStep = pipelineCount();
  runtime.resetStats();
  const samples: Sample[] = [];
  const sample = async (s: number) => {
    await settle();
    const st = runtime.stats();
    samples.push({ step: s, liveBytes: st.liveBytes, liveBuffers: st.liveBuffers, pooledBytes: st.pooledBytes, allocations: st.allocations,
      heapUsed: process.memoryUsage().heapUsed, pipelines: pipelineCount(), loss: last });
    opts.log?.(`${opts.hybridize ? 'hybridized' : 'eager'} step ${s}: live ${st.liveBytes} B in ${st.liveBuffers} buffers, pooled ${st.pooledBytes} B, ` +
      `${st.allocations} buffers created, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB, ` +
      `${pipelineCount()} pipelines, loss ${last.toFixed(4)}`);
  };
  await sample(1);
  const allocationsAtFirstSample = runtime.stats().allocations;
  for (let s = 2; s <= opts.steps; s++) {
    last = await step();
    if (s % opts.sampleEvery === 0 || s === opts.steps) await sample(s);
  }
  const st = runtime.stats();
  return {
    mode: opts.hybridize ? 'hybridized' : 'eager', steps: opts.steps, seconds: (performance.now() - started) / 1000, samples,
    pipelinesAfterFirstStep, pipelinesCompiledLater: st.pipelines, allocationsLater: st.allocations - allocationsAtFirstSample,
  };
}

/** First sample after warm-up (the second one), and the last: the curve's start and end. */
export function summarize(r: LongRunResult): string {
  const start = r.samples[Math.min(1, r.samples.length - 1)];
  const end = r.samples[r.samples.length - 1];
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  return `${r.mode}, ${r.steps} steps in ${r.seconds.toFixed(0)} s: liveBytes ${start.liveBytes} B (step ${start.step}) → ${end.liveBytes} B (step ${end.step}); ` +
    `pooledBytes ${start.pooledBytes} → ${end.pooledBytes} B; heapUsed ${mib(start.heapUsed)} → ${mib(end.heapUsed)}; pipelines ${r.pipelinesAfterFirstStep} after step 1, ` +
    `${r.pipelinesCompiledLater} compiled later; ${r.allocationsLater} GPU buffers created after step 1; loss ${r.samples[0].loss.toFixed(4)} → ${end.loss.toFixed(4)}`;
}

function flag(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const every = flag(args, 'sample-every', 500);
  const log = (s: string) => console.log(s);
  const hybrid = await longRun({ steps: flag(args, 'steps', 10_000), hybridize: true, sampleEvery: every, log });
  const eager = await longRun({ steps: flag(args, 'eager-steps', 1000), hybridize: false, sampleEvery: Math.min(every, 100), log });
  console.log(summarize(hybrid));
  console.log(summarize(eager));
}
