// Dead storages go back to the buffer pool at the start of the next flush when none of its
// kernels uses them, so that the flush's outputs can take their buffers (and the memory stops
// counting as live before the batch allocates), instead of at its end.
import { describe, expect, it } from 'vitest';
import { getDevice } from '../src/runtime/device.js';
import { enqueue, flush, readStorage, type ComputeKernel } from '../src/runtime/executor.js';
import { resetStats, stats } from '../src/runtime/stats.js';
import { Storage } from '../src/runtime/storage.js';

const N = 1 << 16;
const fill: ComputeKernel = {
  label: 'retire_fill',
  wgsl: `@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < ${N}u) { o[g.x] = 2.0; } }`,
  meta: null, workgroups: [N / 64, 1, 1],
  runOnHost: (_r, w) => w[0].fill(2),
};

describe('retiring dead storages', () => {
  it('a storage released between flushes lends its buffer to the next flush\'s output', async () => {
    await getDevice();
    const a = new Storage(N, 'float32');
    enqueue({ kernel: fill, reads: [], writes: [a] });
    await flush();
    const buffer = a.buffer;
    expect(buffer).not.toBeNull();
    a.release();
    resetStats();
    const b = new Storage(N, 'float32');
    enqueue({ kernel: fill, reads: [], writes: [b] });
    await flush();
    expect(b.buffer).toBe(buffer);
    expect(stats().allocations).toBe(0);
    expect(stats().peakBytes).toBe(stats().liveBytes);
    expect((await readStorage(b))[N - 1]).toBe(2);
    b.release();
    await flush();
  });

  it('one that a kernel of the batch still reads keeps its buffer until the batch is encoded', async () => {
    await getDevice();
    const copy: ComputeKernel = {
      label: 'retire_copy',
      wgsl: `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < ${N}u) { o[g.x] = a[g.x] + 1.0; } }`,
      meta: null, workgroups: [N / 64, 1, 1],
      runOnHost: (r, w) => w[0].set(r[0].map((x) => x + 1)),
    };
    const a = new Storage(N, 'float32', new Float32Array(N).fill(5));
    const b = new Storage(N, 'float32');
    enqueue({ kernel: copy, reads: [a], writes: [b] });
    a.release();
    expect(Array.from((await readStorage(b)).subarray(0, 3))).toEqual([6, 6, 6]);
    expect(a.buffer).toBeNull();
    b.release();
    await flush();
  });
});
