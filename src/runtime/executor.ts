// Records kernel dispatches (eager ops and compiled plans alike) and submits them in batches:
// one encoder and one compute pass per flush, at a readback or every BATCH dispatches. It runs
// kernels given as WGSL on storages; what the kernels compute is the business of the layers above.
import { DeviceError } from '../base/errors.js';
import { envVar } from '../base/env.js';
import { BufferPool, sizeClass } from './buffer_pool.js';
import { backendIfReady, getBackend, onDeviceLost, type Backend } from './device.js';
import { PipelineCache } from './pipeline_cache.js';
import { counters, noteLive } from './stats.js';
import { relieveMemoryPressure } from './memory_pressure.js';
import { Storage, newHostArray, setReleaseHook, type HostArray } from './storage.js';
import { BufferUsage, MapMode } from './gpu_constants.js';

/**
 * A compute shader ready to run: bindings are the reads (read-only storage), then the writes,
 * then the shape data `meta` when present. Made once per kernel and reused by every dispatch of
 * it, so that bind groups can be cached per kernel.
 */
export interface ComputeKernel {
  label: string;
  wgsl: string;
  workgroups: readonly [number, number, number];
  meta: Uint32Array | null;
  /** The subgroup size the WGSL assumes; undefined when it uses no subgroup builtins. */
  subgroupSize?: number;
  /** The same work on host arrays: how the CPU backend runs this kernel. */
  runOnHost(reads: readonly HostArray[], writes: readonly HostArray[]): void;
  /** The kernel again for another subgroup size (it was made before the device was known). */
  forSubgroupSize?(size: number): ComputeKernel;
}

export interface Dispatch {
  kernel: ComputeKernel;
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
  /** Buffers acquired from this device: a storage holding any other buffer outlived a lost device. */
  owned: WeakSet<GPUBuffer>;
  /**
   * The last bind groups built for each kernel spec, newest first. A compiled plan's specs live
   * as long as the plan, its slots keep their buffers, and parameters alternate between two
   * buffers (an update writes a new one, the old one is freed): so in steady state a plan's
   * kernels find their bind groups here, and outputs are steered back to the buffers they had.
   */
  bindings: WeakMap<ComputeKernel, BoundGroup[]>;
}

/** Enough for a parameter's two buffers, times a few parameters sharing one update kernel. */
const BIND_GROUPS_PER_SPEC = 8;

interface BoundGroup {
  layout: GPUBindGroupLayout;
  buffers: GPUBuffer[];
  group: GPUBindGroup;
}

let pending: Dispatch[] = [];
/** Dead storages whose memory goes back to the pool after the next submit (queued kernels may still read them). */
let retiring: Storage[] = [];
let gpu: GpuState | null = null;
/**
 * Storages whose contents are unknown: written by a kernel that could not run (out of memory,
 * inputs from a lost device). Kernels that read them fail too, instead of reading garbage.
 */
const poisoned = new WeakMap<Storage, string>();
/** Uploads at most this big keep their host copy, so that cached constants survive a lost device. */
const KEEP_HOST_BYTES = 1024;

onDeviceLost(() => {
  // Dead storages' buffers died with the device: only the statistics need to forget them.
  for (const s of retiring) {
    if (s.buffer) noteLive(-s.buffer.size, -1);
    s.buffer = null;
    s.host = null;
  }
  retiring = [];
  counters.pooledBytes = 0;
  gpu = null;
  // Pending dispatches stay: they run on the next device, or fail naming what they read.
});

setReleaseHook((s) => {
  retiring.push(s);
});

function retire(g: GpuState | null): void {
  for (const s of retiring) {
    if (s.buffer && g?.owned.has(s.buffer)) g.pool.release(s.buffer);
    else if (s.buffer) noteLive(-s.buffer.size, -1);
    s.buffer = null;
    s.host = null;
  }
  retiring = [];
}

/**
 * Dead storages that no kernel of `batch` uses go back to the pool before the batch is encoded:
 * every submit that used them has been issued, and the batch's outputs may take their buffers.
 * (Waiting for the end of the flush kept them counted live, and out of reach, while the batch's
 * outputs were allocated: the saved activations of a training step beside its optimizer's new
 * parameters, for instance.) The others retire after the batch, as before.
 */
function retireUnused(g: GpuState, batch: readonly Dispatch[]): void {
  if (!retiring.length) return;
  const used = new Set<Storage>();
  for (const d of batch) {
    for (const s of d.reads) used.add(s);
    for (const s of d.writes) used.add(s);
  }
  const later = retiring.filter((s) => used.has(s));
  if (later.length === retiring.length) return;
  retiring = retiring.filter((s) => !used.has(s));
  retire(g);
  retiring = later;
}

