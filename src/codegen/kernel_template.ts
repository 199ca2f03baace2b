// The contract between a `kernel` registry entry (matmul, convolution, pooling…) and the emitter:
// a template turns concrete shapes into a WGSL body and a dispatch size; the emitter adds the
// bindings, the shared prelude and an optional fused elementwise epilogue.
import type { Attrs, DType, Shape } from '../graph/types.js';

export interface KernelContext {
  inShapes: readonly Shape[];
  inDTypes: readonly DType[];
  outShape: Shape;
  outDType: DType;
  attrs: Attrs;
  /** Tuning knobs (tile sizes, workgroup size); a template documents the ones it reads. */
  tuning: Readonly<Record<string, number>>;
}

export interface KernelSource {
  /**
   * WGSL text after the bindings: helper functions and `@compute` entry point `main`. It reads
   * inputs `in0, in1, …` (array<f32> or array<i32> by dtype) and writes `out0`, and must store
   * every output element as `out0[i] = epilogue(value, i);` so that fused consumers apply.
   */
  body: string;
  workgroups: readonly [number, number, number];
}

export type KernelTemplate = (ctx: KernelContext) => KernelSource;
