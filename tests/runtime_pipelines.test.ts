// Pipelines created ahead of their first dispatch (runtime/executor.ts preparePipelines): compiled
// plans ask for all of theirs at once with createComputePipelineAsync; flushes wait for the ones
// they need instead of creating them again synchronously, and a shader that does not compile is
// still reported once, naming its kernel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autograd, nd, type Tensor } from '../src/index.js';
import { compileFunction } from '../src/compiler/compile.js';
import { getDevice } from '../src/runtime/device.js';
import { enqueue, flush, preparePipelines, readStorage, type ComputeKernel } from '../src/runtime/executor.js';
import { pipelineTimings, resetPipelineTimings } from '../src/runtime/pipeline_cache.js';
import { Storage } from '../src/runtime/storage.js';

let serial = 0;
/** A kernel adding `k` to each of n values (a distinct WGSL per k and per test run). */
function addKernel(n: number, k: number, label = `add_${k}`): ComputeKernel {
  const wgsl = `// ${label} ${serial++}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < ${n}u) { o[g.x] = a[g.x] + ${k.toFixed(1)}; }
}`;
  return {
    label, wgsl, meta: null, workgroups: [Math.ceil(n / 64), 1, 1],
    runOnHost: (reads, writes) => writes[0].set(reads[0].map((x) => x + k)),
  };
}

describe('pipelines prepared ahead of the first dispatch', () => {
  // On by default only where the driver compiles at pipeline creation (not lavapipe): forced here.
  const saved = process.env.WEBGLUON_ASYNC_PIPELINES;
  beforeAll(() => {
    process.env.WEBGLUON_ASYNC_PIPELINES = '1';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.WEBGLUON_ASYNC_PIPELINES;
    else process.env.WEBGLUON_ASYNC_PIPELINES = saved;
  });

  it('are created asynchronously, and the flush that needs them waits instead of creating them again', async () => {
    await getDevice();
    const kernels = [1, 2, 3].map((k) => addKernel(4, k));
    resetPipelineTimings();
    preparePipelines(kernels.map((kernel) => ({ kernel, reads: 1, writes: 1 })));
    expect(pipelineTimings.asyncCreated).toBe(3);
    let x = new Storage(4, 'float32', new Float32Array([1, 2, 3, 4]));
    for (const kernel of kernels) {
      const y = new Storage(4, 'float32');
      enqueue({ kernel, reads: [x], writes: [y] });
      x = y;
    }
    expect(Array.from(await readStorage(x))).toEqual([7, 8, 9, 10]);
    expect(pipelineTimings.syncCreated).toBe(0);
    expect(pipelineTimings.asyncFailed).toBe(0);
  });

  it('an automatic flush of a full batch is put off until they are ready, then submits every dispatch', async () => {
    await getDevice();
    const kernel = addKernel(4, 1);
    resetPipelineTimings();
    preparePipelines([{ kernel, reads: 1, writes: 1 }]);
    let x = new Storage(4, 'float32', new Float32Array(4));
    // More than one batch (64) while the pipeline may still be on its way.
    for (let i = 0; i < 150; i++) {
      const y = new Storage(4, 'float32');
      enqueue({ kernel, reads: [x], writes: [y] });
      x.release();
      x = y;
    }
    expect(Array.from(await readStorage(x))).toEqual([150, 150, 150, 150]);
    expect(pipelineTimings.syncCreated).toBe(0);
  });

  it('a shader that does not compile is reported once by the flush that needs it, naming the kernel', async () => {
    await getDevice();
    const bad: ComputeKernel = {
      label: 'prepared_bad_wgsl', wgsl: `@compute @workgroup_size(1) fn main() { let x: f32 = ; } // ${serial++}`,
      meta: null, workgroups: [1, 1, 1], runOnHost: () => { throw new Error('no CPU version'); },
    };
    resetPipelineTimings();
    preparePipelines([{ kernel: bad, reads: 0, writes: 1 }]);
    enqueue({ kernel: bad, reads: [], writes: [new Storage(4, 'float32')] });
    const e = await flush().catch((err: Error) => err);
    expect((e as Error).message).toMatch(/^webgluon: kernel `prepared_bad_wgsl` failed to compile: /);
    expect((e as Error).message).toContain('--- WGSL ---');
    expect(pipelineTimings.asyncFailed).toBe(1);
    // Reported once: the next flush is clean, and the runtime still works.
    await flush();
    expect(Array.from(await nd.add(nd.array([1, 2]), 1).data())).toEqual([2, 3]);
  });

  it('WEBGLUON_ASYNC_PIPELINES=0 leaves every pipeline to the flush that needs it', async () => {
    await getDevice();
    const kernel = addKernel(4, 5);
    process.env.WEBGLUON_ASYNC_PIPELINES = '0';
    try {
      resetPipelineTimings();
      preparePipelines([{ kernel, reads: 1, writes: 1 }]);
      expect(pipelineTimings.asyncCreated).toBe(0);
      const y = new Storage(4, 'float32');
      enqueue({ kernel, reads: [new Storage(4, 'float32', new Float32Array(4))], writes: [y] });
      expect(Array.from(await readStorage(y))).toEqual([5, 5, 5, 5]);
      expect(pipelineTimings.syncCreated).toBe(1);
    } finally {
      process.env.WEBGLUON_ASYNC_PIPELINES = '1';
    }
  });

  it('a compiled function creates every pipeline of its plans asynchronously on its first call', async () => {
    await getDevice();
    const f = compileFunction((F, a, b) => F.mul(F.exp(F.sub(a, b)), F.sum(F.square(a), 1, true)), { name: 'prepared_fn' });
    const a = nd.array(new Float32Array(12).map((_, i) => i / 12), { shape: [3, 4] });
    const b = nd.array(new Float32Array(12).map((_, i) => 1 - i / 24), { shape: [3, 4] });
    a.attachGrad();
    resetPipelineTimings();
    const y = autograd.record(() => f(a, b) as Tensor);
    y.backward();
    const [yv, ga] = await Promise.all([y.data(), a.grad!.data()]);
    expect(pipelineTimings.asyncCreated).toBeGreaterThan(0);
    // Every kernel the two plans dispatched had its pipeline made ahead: none synchronously, but
    // for the backward head (ones) made by eager dispatch.
    const plans = [...f.plans.values()][0];
    const planKernels = (plans.trainForward?.kernels.length ?? 0) + (plans.backward?.kernels.length ?? 0);
    expect(pipelineTimings.asyncCreated).toBeLessThanOrEqual(planKernels);
    expect(pipelineTimings.syncCreated).toBeLessThanOrEqual(1);
    const av = await a.data();
    const bv = await b.data();
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let c = 0; c < 4; c++) s += av[r * 4 + c] ** 2;
      for (let c = 0; c < 4; c++) expect(yv[r * 4 + c]).toBeCloseTo(Math.exp(av[r * 4 + c] - bv[r * 4 + c]) * s, 4);
    }
    expect(ga.length).toBe(12);
  });
});
