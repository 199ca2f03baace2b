// Compute pipelines keyed by their WGSL source: eager kernels read shapes from a buffer, so one
// pipeline serves many shapes; every module and pipeline is labelled with its kernel's name.
//
// A pipeline is made either synchronously when a flush first needs it (`get`), or ahead of time
// with createComputePipelineAsync (`prepare`: a compiled plan asks for all of its pipelines at
// once, so that the driver can compile them on its worker threads while the host goes on). The
// executor never asks `get` for a pipeline that is still being created: it waits (`whenReady`).
// A pipeline whose asynchronous creation fails is forgotten, and the flush that needs it creates
// it synchronously, which reports the compile error naming the kernel as it always did.
import { DeviceError } from '../base/errors.js';
import { counters } from './stats.js';
import { ShaderStage } from './gpu_constants.js';

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

interface Entry {
  /** null while createComputePipelineAsync is in flight. */
  pipeline: GPUComputePipeline | null;
  layout: GPUBindGroupLayout;
}

/**
 * Pipelines kept; the least recently used beyond this are dropped (a stream of new shapes would
 * otherwise keep every compiled pipeline). A training step of the Siamese network uses about 60.
 */
export const MAX_PIPELINES = 1024;

/** Where pipeline creation time goes (benchmarks read these; resetPipelineTimings() zeroes them). */
export interface PipelineTimings {
  /** Pipelines created synchronously by a flush (createComputePipeline). */
  syncCreated: number;
  /** Host time spent in those calls (shader module, layouts and pipeline), ms. */
  syncMs: number;
  /** Pipelines requested with createComputePipelineAsync. */
  asyncCreated: number;
  /** Host time spent issuing those requests (shader modules parsed, layouts), ms. */
  asyncIssueMs: number;
  /** Wall time during which at least one asynchronous creation was in flight, ms. */
  asyncWallMs: number;
  /** Asynchronous creations that failed (then made synchronously, which reports the error). */
  asyncFailed: number;
  /** Time flushes and readbacks waited for pipelines still being created, ms. */
  waitMs: number;
}

export const pipelineTimings: PipelineTimings = {
  syncCreated: 0, syncMs: 0, asyncCreated: 0, asyncIssueMs: 0, asyncWallMs: 0, asyncFailed: 0, waitMs: 0,
};

export function resetPipelineTimings(): void {
  for (const k of Object.keys(pipelineTimings) as (keyof PipelineTimings)[]) pipelineTimings[k] = 0;
}

const now = () => performance.now();

export class PipelineCache {
  private cache = new Map<string, Entry>();
  /** Compile errors surface asynchronously; they are rethrown at the next flush. */
  readonly errors: Error[] = [];
  private checks: Promise<void>[] = [];
  /** Asynchronous creations in flight. */
  private inflight = new Set<Promise<void>>();
  private inflightSince = 0;

  constructor(private device: GPUDevice) {}

  get size(): number {
    return this.cache.size;
  }

  /** Pipelines still being created asynchronously. */
  get pendingCount(): number {
    return this.inflight.size;
  }

  /** Whether `wgsl`'s pipeline is being created asynchronously (get() must wait for it). */
  isPending(wgsl: string): boolean {
    return this.inflight.size > 0 && this.cache.get(wgsl)?.pipeline === null;
  }

  private layoutFor(label: string, reads: number, writes: number, meta: boolean): GPUBindGroupLayout {
    const entries: GPUBindGroupLayoutEntry[] = [];
    for (let i = 0; i < reads + writes + (meta ? 1 : 0); i++) {
      const ro = i < reads || i >= reads + writes;
      entries.push({ binding: i, visibility: ShaderStage.COMPUTE, buffer: { type: ro ? 'read-only-storage' : 'storage' } });
    }
    return this.device.createBindGroupLayout({ label, entries });
  }

  private makeRoom(): void {
    if (this.cache.size >= MAX_PIPELINES) this.cache.delete(this.cache.keys().next().value!);
  }

