// Explicit lifetimes and the device seam: tidy() frees what a block of code made (but nothing the
// library or a pending backward() still holds), `using` disposes, runtime.init() takes a device of
// the caller's, and the error classes are the package's own.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { globals } from 'webgpu';
import { describe, expect, it } from 'vitest';
import { autograd, DeviceError, gluon, nd, runtime, ShapeError, tidy, keep, WebgluonError, type Tensor } from '../src/index.js';
import { BufferUsage, MapMode, ShaderStage } from '../src/runtime/gpu_constants.js';

const live = () => runtime.stats().liveBytes;

describe('tidy()', () => {
  it('disposes what the function made, except what it returns and what is kept', async () => {
    const before = live();
    let inner: Tensor | null = null;
    let kept: Tensor | null = null;
    const out = tidy(() => {
      const a = nd.ones([256]);
      inner = a.mul(3);
      kept = keep(a.add(1));
      return { sum: inner.add(a), parts: [a.sub(1)] };
    });
    await runtime.flush();
    expect(inner!.isDisposed).toBe(true);
    expect(kept!.isDisposed).toBe(false);
    expect(Array.from(await out.sum.data()).slice(0, 2)).toEqual([4, 4]);
    expect(Array.from(await out.parts[0].data()).slice(0, 2)).toEqual([0, 0]);
    out.sum.dispose();
    out.parts[0].dispose();
    kept!.dispose();
    await runtime.flush();
    expect(live()).toBe(before);
  });

  it('nests: an inner scope hands its result to the outer one', () => {
    let fromInner: Tensor | null = null;
    tidy(() => {
      fromInner = tidy(() => nd.ones([4]).mul(2));
      expect(fromInner.isDisposed).toBe(false);
    });
    expect(fromInner!.isDisposed).toBe(true);
  });

  it('keeps parameters, gradients and optimizer state: training inside it gives the same losses', async () => {
    const train = async (scoped: boolean) => {
      nd.random.seed(7);
      const net = new gluon.nn.Dense(3, { inUnits: 4 });
      net.initialize();
      const trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.01 });
      const x = nd.random.uniform(-1, 1, [2, 4]);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const body = () => {
          const l = autograd.record(() => nd.sum(nd.square(net.forward(x) as Tensor)));
          l.backward();
          trainer.step(2);
          return l;
        };
        const loss = scoped ? tidy(body) : body();
        losses.push(await loss.item());
      }
      expect(net.weight.data().isDisposed).toBe(false);
      expect(net.weight.grad().isDisposed).toBe(false);
      return losses;
    };
    const plain = await train(false);
    const scoped = await train(true);
    expect(scoped).toEqual(plain);
    expect(plain[3]).toBeLessThan(plain[0]);
  });

  it('spares what a pending backward() needs when the loss leaves the scope', async () => {
    const x = nd.array([1, 2, 3]);
    x.attachGrad();
    const c = nd.array([2, 2, 2]);
    const loss = autograd.record(() => tidy(() => nd.sum(nd.mul(nd.square(x), c.add(0)))));
    loss.backward();
    expect(Array.from(await x.grad!.data())).toEqual([4, 8, 12]);
  });

  it('refuses an async function', () => {
    expect(() => tidy((async () => nd.ones([1])) as unknown as () => Tensor)).toThrow(/tidy\(\) takes a synchronous function/);
  });
});

describe('Symbol.dispose', () => {
  it('`using` frees a tensor at the end of its block', async () => {
    let seen: Tensor;
    {
      using t = nd.ones([16]);
      seen = t;
      expect(t.isDisposed).toBe(false);
    }
    expect(seen.isDisposed).toBe(true);
  });
});

describe('the device seam', () => {
  it("the runtime's WebGPU constants are the specification's (Dawn's own values)", () => {
    const dawn = globals as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number>; GPUShaderStage: Record<string, number> };
    for (const [k, v] of Object.entries(BufferUsage)) expect(v, k).toBe(dawn.GPUBufferUsage[k]);
    for (const [k, v] of Object.entries(MapMode)) expect(v, k).toBe(dawn.GPUMapMode[k]);
    expect(ShaderStage.COMPUTE).toBe(dawn.GPUShaderStage.COMPUTE);
  });

  it('runtime.init({ device }) runs every kernel on the caller\'s device, and refuses another one later', () => {
    const script = `
      import { create } from 'webgpu';
      const w = await import(${JSON.stringify(resolve(__dirname, '../src/index.ts'))});
      // Dawn frees an instance's devices when the instance is collected: the caller holds it.
      const gpu = create([]);
      const adapter = await gpu.requestAdapter();
      const device = await adapter.requestDevice();
      device.label = 'a device of the caller';
      const info = await w.runtime.init({ device });
      const y = await w.nd.array([1, 2, 3]).mul(2).data();
      const { getDevice } = await import(${JSON.stringify(resolve(__dirname, '../src/runtime/device.ts'))});
      const same = (await getDevice()) === device;
      const other = await (await gpu.requestAdapter()).requestDevice();
      const refused = await w.runtime.init({ device: other }).then(() => 'accepted', (e) => e.constructor.name + ': ' + e.message);
      console.log(JSON.stringify({ info, y: Array.from(y), same, refused, held: typeof gpu }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: resolve(__dirname, '..') });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.info).toMatchObject({ kind: 'gpu', name: 'a device of the caller' });
    expect(r.y).toEqual([2, 4, 6]);
    expect(r.same).toBe(true);
    expect(r.held).toBe('object');
    expect(r.refused).toMatch(/^DeviceError: webgluon: runtime.init\(\{ device \}\) must come before the first op/);
  });

  it("runtime.init({ backend: 'cpu' }) runs on the CPU reference", () => {
    const script = `
      const w = await import(${JSON.stringify(resolve(__dirname, '../src/index.ts'))});
      const info = await w.runtime.init({ backend: 'cpu' });
      const y = await w.nd.array([1, 2, 3]).mul(2).data();
      console.log(JSON.stringify({ info, y: Array.from(y), dispatches: w.runtime.stats().dispatches }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: resolve(__dirname, '..') });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r).toEqual({ info: { kind: 'cpu', name: 'runtime.init({ backend: "cpu" })', subgroupSize: 0 }, y: [2, 4, 6], dispatches: 1 });
  });
});

describe('the error classes', () => {
  it('are exported, so a caller can tell a shape error from a device error', () => {
    let caught: unknown;
    try {
      nd.add(nd.ones([2, 3]), nd.ones([2, 4]));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ShapeError);
    expect(caught).toBeInstanceOf(WebgluonError);
    expect(caught).not.toBeInstanceOf(DeviceError);
    expect((caught as Error).message).toMatch(/^webgluon: .*`add`/);
  });
});
