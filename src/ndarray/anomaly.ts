// Anomaly detection (autograd.detectAnomaly): each eager op's output is reduced on the GPU to a
// count of NaN/Inf values; counts are read at the next readback or backward, and the first
// non-zero one is reported with the op, the Block it ran in and the ranges of its inputs.
import { AnomalyError, currentOrigin } from '../base/errors.js';
import { anomalyDetection } from './autograd.js';
import type { Tensor } from './tensor.js';

interface PendingCheck {
  op: string;
  where: string;
  phase: 'forward' | 'backward';
  inputs: readonly (Tensor | number)[];
  count: Tensor;
}

/** A check queued by a compiled plan: resolves to the report, or null when all is finite. */
export type PlanCheck = () => Promise<string | null>;

export interface AnomalyOps {
  countNonFinite(t: Tensor): Tensor;
  min(t: Tensor): Tensor;
  max(t: Tensor): Tensor;
}

let pending: (PendingCheck | PlanCheck)[] = [];
let phase: 'forward' | 'backward' = 'forward';
let checking = false;

export function inBackward<T>(fn: () => T): T {
  const saved = phase;
  phase = 'backward';
  try {
    return fn();
  } finally {
    phase = saved;
  }
}

/** Queues a NaN/Inf count of `out` when anomaly detection is on. */
export function watch(ops: AnomalyOps, op: string, inputs: readonly (Tensor | number)[], out: Tensor): void {
  if (!anomalyDetection() || checking || out.dtype !== 'float32') return;
  checking = true;
  try {
    pending.push({ op, where: currentOrigin(), phase, inputs, count: ops.countNonFinite(out) });
  } finally {
    checking = false;
  }
}

async function range(ops: AnomalyOps, x: Tensor | number): Promise<string> {
  if (typeof x === 'number') return String(x);
  checking = true;
  try {
    const [lo, hi] = [ops.min(x), ops.max(x)];
    return `[${(await lo.item()).toPrecision(4)}, ${(await hi.item()).toPrecision(4)}]`;
  } finally {
    checking = false;
  }
}

/** Queues a compiled plan's check, read in order with the eager ones. */
export function watchPlan(check: PlanCheck): void {
  if (anomalyDetection()) pending.push(check);
}

/** Reads the queued counts; throws for the first op whose output held NaN or Inf. */
export async function raiseAnomalies(ops: AnomalyOps): Promise<void> {
  if (pending.length === 0) return;
  const checks = pending;
  pending = [];
  for (const c of checks) {
    if (typeof c === 'function') {
      const report = await c();
      if (report) throw new AnomalyError(report);
      continue;
    }
    const n = await c.count.item();
    if (n === 0) continue;
    const ranges = await Promise.all(c.inputs.map((x) => range(ops, x)));
    throw new AnomalyError(`${n} NaN/Inf value(s) in the output of \`${c.op}\` during ${c.phase}` +
      `${c.where ? ` (${c.where})` : ''}; input ranges: ${ranges.join(', ')}.` +
      (c.op === 'sqrt' || c.op === 'log' || c.op === 'div' ? ` A ${c.op} of zero or a negative number is the usual cause: add a small epsilon.` : ''));
  }
}

export function hasPendingChecks(): boolean {
  return pending.length > 0;
}
