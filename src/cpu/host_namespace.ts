// A registry-derived namespace that evaluates immediately on host arrays, so composite ops
// (softmax, softrelu, dense…) have a CPU reference through the same decompositions the GPU uses.
import { getOp, inferShape, outputDType, type HostValue, type OpDef, type OpSignatures } from '../graph/registry.js';
import type { Attrs, DType, Shape } from '../base/types.js';
import { buildNamespace } from '../graph/namespace.js';
import { evaluateNode } from './reference.js';
import { Node } from '../graph/ir.js';

export class HostTensor implements HostValue {
  constructor(readonly data: Float32Array | Int32Array, readonly shape: Shape, readonly dtype: DType) {}
}
const isHost = (v: unknown): v is HostTensor => v instanceof HostTensor;

function applyHost(op: OpDef, raw: readonly (HostTensor | number | null)[], attrs: Attrs): HostTensor {
  const xs = raw.map((x) => (typeof x === 'number' ? new HostTensor(Float32Array.of(x), [], 'float32') : x));
  if (op.kind === 'composite') return op.decompose(host, xs as HostTensor[], attrs);
  const present = xs.filter((x): x is HostTensor => x !== null);
  const leaves = present.map((x) => new Node('input', [], {}, x.shape, x.dtype, ''));
  const shape = inferShape(op, present.map((x) => x.shape), attrs);
  const node = new Node(op.name, leaves, attrs, shape, outputDType(op, present.map((x) => x.dtype), attrs), '');
  const out = evaluateNode(node, present);
  return new HostTensor(out.data, out.shape, out.dtype);
}

export const host: OpSignatures<HostTensor> = buildNamespace<HostTensor>(applyHost, isHost);

/** Evaluates any op, composites included, on host values. */
export function evaluateAny(name: string, inputs: readonly HostValue[], attrs: Attrs = {}): HostValue {
  const op = getOp(name);
  const table = host as unknown as Record<string, (...args: unknown[]) => HostTensor>;
  const xs = inputs.map((x) => new HostTensor(x.data, x.shape, x.dtype));
  return table[op.name](...(op.inputs[0]?.startsWith('...') ? [xs] : xs), attrs);
}