function gpuState(b: Backend & { kind: 'gpu' }): GpuState {
  if (gpu && gpu.device === b.device) return gpu;
  gpu = { device: b.device, pool: new BufferPool(b.device), pipelines: new PipelineCache(b.device), meta: new Map(), scopes: [], owned: new WeakSet(), bindings: new WeakMap() };
  return gpu;
}

/** Sees every dispatch as it is recorded (scripts/kernel_profile.ts replays them one by one). */
let tap: ((d: Dispatch) => void) | null = null;
export function tapDispatches(f: ((d: Dispatch) => void) | null): void {
  tap = f;
}

export function enqueue(d: Dispatch): void {
  tap?.(d);
  pending.push(d);
  counters.dispatches++;
  // While a flush waits for pipelines being created, the batch grows: it is submitted whole then.
  if (pending.length >= BATCH && backendIfReady() && !deferred) flushSync();
}

/** A kernel and how many storages it reads and writes: what its pipeline's layout needs. */
export interface PipelineRequest {
  kernel: ComputeKernel;
  reads: number;
  writes: number;
}

/** Preparations asked for before the device existed; flushes wait until they have started. */
const preparing = new Set<Promise<void>>();

/**
 * Starts creating the pipelines of `kernels` (a compiled plan's) with createComputePipelineAsync,
 * all at once, so that the driver compiles them in parallel with each other and with the host's
 * work until the first dispatch needs them. Flushes wait for the ones their batch needs (an
 * automatic flush is put off until they are ready; flush() and readbacks await them), so no
 * pipeline is also created synchronously meanwhile. Without a device yet, one is asked for and the
 * pipelines are started once it exists.
 *
 * No-op on the CPU backend, and by default on drivers that run on the CPU (lavapipe/llvmpipe,
 * SwiftShader): they JIT a shader at its first dispatch, not when its pipeline is created (which
 * takes them ~10 ms), so there is nothing to move, and waiting on a promise costs more there than
 * blocking in createComputePipeline (dawn.node spins while a promise is pending, on the cores the
 * driver runs on). WEBGLUON_ASYNC_PIPELINES=1 prepares on every adapter, 0 on none (every
 * pipeline is then made synchronously by the first flush that needs it).
 */
export function preparePipelines(kernels: readonly PipelineRequest[]): void {
  const mode = envVar('WEBGLUON_ASYNC_PIPELINES');
  if (!kernels.length || mode === '0') return;
  const b = backendIfReady();
  if (b?.kind === 'gpu' && mode !== '1' && CPU_DRIVER.test(b.adapterName)) return;
  if (b) {
    prepareOn(b, kernels);
    return;
  }
  const started: Promise<void> = getBackend().then((nb) => {
    if (backendIfReady() === nb) prepareOn(nb, kernels);
  }, () => undefined).finally(() => preparing.delete(started));
  preparing.add(started);
}

/** Adapters whose driver compiles shaders on the CPU at their first dispatch. */
const CPU_DRIVER = /llvmpipe|lavapipe|swiftshader/i;

function prepareOn(b: Backend, kernels: readonly PipelineRequest[]): void {
  if (b.kind !== 'gpu') return;
  if (envVar('WEBGLUON_ASYNC_PIPELINES') !== '1' && CPU_DRIVER.test(b.adapterName)) return;
  const g = gpuState(b);
  for (const r of kernels) {
    const spec = forThisDevice(r.kernel, b.subgroupSize);
    g.pipelines.prepare(spec.wgsl, spec.label, r.reads, r.writes, spec.meta !== null);
  }
}

/** Whether a dispatch of `batch` needs a pipeline that is still being created. */
function waitsForPipelines(g: GpuState, subgroupSize: number, batch: readonly Dispatch[]): boolean {
  if (g.pipelines.pendingCount === 0) return false;
  return batch.some((d) => g.pipelines.isPending(forThisDevice(d.kernel, subgroupSize).wgsl));
}

/** Set while a flush is put off until the pipelines it needs are ready. */
let deferred: Promise<void> | null = null;

function deferFlush(g: GpuState): void {
  if (deferred) return;
  const again: Promise<void> = g.pipelines.whenReady().then(() => {
    if (deferred === again) deferred = null;
    if (gpu !== g || (!pending.length && !retiring.length)) return;
    try {
      flushSync();
    } catch (e) {
      g.scopes.push(Promise.resolve(e as Error));
    }
  });
  deferred = again;
}

/**
 * The backend, once nothing pending waits for a pipeline being created (preparations asked for
 * before the device existed included): flushSync() then submits the whole batch.
 */
