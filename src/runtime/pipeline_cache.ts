// Compute pipelines keyed by their WGSL source: eager kernels read shapes from a buffer, so one
// pipeline serves many shapes; every module and pipeline is labelled with its kernel's name.
import { DeviceError } from '../base/errors.js';
import { counters } from './stats.js';
import { ShaderStage } from './gpu_constants.js';

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/**
 * Pipelines kept; the least recently used beyond this are dropped (a stream of new shapes would
 * otherwise keep every compiled pipeline). A training step of the Siamese network uses about 60.
 */
export const MAX_PIPELINES = 1024;

export class PipelineCache {
  private cache = new Map<string, CachedPipeline>();
  /** Compile errors surface asynchronously; they are rethrown at the next flush. */
  readonly errors: Error[] = [];
  private checks: Promise<void>[] = [];

  constructor(private device: GPUDevice) {}

  get size(): number {
    return this.cache.size;
  }

  get(wgsl: string, label: string, reads: number, writes: number, meta: boolean): CachedPipeline {
    const hit = this.cache.get(wgsl);
    if (hit) {
      // Most recently used last: eviction takes the front.
      this.cache.delete(wgsl);
      this.cache.set(wgsl, hit);
      return hit;
    }
    if (this.cache.size >= MAX_PIPELINES) this.cache.delete(this.cache.keys().next().value!);
    const entries: GPUBindGroupLayoutEntry[] = [];
    for (let i = 0; i < reads + writes + (meta ? 1 : 0); i++) {
      const ro = i < reads || i >= reads + writes;
      entries.push({ binding: i, visibility: ShaderStage.COMPUTE, buffer: { type: ro ? 'read-only-storage' : 'storage' } });
    }
    this.device.pushErrorScope('validation');
    const layout = this.device.createBindGroupLayout({ label, entries });
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
    const entry = { pipeline, layout };
    this.cache.set(wgsl, entry);
    return entry;
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
