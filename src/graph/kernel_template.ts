// The contract between a `kernel` registry entry (matmul, convolution, pooling…) and the emitter:
// a template turns concrete shapes into a WGSL body and a dispatch size; codegen adds the
// bindings, the shared prelude and an optional fused elementwise epilogue.
import type { Attrs, DType, Shape } from '../base/types.js';

export interface KernelContext {
  inShapes: readonly Shape[];
  inDTypes: readonly DType[];
  outShape: Shape;
  outDType: DType;
  attrs: Attrs;
  /** Tuning knobs (tile sizes, workgroup size); a template documents the ones it reads. */
  tuning: Readonly<Record<string, number>>;
  /**
   * Lanes per subgroup when the device runs WGSL's subgroup builtins with that one fixed size and
   * lanes numbered in order within a workgroup (the runtime checks both); 0 when it does not.
   */
  subgroupSize: number;
}

export interface KernelSource {
  /**
   * WGSL text after the bindings: helper functions and `@compute` entry point `main`. It reads
   * inputs `in0, in1, …` (array<f32> or array<i32> by dtype) and writes `out0`, and must store
   * every output element as `out0[i] = epilogue(value, i);` so that fused consumers apply.
   */
  body: string;
  workgroups: readonly [number, number, number];
  /** The body calls subgroup builtins: the module needs `enable subgroups;`. */
  subgroups?: boolean;
}

export type KernelTemplate = (ctx: KernelContext) => KernelSource;

