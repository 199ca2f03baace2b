// Counters that benchmarks and tests read through runtime.stats(): kernels dispatched, submits,
// pipelines compiled, and GPU memory held by live tensors (pooled free buffers not counted).

export interface RuntimeStats {
  dispatches: number;
  submits: number;
  pipelines: number;
  /** GPU buffers created (a pool that works keeps this flat in steady state). */
  allocations: number;
  liveBuffers: number;
  liveBytes: number;
  peakBytes: number;
  /** Bytes held by the pool, free for reuse. */
  pooledBytes: number;
  readbacks: number;
  /** Bind groups created (a compiled plan in steady state reuses its own). */
  bindGroups: number;
  /** Garbage collections asked for because GPU buffers churned (runtime/memory_pressure.ts). */
  collections: number;
}

export const counters: RuntimeStats = {
  dispatches: 0, submits: 0, pipelines: 0, allocations: 0, liveBuffers: 0, liveBytes: 0, peakBytes: 0, pooledBytes: 0, readbacks: 0, bindGroups: 0, collections: 0,
};

export function stats(): RuntimeStats {
  return { ...counters };
}

/** Zeroes the event counters; live and pooled memory are states, not events, and stay. */
export function resetStats(): void {
  counters.dispatches = 0;
  counters.submits = 0;
  counters.pipelines = 0;
  counters.allocations = 0;
  counters.readbacks = 0;
  counters.bindGroups = 0;
  counters.collections = 0;
  counters.peakBytes = counters.liveBytes;
}

export function noteLive(deltaBytes: number, deltaBuffers: number): void {
  counters.liveBytes += deltaBytes;
  counters.liveBuffers += deltaBuffers;
  if (counters.liveBytes > counters.peakBytes) counters.peakBytes = counters.liveBytes;
}
