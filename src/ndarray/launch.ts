// A fusion group made runnable: its emitted WGSL for the GPU, the CPU reference for the CPU
// backend, and the group emitted again for a device whose subgroups it was not emitted for.
// Eager ops and compiled plans both hand the runtime kernels made here.
import { codegenDefaults, emitKernel, type EmitOptions, type KernelSpec } from '../codegen/emit.js';
import { evaluateGroup } from '../cpu/reference.js';
import type { FusionGroup } from '../graph/fuse.js';
import { onDeviceReady } from '../runtime/device.js';
import type { ComputeKernel } from '../runtime/executor.js';
import type { HostArray } from '../runtime/storage.js';

/** A runtime kernel that remembers the group and spec it came from (tests and profiles read them). */
export interface GroupKernel extends ComputeKernel {
  readonly spec: KernelSpec;
  readonly group: FusionGroup;
}

// Kernels emitted from now on assume the device's subgroups.
onDeviceReady((b) => {
  codegenDefaults.subgroupSize = b.kind === 'gpu' ? b.subgroupSize : 0;
});

/** Emits `group` and wraps the result for the runtime. */
export function launchableKernel(group: FusionGroup, opts: EmitOptions): GroupKernel {
  return fromSpec(emitKernel(group, opts), group, opts);
}

function fromSpec(spec: KernelSpec, group: FusionGroup, opts: EmitOptions): GroupKernel {
  return {
    spec, group,
    label: spec.label, wgsl: spec.wgsl, workgroups: spec.workgroups, meta: spec.meta, subgroupSize: spec.subgroupSize,
    runOnHost(reads: readonly HostArray[], writes: readonly HostArray[]) {
      const inputs = new Map(spec.reads.map((n, i) => [n, { data: reads[i], shape: n.shape, dtype: n.dtype }] as const));
      const values = evaluateGroup(group, inputs);
      spec.writes.forEach((n, i) => writes[i].set(values.get(n)!.data));
    },
    forSubgroupSize: (size) => launchableKernel(group, { ...opts, label: spec.label, subgroupSize: size }),
  };
}
