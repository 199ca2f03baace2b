// Records kernel dispatches (eager ops and compiled plans alike) and submits them in batches:
// one encoder and one compute pass per flush, at a readback or every BATCH dispatches.
import { WebgluonError } from '../graph/errors.js';
import type { KernelSpec, FusionGroup } from '../codegen/emit.js';
import { evaluateGroup } from '../cpu/reference.js';
import { BufferPool } from './buffer_pool.js';
import { backendIfReady, getBackend, onDeviceLost, type Backend } from './device.js';
import { PipelineCache } from './pipeline_cache.js';
import { counters } from './stats.js';
import { relieveMemoryPressure } from './memory_pressure.js';
import { Storage, newHostArray, setReleaseHook, type HostArray } from './storage.js';

export interface Dispatch {
  spec: KernelSpec;
  group: FusionGroup;
  reads: readonly Storage[];
  writes: readonly Storage[];
}

const BATCH = 64;

interface GpuState {
  device: GPUDevice;
  pool: BufferPool;
  pipelines: PipelineCache;
  meta: Map<string, GPUBuffer>;
  /** Pending error-scope results, with the kernels of the batch they cover. */
  scopes: Promise<Error | null>[];
}

let pending: Dispatch[] = [];
/** Dead storages whose memory goes back to the pool after the next submit (queued kernels may still read them). */
let retiring: Storage[] = [];
let gpu: GpuState | null = null;

onDeviceLost(() => {
  gpu = null;
  retiring = [];
});

setReleaseHook((s) => {
  retiring.push(s);
});

function retire(pool: BufferPool | null): void {
  for (const s of retiring) {
    if (s.buffer && pool) pool.release(s.buffer);
    s.buffer = null;
    s.host = null;
  }
  retiring = [];
}

function gpuState(b: Backend & { kind: 'gpu' }): GpuState {
  if (gpu && gpu.device === b.device) return gpu;
  gpu = { device: b.device, pool: new BufferPool(b.device), pipelines: new PipelineCache(b.device), meta: new Map(), scopes: [] };
  return gpu;
}

export function enqueue(d: Dispatch): void {
  pending.push(d);
  counters.dispatches++;
  if (pending.length >= BATCH && backendIfReady()) flushSync();
}

function ensureBuffer(g: GpuState, s: Storage, label: string): GPUBuffer {
  if (!s.buffer) {
    s.buffer = g.pool.acquire(s.bytes, label);
    if (s.needsUpload && s.host) {
      g.device.queue.writeBuffer(s.buffer, 0, s.host.buffer, s.host.byteOffset, s.host.byteLength);
      s.needsUpload = false;
      s.host = null;
    }
  }
  return s.buffer;
}

function metaBuffer(g: GpuState, meta: Uint32Array): GPUBuffer {
  const key = meta.join(',');
  let buf = g.meta.get(key);
  if (!buf) {
    if (g.meta.size > 4096) g.meta.clear();
    buf = g.device.createBuffer({ size: Math.max(16, meta.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'shape meta' });
    g.device.queue.writeBuffer(buf, 0, meta);
    g.meta.set(key, buf);
  }
  return buf;
}

/** Encodes and submits everything recorded so far. Needs the backend to exist. */
export function flushSync(): void {
  const b = backendIfReady();
  if (!b) throw new Error('webgluon internal: flushSync before the backend exists');
  const batch = pending;
  pending = [];
  relieveMemoryPressure();
  if (b.kind === 'cpu') {
    for (const d of batch) runOnCpu(d);
    retire(null);
    return;
  }
  const g = gpuState(b);
  if (g.pipelines.errors.length) throw g.pipelines.errors.shift()!;
  // Storages uploaded but never read by a kernel still need their data on the GPU.
  if (batch.length === 0 && retiring.length === 0) return;
  g.device.pushErrorScope('out-of-memory');
  g.device.pushErrorScope('validation');
  const encoder = g.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const d of batch) {
    const { spec } = d;
    const { pipeline, layout } = g.pipelines.get(spec.wgsl, spec.label, d.reads.length, d.writes.length, spec.meta !== null);
    const entries: GPUBindGroupEntry[] = [];
    d.reads.forEach((s) => entries.push({ binding: entries.length, resource: { buffer: ensureBuffer(g, s, spec.label) } }));
    d.writes.forEach((s) => entries.push({ binding: entries.length, resource: { buffer: ensureBuffer(g, s, spec.label) } }));
    if (spec.meta) entries.push({ binding: entries.length, resource: { buffer: metaBuffer(g, spec.meta) } });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, g.device.createBindGroup({ label: spec.label, layout, entries }));
    pass.dispatchWorkgroups(spec.workgroups[0], spec.workgroups[1], spec.workgroups[2]);
  }
  pass.end();
  g.device.queue.submit([encoder.finish()]);
  counters.submits++;
  const labels = [...new Set(batch.map((d) => d.spec.label))];
  const describe = (kind: string) => (err: GPUError | null): Error | null => err
    ? new WebgluonError(`GPU ${kind} error in a batch of ${batch.length} kernels (${labels.slice(0, 6).join('; ')}${labels.length > 6 ? '; …' : ''}): ${err.message}`)
    : null;
  g.scopes.push(g.device.popErrorScope().then(describe('validation')));
  g.scopes.push(g.device.popErrorScope().then(describe('out-of-memory')));
  retire(g.pool);
}

/** Submits pending work and rethrows any GPU error it produced, naming the kernels. */
export async function flush(): Promise<void> {
  const b = await getBackend();
  flushSync();
  if (b.kind === 'gpu') await raiseErrors(gpuState(b));
}

async function raiseErrors(g: GpuState): Promise<void> {
  await g.pipelines.settled();
  if (g.pipelines.errors.length) {
    g.scopes = [];
    throw g.pipelines.errors.shift()!;
  }
  const scopes = g.scopes;
  g.scopes = [];
  const errors = (await Promise.all(scopes)).filter((e): e is Error => e !== null);
  if (g.pipelines.errors.length) errors.unshift(g.pipelines.errors.shift()!);
  if (errors.length) throw errors[0];
}

/** Copies a storage back to the host through a staging buffer. */
export async function readStorage(s: Storage): Promise<HostArray> {
  const b = await getBackend();
  flushSync();
  counters.readbacks++;
  if (b.kind === 'cpu') return (s.host ?? newHostArray(s.dtype, s.size)).slice();
  const g = gpuState(b);
  if (s.needsUpload && s.host) return s.host.slice();
  const src = ensureBuffer(g, s, 'readback');
  const bytes = s.size * 4;
  const staging = g.device.createBuffer({ size: Math.max(4, bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
  const encoder = g.device.createCommandEncoder();
  if (bytes > 0) encoder.copyBufferToBuffer(src, 0, staging, 0, bytes);
  g.device.queue.submit([encoder.finish()]);
  counters.submits++;
  await raiseErrors(g);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return s.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
}

function runOnCpu(d: Dispatch): void {
  const inputs = new Map(d.spec.reads.map((n, i) => {
    const s = d.reads[i];
    return [n, { data: s.host ?? newHostArray(s.dtype, s.size), shape: n.shape, dtype: n.dtype }] as const;
  }));
  const values = evaluateGroup(d.group, inputs);
  d.spec.writes.forEach((n, i) => {
    d.writes[i].host = values.get(n)!.data;
    d.writes[i].needsUpload = false;
  });
}

/** The pool and pipeline cache of the current device, for stats and tests. */
export function pipelineCount(): number {
  return gpu?.pipelines.size ?? 0;
}

export function trimPool(): void {
  gpu?.pool.trim();
}