  get(wgsl: string, label: string, reads: number, writes: number, meta: boolean): CachedPipeline {
    const hit = this.cache.get(wgsl);
    if (hit?.pipeline) {
      // Most recently used last: eviction takes the front.
      this.cache.delete(wgsl);
      this.cache.set(wgsl, hit);
      return hit as CachedPipeline;
    }
    if (hit) throw new Error(`webgluon internal: pipeline of \`${label}\` used while its asynchronous creation is pending`);
    const t0 = now();
    this.makeRoom();
    this.device.pushErrorScope('validation');
    const layout = this.layoutFor(label, reads, writes, meta);
    const module = this.device.createShaderModule({ label, code: wgsl });
    const pipeline = this.device.createComputePipeline({
      label, layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }), compute: { module, entryPoint: 'main' },
    });
    this.checks.push(this.device.popErrorScope().then(async (err) => {
      if (!err) return;
      // Forget the broken pipeline: the next use compiles again and reports the error again.
      if (this.cache.get(wgsl) === entry) this.cache.delete(wgsl);
      const info = await module.getCompilationInfo().catch(() => null);
      const detail = info?.messages.map((m) => `  line ${m.lineNum}: ${m.message}`).join('\n') ?? '';
      this.errors.push(new DeviceError(`kernel \`${label}\` failed to compile: ${err.message}\n${detail}\n--- WGSL ---\n${wgsl}`));
    }));
    counters.pipelines++;
    const entry: CachedPipeline = { pipeline, layout };
    this.cache.set(wgsl, entry);
    pipelineTimings.syncCreated++;
    pipelineTimings.syncMs += now() - t0;
    return entry;
  }

  /**
   * Starts creating `wgsl`'s pipeline with createComputePipelineAsync unless it exists or is on
   * its way. A failure is not reported here: the entry is dropped, and the flush that needs the
   * pipeline creates it synchronously, reporting the error as `get` does.
   */
  prepare(wgsl: string, label: string, reads: number, writes: number, meta: boolean): void {
    if (this.cache.has(wgsl)) return;
    const t0 = now();
    this.makeRoom();
    this.device.pushErrorScope('validation');
    const layout = this.layoutFor(label, reads, writes, meta);
    const module = this.device.createShaderModule({ label, code: wgsl });
    const pipelineLayout = this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] });
    // A module that does not compile fails the creation below; its own error is reported by `get`.
    void this.device.popErrorScope().catch(() => null);
    const entry: Entry = { pipeline: null, layout };
    this.cache.set(wgsl, entry);
    counters.pipelines++;
    pipelineTimings.asyncCreated++;
    if (this.inflight.size === 0) this.inflightSince = now();
    const done: Promise<void> = this.device.createComputePipelineAsync({ label, layout: pipelineLayout, compute: { module, entryPoint: 'main' } })
      .then((pipeline) => {
        entry.pipeline = pipeline;
      }, () => {
        pipelineTimings.asyncFailed++;
        if (this.cache.get(wgsl) === entry) this.cache.delete(wgsl);
      })
      .finally(() => {
        this.inflight.delete(done);
        if (this.inflight.size === 0) pipelineTimings.asyncWallMs += now() - this.inflightSince;
      });
    this.inflight.add(done);
    pipelineTimings.asyncIssueMs += now() - t0;
  }

  /**
   * Resolves once no asynchronous creation is in flight (those started meanwhile included), or
   * the device is lost.
   */
  async whenReady(): Promise<void> {
    if (this.inflight.size === 0) return;
    const t0 = now();
    const lost = this.device.lost.then(() => 'lost' as const);
    while (this.inflight.size > 0) {
      if ((await Promise.race([Promise.all([...this.inflight]), lost])) === 'lost') break;
    }
    pipelineTimings.waitMs += now() - t0;
  }

  /** Resolves once every compile started so far has reported. */
  async settled(): Promise<void> {
    const checks = this.checks;
    this.checks = [];
    await Promise.all(checks);
  }

  clear(): void {
    this.cache.clear();
  }
}
