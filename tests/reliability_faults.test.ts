// Faults below the API: a shader that does not compile, a dispatch that fails WebGPU validation,
// a buffer larger than the device allows, and a lost device. Each becomes a JS error naming the
// kernel (or the tensor), never a crash or a hang, and the runtime keeps working afterwards.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { autograd, gluon, init, nd, type Tensor } from '../src/index.js';
import { destroyDevice, getDevice } from '../src/runtime/device.js';
import { enqueue, flush, readStorage } from '../src/runtime/executor.js';
import { stats } from '../src/runtime/stats.js';
import { Storage } from '../src/runtime/storage.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

afterEach(() => vi.restoreAllMocks());

/** A hand-written kernel through the executor, as emitted kernels are. */
function dispatch(label: string, wgsl: string, reads: Storage[], writes: Storage[]): void {
  const runOnHost = () => {
    throw new Error(`${label} has no CPU version`);
  };
  enqueue({ kernel: { label, wgsl, meta: null, workgroups: [1, 1, 1], runOnHost }, reads, writes });
}

async function stillWorks(): Promise<void> {
  expect(Array.from(await nd.add(nd.array([1, 2]), 1).data())).toEqual([2, 3]);
}

/** Settles within `ms` or fails the test: nothing may hang. */
function within<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms))]);
}

describe('GPU errors become JS errors naming the kernel', () => {
  it('a WGSL that fails to compile, every time it is used', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      dispatch('fault_bad_wgsl', '@compute @workgroup_size(1) fn main() { let x: f32 = ; }', [], [new Storage(4, 'float32')]);
      const e = await flush().catch((err: Error) => err);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(/^webgluon: kernel `fault_bad_wgsl` failed to compile: /);
      expect((e as Error).message).toMatch(/line 1: /);
      expect((e as Error).message).toContain('--- WGSL ---\n@compute');
      await stillWorks();
    }
  });

  it('a dispatch that fails validation (a buffer smaller than the shader needs)', async () => {
    const wgsl = `@group(0) @binding(0) var<storage, read> a: array<f32, 1024>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(1) fn main() { o[0] = a[5]; }`;
    const out = new Storage(4, 'float32');
    dispatch('fault_needs_4k_input', wgsl, [new Storage(4, 'float32', new Float32Array(4))], [out]);
    const e = await flush().catch((err: Error) => err);
    expect((e as Error).message).toMatch(/^webgluon: GPU validation error in a batch of 1 kernels \(fault_needs_4k_input\): .*too small/s);
    // What the failed kernel should have written is not read as if it were valid.
    await expect(readStorage(out)).rejects.toThrow(/cannot read back a float32 tensor of 4 values: it was written by a batch of kernels that failed \(GPU validation error/);
    await stillWorks();
  });

  it('a buffer over the device limits is refused naming the kernel and the size; dependents fail the same way', async () => {
    const { maxBufferSize, maxStorageBufferBindingSize } = (await getDevice()).limits;
    const live = stats().liveBytes;
    const huge = nd.zeros([Math.floor(maxBufferSize / 4) + 4096]);
    const e = await huge.data().catch((err: Error) => err);
    expect((e as Error).message).toMatch(/^webgluon: out of GPU memory: kernel `broadcastTo` needs [\d.]+ GiB for its output 0 \(a float32 tensor of \d+ values\), more than one buffer can hold on this device \(maxBufferSize [\d.]+ GiB\); use smaller batches/);
    const part = nd.exp(nd.slice(nd.zeros([Math.floor(maxBufferSize / 4) + 4096]), [0], [4]));
    await expect(part.data()).rejects.toThrow(/out of GPU memory: kernel `broadcastTo` needs/);
    if (maxStorageBufferBindingSize < maxBufferSize) {
      // Under maxBufferSize but over what one binding can hold.
      const wide = nd.add(nd.zeros([Math.floor(maxStorageBufferBindingSize / 4) + 4096]), 1);
      await expect(wide.data()).rejects.toThrow(/out of GPU memory: kernel `broadcastTo` needs [\d.]+ MiB .*maxStorageBufferBindingSize/);
    }
    expect(stats().liveBytes).toBe(live);
    await stillWorks();
  });
});