async function readyToFlush(): Promise<Backend> {
  for (;;) {
    const b = await currentBackend();
    if (preparing.size) {
      await Promise.all([...preparing]);
      continue;
    }
    if (b.kind !== 'gpu') return b;
    const g = gpuState(b);
    if (!waitsForPipelines(g, b.subgroupSize, pending)) return b;
    await g.pipelines.whenReady();
  }
}

function mib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function describeStorage(s: Storage): string {
  return `a ${s.dtype} tensor of ${s.size} value${s.size === 1 ? '' : 's'}`;
}

const LOST = 'its GPU memory was on a device that has been lost or destroyed, so its values are gone. Create the tensor ' +
  'again (for a model: loadParameters() from a checkpoint, then trainer.resetStates())';

/** The error for reading a storage whose contents are unknown (see `poisoned`). */
function unreadable(label: string, role: string, s: Storage, why: string): DeviceError {
  const who = label === 'readback' ? 'cannot read back' : `kernel \`${label}\` cannot read its ${role},`;
  return Object.assign(new DeviceError(`${who} ${describeStorage(s)}: ${why}`), { unreadable: why });
}

/**
 * The GPU buffer behind `s`, taken from the pool (and uploaded) on first use. `role` says how
 * `label`'s kernel uses it, for errors: a buffer over the device's limits is refused here with a
 * message naming the kernel, instead of failing inside Dawn.
 */
function ensureBuffer(g: GpuState, s: Storage, label: string, role: string, binding: boolean, writes = false, prefer: readonly GPUBuffer[] = []): GPUBuffer {
  if (s.buffer && !g.owned.has(s.buffer)) {
    // Left over from a lost device: a small upload is sent again, an output just gets new memory.
    noteLive(-s.buffer.size, -1);
    s.buffer = null;
    if (s.host && !writes) s.needsUpload = true;
    else if (!writes) poisoned.set(s, LOST);
  }
  const why = writes ? undefined : poisoned.get(s);
  if (why) throw unreadable(label, role, s, why);
  if (!s.buffer) {
    const bytes = sizeClass(s.bytes);
    const { maxBufferSize, maxStorageBufferBindingSize } = g.device.limits;
    const limit = binding ? Math.min(maxBufferSize, maxStorageBufferBindingSize) : maxBufferSize;
    if (bytes > limit) {
      throw new DeviceError(`out of GPU memory: kernel \`${label}\` needs ${mib(bytes)} for its ${role} (${describeStorage(s)}), ` +
        `more than one buffer can hold on this device (${bytes > maxBufferSize ? `maxBufferSize ${mib(maxBufferSize)}` : `maxStorageBufferBindingSize ${mib(limit)}`}); ` +
        'use smaller batches or split the tensor');
    }
    s.buffer = g.pool.acquire(s.bytes, label, prefer);
    g.owned.add(s.buffer);
    if (s.needsUpload && s.host) {
      g.device.queue.writeBuffer(s.buffer, 0, s.host.buffer, s.host.byteOffset, s.host.byteLength);
      s.needsUpload = false;
      if (s.host.byteLength > KEEP_HOST_BYTES) s.host = null;
    }
  }
  if (writes) {
    // The kernel overwrites it: a kept host copy would be stale, and the contents are known again.
    if (!s.needsUpload) s.host = null;
    poisoned.delete(s);
  }
  return s.buffer;
}

function metaBuffer(g: GpuState, meta: Uint32Array): GPUBuffer {
  const key = meta.join(',');
  let buf = g.meta.get(key);
  if (!buf) {
    if (g.meta.size > 4096) g.meta.clear();
    buf = g.device.createBuffer({ size: Math.max(16, meta.byteLength), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST, label: 'shape meta' });
    g.device.queue.writeBuffer(buf, 0, meta);
    g.meta.set(key, buf);
  }
  return buf;
}

