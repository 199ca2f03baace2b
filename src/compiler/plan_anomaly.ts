// Anomaly detection for compiled plans: after a plan runs (with a slot per value, so nothing is
// overwritten), a fused stats kernel reduces every value it read or wrote to [NaN/Inf count,
// min, max]; one readback later, the first kernel whose output holds NaN/Inf is reported with its
// ops, the Block path and the ranges of its inputs, as eager mode reports a single op.
import { STATS_PER_BUFFER, valueStatsKernel, valueStatsOnHost } from '../codegen/kernels/value_stats.js';
import { watchPlan } from '../ndarray/anomaly.js';
import { Tensor } from '../ndarray/tensor.js';
import { backendIfReady } from '../runtime/device.js';
import { enqueue } from '../runtime/executor.js';
import { placeStorage, type Plan } from './plan_executor.js';
import { Storage } from '../runtime/storage.js';
import type { Node } from '../graph/ir.js';
import { getOp } from '../graph/registry.js';
import { sizeOf } from '../base/types.js';

/** A value the check reads: the storage and the node whose elements it holds. */
interface Watched {
  storage: Storage;
  node: Node;
}

const HINTS: Record<string, string> = {
  sqrt: 'sqrt', log: 'log', div: 'division', rsqrt: 'rsqrt', pow: 'power',
};

function formatRange(stats: Float32Array, k: number): string {
  const [bad, lo, hi] = [stats[k * 3], stats[k * 3 + 1], stats[k * 3 + 2]];
  const range = lo <= hi ? `[${lo.toPrecision(4)}, ${hi.toPrecision(4)}]` : '[no finite value]';
  return bad > 0 ? `${range} with ${bad} NaN/Inf` : range;
}

/**
 * Queues the check of one call of `plan`: its inputs, the slots of this call (one per value) and
 * its outputs. `phase` says whether the plan is a forward or a backward one.
 */
export function checkPlanCall(plan: Plan, phase: 'forward' | 'backward', inputs: readonly Storage[], outputs: readonly Storage[],
  slots: readonly Storage[]): void {
  const watched: Watched[] = [];
  const indexOf = new Map<Storage, number>();
  const watch = (storage: Storage, node: Node): number => {
    if (node.dtype !== 'float32') return -1;
    let k = indexOf.get(storage);
    if (k === undefined) {
      k = watched.length;
      watched.push({ storage, node });
      indexOf.set(storage, k);
    }
    return k;
  };
  const kernels = plan.kernels.map(({ kernel, reads, writes }) => ({
    group: kernel.group,
    reads: reads.map((p, i) => watch(placeStorage(p, inputs, outputs, slots), kernel.spec.reads[i])),
    writes: writes.map((p, i) => watch(placeStorage(p, inputs, outputs, slots), kernel.spec.writes[i])),
  }));
  if (watched.length === 0) return;

  const stats = new Storage(watched.length * STATS_PER_BUFFER, 'float32');
  const b = backendIfReady();
  const perDispatch = b?.kind === 'gpu' ? b.device.limits.maxStorageBuffersPerShaderStage - 1 : watched.length;
  for (let base = 0; base < watched.length; base += perDispatch) {
    const chunk = watched.slice(base, base + perDispatch);
    const src = valueStatsKernel(chunk.map((w) => sizeOf(w.node.shape)), base);
    enqueue({
      kernel: {
        label: `anomaly check of ${plan.name}`, wgsl: src.wgsl, meta: null, workgroups: src.workgroups,
        runOnHost: (reads, [out]) => reads.forEach((r, j) => {
          out.set(valueStatsOnHost(r.subarray(0, sizeOf(chunk[j].node.shape))), (base + j) * STATS_PER_BUFFER);
        }),
      },
      reads: chunk.map((w) => w.storage),
      writes: [stats],
    });
  }
  const statsTensor = new Tensor(stats, [watched.length * STATS_PER_BUFFER], 'float32');
  watchPlan(async () => {
    const values = (await statsTensor.data()) as Float32Array;
    statsTensor.dispose();
    for (const [n, { group, reads, writes }] of kernels.entries()) {
      const bad = writes.filter((k) => k >= 0).reduce((sum, k) => sum + values[k * STATS_PER_BUFFER], 0);
      if (bad === 0) continue;
      const ops = group.nodes.map((m) => m.op);
      const main = group.nodes.find((m) => getOp(m.op).kind !== 'elementwise') ?? group.nodes[group.nodes.length - 1];
      const ranges = reads.map((k) => (k >= 0 ? formatRange(values, k) : 'int32'));
      const badInput = reads.some((k) => k >= 0 && values[k * STATS_PER_BUFFER] > 0);
      const hint = ops.map((op) => HINTS[op]).find(Boolean);
      const why = badInput
        ? ' An input already held NaN/Inf: it came into the compiled block that way (check the data or the code before it).'
        : hint ? ` A ${hint} of zero or a negative number is the usual cause: add a small epsilon.` : '';
      return `${bad} NaN/Inf value(s) in the output of \`${ops.join('+')}\` (kernel ${n} of compiled ${plan.name}) during ${phase}` +
        `${main?.path ? ` (${main.path})` : ''}; input ranges: ${ranges.join(', ') || 'none'}.${why}`;
    }
    return null;
  });
}