describe('a lost device', () => {
  it('is recreated by the next op; old tensors fail clearly, small constants survive', async () => {
    const old = await getDevice();
    const computed = nd.exp(nd.zeros([1000]));
    const constant = nd.array([1, 2, 3]);
    await computed.data();
    await constant.data();
    destroyDevice();
    await stillWorks();
    expect(await getDevice()).not.toBe(old);
    await expect(computed.data()).rejects.toThrow(/^webgluon: cannot read back a float32 tensor of 1000 values: its GPU memory was on a device that has been lost or destroyed/);
    await expect(nd.add(computed, 1).data()).rejects.toThrow(/^webgluon: kernel `add` cannot read its input 0, a float32 tensor of 1000 values: its GPU memory was on a device that has been lost/);
    expect(Array.from(await nd.mul(constant, 2).data())).toEqual([2, 4, 6]);
  });

  it('a loss nobody asked for is reported, and the next call gets a new device', async () => {
    // Reported with console.warn (stderr in Node, the console in a browser).
    const lines: string[] = [];
    vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const device = await getDevice();
    device.destroy();
    for (let i = 0; i < 200 && !lines.some((l) => l.includes('device was lost')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(lines.join('')).toMatch(/webgluon: the GPU device was lost \(destroyed.*\); tensors on it are gone, the next call creates a new device/);
    await stillWorks();
    expect(await getDevice()).not.toBe(device);
  });

  it('readbacks in flight when the device goes settle: with the values or a clear error, never a hang', async () => {
    for (const delay of ['none', 'tick', 'timer'] as const) {
      await stillWorks();
      const x = nd.exp(nd.mul(nd.ones([1 << 16]), 0));
      const reading = x.data();
      if (delay === 'tick') await new Promise((r) => setImmediate(r));
      if (delay === 'timer') await new Promise((r) => setTimeout(r, 5));
      destroyDevice();
      const got = await within(reading.then((v) => v, (e: Error) => e));
      if (got instanceof Error) expect(got.message).toMatch(/device (was|that has been) lost/);
      else expect(got.every((v) => v === 1)).toBe(true);
    }
    await stillWorks();
  });

  it('hybridized training: the step fails naming the lost memory, then resumes from a checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgluon-lost-'));
    try {
      nd.random.seed(5);
      const net = new gluon.nn.HybridSequential();
      net.add(new gluon.nn.Dense(8, { activation: 'relu' }), new gluon.nn.Dense(1));
      net.initialize(new init.Xavier());
      net.hybridize();
      const trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.01 });
      const step = async (x: Tensor, y: Tensor) => {
        const loss = autograd.record(() => nd.mean(nd.square(nd.sub(net.forward(x) as Tensor, y))));
        loss.backward();
        trainer.step(x.shape[0]);
        return loss.item();
      };
      const data = () => [nd.random.uniform(-1, 1, [16, 300]), nd.random.uniform(-1, 1, [16, 1])] as const;
      const [x, y] = data();
      await step(x, y);
      await net.saveParameters(join(dir, 'ckpt.safetensors'));
      destroyDevice();
      await expect(within(step(x, y))).rejects.toThrow(/^webgluon: kernel `.*` cannot read its input \d+, a float32 tensor of \d+ values: its GPU memory was on a device that has been lost or destroyed.*loadParameters\(\) from a checkpoint, then trainer\.resetStates\(\)/s);
      await net.loadParameters(join(dir, 'ckpt.safetensors'));
      trainer.resetStates();
      const [x2, y2] = data();
      const losses = [await step(x2, y2), await step(x2, y2), await step(x2, y2)];
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[2]).toBeLessThan(losses[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