/** Binds a dispatch's buffers; on failure its outputs are poisoned and the error is returned. */
function bindDispatch(g: GpuState, d: Dispatch, layout: GPUBindGroupLayout): GPUBindGroup | Error {
  const spec = d.kernel;
  const buffers: GPUBuffer[] = [];
  const known = g.bindings.get(spec) ?? [];
  try {
    d.reads.forEach((s, i) => buffers.push(ensureBuffer(g, s, spec.label, `input ${i}`, true)));
    d.writes.forEach((s, i) => {
      const at = d.reads.length + i;
      buffers.push(ensureBuffer(g, s, spec.label, `output ${i}`, true, true, known.map((k) => k.buffers[at])));
    });
  } catch (e) {
    const why = (e as { unreadable?: string }).unreadable ??
      `the kernel \`${spec.label}\` that computes it could not run (${(e as Error).message.replace(/^webgluon: /, '')})`;
    for (const s of d.writes) poisoned.set(s, why);
    return e as Error;
  }
  if (spec.meta) buffers.push(metaBuffer(g, spec.meta));
  const hit = known.find((k) => k.layout === layout && k.buffers.length === buffers.length && k.buffers.every((b, i) => b === buffers[i]));
  if (hit) return hit.group;
  const entries = buffers.map((buffer, binding): GPUBindGroupEntry => ({ binding, resource: { buffer } }));
  const group = g.device.createBindGroup({ label: spec.label, layout, entries });
  counters.bindGroups++;
  g.bindings.set(spec, [{ layout, buffers, group }, ...known].slice(0, BIND_GROUPS_PER_SPEC));
  return group;
}

const retargeted = new WeakMap<ComputeKernel, ComputeKernel>();
/**
 * A kernel made before the device was known assumed no subgroups: the first time it runs on a
 * device that has them, it is made again (once per kernel) for the device's size.
 */
function forThisDevice(kernel: ComputeKernel, subgroupSize: number): ComputeKernel {
  if (kernel.subgroupSize === undefined || kernel.subgroupSize === subgroupSize || !kernel.forSubgroupSize) return kernel;
  let again = retargeted.get(kernel);
  if (!again) {
    again = kernel.forSubgroupSize(subgroupSize);
    retargeted.set(kernel, again);
  }
  return again;
}

