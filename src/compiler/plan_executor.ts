// Runs a compiled Plan: intermediate slots are allocated once per plan and kept across calls
// (static allocation), outputs get fresh storages every call (they are returned to the caller),
// and every kernel goes through the shared executor, so batching and dispatch counts match eager.
import type { FusionGroup } from '../graph/fuse.js';
import type { Graph, Node } from '../graph/ir.js';
import type { MemoryPlan, Place } from '../graph/memory.js';
import { sizeOf } from '../base/types.js';
import { enqueue } from '../runtime/executor.js';
import { Storage } from '../runtime/storage.js';
import type { GroupKernel } from '../ndarray/launch.js';

export interface PlanKernel {
  kernel: GroupKernel;
  reads: readonly Place[];
  writes: readonly Place[];
}

export interface Plan {
  name: string;
  graph: Graph;
  groups: readonly FusionGroup[];
  kernels: readonly PlanKernel[];
  inputs: readonly Node[];
  outputs: readonly Node[];
  memory: MemoryPlan;
  dispatchCount: number;
  /** Slot storages, created at the first run and reused by later runs; none once retired. */
  state: { slots: Storage[] | null; retired: boolean };
}

export function runPlan(plan: Plan, inputs: readonly Storage[]): Storage[] {
  return enqueuePlan(plan, inputs, (plan.state.slots ??= newSlots(plan)));
}

/**
 * Runs the plan with slots of its own, returned with the outputs: they keep every intermediate
 * value of this call (anomaly detection reads them); the caller releases them.
 */
export function runPlanFresh(plan: Plan, inputs: readonly Storage[]): { outputs: Storage[]; slots: Storage[] } {
  const slots = newSlots(plan);
  return { outputs: enqueuePlan(plan, inputs, slots), slots };
}

const newSlots = (plan: Plan) => plan.memory.slots.map((s) => new Storage(s.size, 'float32'));

/** Where a plan's place lives in one call. */
export function placeStorage(p: Place, inputs: readonly Storage[], outputs: readonly Storage[], slots: readonly Storage[]): Storage {
  return p.kind === 'input' ? inputs[p.index] : p.kind === 'output' ? outputs[p.index] : slots[p.index];
}

function enqueuePlan(plan: Plan, inputs: readonly Storage[], slots: readonly Storage[]): Storage[] {
  if (inputs.length !== plan.inputs.length) {
    throw new Error(`webgluon internal: plan ${plan.name} takes ${plan.inputs.length} inputs, got ${inputs.length}`);
  }
  const outs = plan.outputs.map((o) => new Storage(sizeOf(o.shape), o.dtype));
  const at = (p: Place): Storage => placeStorage(p, inputs, outs, slots);
  for (const k of plan.kernels) enqueue({ kernel: k.kernel, reads: k.reads.map(at), writes: k.writes.map(at) });
  return outs;
}

/** Releases a plan's slot storages (their buffers go back to the pool once queued kernels ran). */
export function releasePlan(plan: Plan): void {
  for (const s of plan.state.slots ?? []) s.release();
  plan.state.slots = null;
}

/** A plan dropped from its function's cache: slots freed now, and never kept again. */
export function retirePlan(plan: Plan): void {
  releasePlan(plan);
  plan.state.retired = true;
}
