// Test-only harness for kernel templates: wraps a template's body in the emitter's binding
// convention (in0.. read-only, out0 read_write, identity epilogue), dispatches it on Dawn, reads back.
import { create, globals } from 'webgpu';
import type { KernelTemplate } from '../src/graph/kernel_template.js';
import { PRELUDE, SUBGROUP_DIRECTIVES } from '../src/codegen/prelude.js';
import type { HostValue } from '../src/graph/registry.js';
import type { Attrs, Shape } from '../src/base/types.js';
import { sizeOf } from '../src/base/types.js';
import { probeSubgroups, subgroupSizeOffered } from '../src/runtime/subgroups.js';

Object.assign(globalThis, globals);

// Dawn tears its instance down when the GPU object is collected, taking the device with it
// (futex and mutex aborts mid-dispatch): the module keeps it alive.
let gpu: GPU | undefined;
let devicePromise: Promise<GPUDevice> | undefined;

export function getDevice(): Promise<GPUDevice> {
  devicePromise ??= (async () => {
    gpu ??= create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error('kernels_harness: no WebGPU adapter');
    const offered = subgroupSizeOffered(adapter);
    const device = await adapter.requestDevice({
      requiredFeatures: offered ? ['subgroups' as GPUFeatureName] : [],
      requiredLimits: {
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    probedSubgroupSize = await probeSubgroups(device, offered);
    return device;
  })();
  return devicePromise;
}

let probedSubgroupSize = 0;
/** The subgroup size templates get by default here: the runtime's probe, on this harness's device. */
export async function deviceSubgroupSize(): Promise<number> {
  await getDevice();
  return probedSubgroupSize;
}

export function wrapBody(body: string, inputs: number, subgroups = false): string {
  const decls = [...Array(inputs).keys()].map(
    (i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<f32>;`);
  decls.push(`@group(0) @binding(${inputs}) var<storage, read_write> out0: array<f32>;`);
  decls.push(PRELUDE, 'fn epilogue(v: f32, i: u32) -> f32 { return v; }');
  return `${subgroups ? SUBGROUP_DIRECTIVES : ''}${decls.join('\n')}\n${body}\n`;
}

/** A compiled template: run it on given buffers as many times as wanted. */
export interface Prepared {
  device: GPUDevice;
  inputs: GPUBuffer[];
  output: GPUBuffer;
  outSize: number;
  /** Encodes and submits one dispatch; resolves when the GPU finished it. */
  run(times?: number): Promise<void>;
  read(): Promise<Float32Array>;
  destroy(): void;
}

function storageBuffer(device: GPUDevice, bytes: number, data?: Float32Array | Int32Array): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(16, Math.ceil(bytes / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    mappedAtCreation: data !== undefined,
  });
  if (data) {
    new Float32Array(buffer.getMappedRange()).set(new Float32Array(data.buffer, data.byteOffset, data.length));
    buffer.unmap();
  }
  return buffer;
}

export async function prepare(template: KernelTemplate, inputs: readonly HostValue[], attrs: Attrs,
  outShape: Shape, tuning: Record<string, number> = {}, label = 'kernel'): Promise<Prepared> {
  const device = await getDevice();
  const source = template({
    inShapes: inputs.map((x) => x.shape), inDTypes: inputs.map((x) => x.dtype),
    outShape, outDType: 'float32', attrs, tuning, subgroupSize: tuning.subgroupSize ?? probedSubgroupSize,
  });
  const code = wrapBody(source.body, inputs.length, source.subgroups);
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    await device.popErrorScope();
    throw new Error(`${label}: WGSL errors:\n${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}\n${code.slice(0, 4000)}`);
  }
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
  const gpuInputs = inputs.map((x) => storageBuffer(device, x.data.byteLength, x.data));
  const outSize = sizeOf(outShape);
  const output = storageBuffer(device, outSize * 4);
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...gpuInputs, output].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const err = await device.popErrorScope();
  if (err) throw new Error(`${label}: ${err.message}`);
  const [gx, gy, gz] = source.workgroups;
  return {
    device, inputs: gpuInputs, output, outSize,
    async run(times = 1) {
      const encoder = device.createCommandEncoder();
      for (let t = 0; t < times; t++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(gx, gy, gz);
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    async read() {
      const staging = device.createBuffer({ size: output.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(output, 0, staging, 0, output.size);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const data = new Float32Array(staging.getMappedRange().slice(0, outSize * 4));
      staging.unmap();
      staging.destroy();
      return data;
    },
    destroy() {
      for (const b of gpuInputs) b.destroy();
      output.destroy();
    },
  };
}

/** Runs a template once on host inputs and returns its output. */
export async function runTemplate(template: KernelTemplate, inputs: readonly HostValue[], attrs: Attrs,
  outShape: Shape, tuning: Record<string, number> = {}): Promise<Float32Array> {
  const prepared = await prepare(template, inputs, attrs, outShape, tuning);
  try {
    await prepared.run();
    return await prepared.read();
  } finally {
    prepared.destroy();
  }
}

/** Seeded uniform values in [-1, 1), so failures reproduce. */
export function randomValue(shape: Shape, seed: number): HostValue {
  let s = seed >>> 0 || 1;
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return { data, shape, dtype: 'float32' };
}

/** Largest |a − b| relative to the scale of b (1 when b is small). */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst / scale;
}