/** Encodes and submits everything recorded so far. Needs the backend to exist. */
export function flushSync(): void {
  const b = backendIfReady();
  if (!b) throw new Error('webgluon internal: flushSync before the backend exists');
  if (b.kind === 'gpu' && waitsForPipelines(gpuState(b), b.subgroupSize, pending)) {
    // Put off until the pipelines are ready, so that none is also created synchronously. What
    // retires waits too (queued kernels still read it), and is counted live until then.
    deferFlush(gpuState(b));
    return;
  }
  const batch = pending;
  pending = [];
  relieveMemoryPressure();
  if (b.kind === 'cpu') {
    for (const d of batch) runOnCpu(d);
    retire(null);
    return;
  }
  const g = gpuState(b);
  // Compile errors are not thrown here (an op that happened to fill a batch would throw for
  // another kernel, and this batch would be lost): flush() and readbacks report them.
  // Storages uploaded but never read by a kernel still need their data on the GPU.
  if (batch.length === 0 && retiring.length === 0) return;
  retireUnused(g, batch);
  g.device.pushErrorScope('out-of-memory');
  g.device.pushErrorScope('validation');
  const encoder = g.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  /** Errors found while encoding (refused buffers, lost inputs): reported before the GPU's own. */
  const refused: Error[] = [];
  for (const d of batch) {
    const spec = (d.kernel = forThisDevice(d.kernel, b.subgroupSize));
    const { pipeline, layout } = g.pipelines.get(spec.wgsl, spec.label, d.reads.length, d.writes.length, spec.meta !== null);
    const group = bindDispatch(g, d, layout);
    if (group instanceof Error) {
      refused.push(group);
      continue;
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(spec.workgroups[0], spec.workgroups[1], spec.workgroups[2]);
  }
  pass.end();
  g.device.queue.submit([encoder.finish()]);
  counters.submits++;
  const labels = [...new Set(batch.map((d) => d.kernel.label))];
  const describe = (kind: string) => (err: GPUError | null): Error | null => {
    if (!err) return null;
    const error = new DeviceError(`GPU ${kind} error in a batch of ${batch.length} kernels (${labels.slice(0, 6).join('; ')}${labels.length > 6 ? '; …' : ''}): ${err.message}`);
    // What the batch wrote is unknown: later reads fail naming this error instead of returning garbage.
    const why = `it was written by a batch of kernels that failed (${error.message.replace(/^webgluon: /, '').split('\n')[0]})`;
    for (const d of batch) for (const w of d.writes) if (!poisoned.has(w)) poisoned.set(w, why);
    return error;
  };
  if (refused.length) g.scopes.push(Promise.resolve(refused[0]));
  g.scopes.push(g.device.popErrorScope().then(describe('validation'), () => null));
  g.scopes.push(g.device.popErrorScope().then(describe('out-of-memory'), () => null));
  retire(g);
}

/** The backend, after waiting for one that is still current (a device lost meanwhile is replaced). */
async function currentBackend(): Promise<Backend> {
  for (;;) {
    const b = await getBackend();
    if (backendIfReady() === b) return b;
  }
}

/** Submits pending work and rethrows any GPU error it produced, naming the kernels. */
export async function flush(): Promise<void> {
  const b = await readyToFlush();
  flushSync();
  if (b.kind === 'gpu') await raiseErrors(gpuState(b));
  await runIdleTasks();
}

/**
 * Work that wants the GPU to itself (the kernel tuner's timed runs): run by the next awaited
 * flush() or readback once its own work is done, so it never shares the queue with a step.
 * A task reports its own errors; nested flushes and readbacks inside a task run no tasks.
 */
const idleTasks: (() => Promise<void>)[] = [];
let idleRunning = false;
export function whenIdle(task: () => Promise<void>): void {
  idleTasks.push(task);
}

async function runIdleTasks(): Promise<void> {
  if (idleRunning || !idleTasks.length) return;
  idleRunning = true;
  try {
    while (idleTasks.length) await idleTasks.shift()!();
  } finally {
    idleRunning = false;
  }
}

/**
 * Wall time, ms, of `repeats` rounds of `dispatches` encoded in one pass and submitted alone on
 * an idle queue, until the queue reports them done. Not counted in stats() (a measurement, not
 * the program's work). GPU errors of these dispatches are thrown, naming the kernels.
 */
export async function timeDispatches(dispatches: readonly Dispatch[], repeats: number): Promise<number> {
  const b = await readyToFlush();
  flushSync();
  if (b.kind !== 'gpu') throw new DeviceError('timeDispatches needs a GPU backend');
  const g = gpuState(b);
  await g.device.queue.onSubmittedWorkDone();
  g.device.pushErrorScope('validation');
  const encoder = g.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  let failed: Error | null = null;
  for (let r = 0; r < repeats && !failed; r++) {
    for (const d of dispatches) {
      const spec = forThisDevice(d.kernel, b.subgroupSize);
      const { pipeline, layout } = g.pipelines.get(spec.wgsl, spec.label, d.reads.length, d.writes.length, spec.meta !== null);
      const group = bindDispatch(g, d, layout);
      if (group instanceof Error) { failed = group; break; }
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(spec.workgroups[0], spec.workgroups[1], spec.workgroups[2]);
    }
  }
  pass.end();
  const t0 = performance.now();
  g.device.queue.submit([encoder.finish()]);
  await g.device.queue.onSubmittedWorkDone();
  const ms = performance.now() - t0;
  const err = await g.device.popErrorScope();
  if (failed) throw failed;
  if (err) throw new DeviceError(`GPU validation error while timing ${dispatches.map((d) => d.kernel.label).join('; ')}: ${err.message}`);
  await raiseErrors(g);
  return ms;
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
  const b = await readyToFlush();
  flushSync();
  counters.readbacks++;
  if (b.kind === 'cpu') return (s.host ?? newHostArray(s.dtype, s.size)).slice();
  const g = gpuState(b);
  if (s.needsUpload && s.host) return s.host.slice();
  let src: GPUBuffer;
  try {
    src = ensureBuffer(g, s, 'readback', 'source', false);
  } catch (e) {
    // The kernel that should have written it failed: report that failure first.
    await raiseErrors(g);
    throw e;
  }
  const bytes = s.size * 4;
  const staging = g.device.createBuffer({ size: Math.max(4, bytes), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'readback' });
  const encoder = g.device.createCommandEncoder();
  if (bytes > 0) encoder.copyBufferToBuffer(src, 0, staging, 0, bytes);
  g.device.queue.submit([encoder.finish()]);
  counters.submits++;
  await raiseErrors(g);
  try {
    await staging.mapAsync(MapMode.READ);
  } catch (e) {
    staging.destroy();
    if (gpu !== g) {
      throw new DeviceError(`reading back ${describeStorage(s)} failed: the GPU device was lost while the read was in flight ` +
        `(${(e as Error).name}${(e as Error).message ? `: ${(e as Error).message}` : ''}); the next call creates a new device`);
    }
    throw new DeviceError(`reading back ${describeStorage(s)} failed: ${(e as Error).name}: ${(e as Error).message}`);
  }
  const copy = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  await runIdleTasks();
  return s.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
}

function runOnCpu(d: Dispatch): void {
  const host = (s: Storage) => (s.host ??= newHostArray(s.dtype, s.size));
  d.kernel.runOnHost(d.reads.map(host), d.writes.map(host));
  for (const w of d.writes) w.needsUpload = false;
}

/** The pool and pipeline cache of the current device, for stats and tests. */
export function pipelineCount(): number {
  return gpu?.pipelines.size ?? 0;
}

export function trimPool(): void {
  gpu?.pool.trim();
}
