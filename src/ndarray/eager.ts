// Eager execution: every op becomes a one-node graph, emitted by the same codegen as compiled
// plans (shapes read from a buffer, so pipelines are shared across shapes), and recorded on the tape.
import { currentOrigin } from '../base/errors.js';
import type { FusionGroup, GroupKind } from '../graph/fuse.js';
import { Node } from '../graph/ir.js';
import { inferShape, outputDType, type OpDef, type OpSignatures } from '../graph/registry.js';
import { sizeOf, type Attrs } from '../base/types.js';
import { vjp } from '../graph/vjp.js';
import { enqueue } from '../runtime/executor.js';
import { Storage } from '../runtime/storage.js';
import { isRecording, isTraining } from './autograd.js';
import { buildNamespace, installMethods } from '../graph/namespace.js';
import { nextSeq, runBackward } from './tape.js';
import { hooks, Tensor } from './tensor.js';
import { inBackward, raiseAnomalies, watch, type AnomalyOps } from './anomaly.js';
import { launchableKernel, type GroupKernel } from './launch.js';
import { ShapeFamilies } from './shape_families.js';
import { keep } from './scope.js';
import '../ops/index.js';

const isTensor = (v: unknown): v is Tensor => v instanceof Tensor;

interface CachedKernel {
  kernel: GroupKernel;
  /** For each kernel read, the position of the input that supplies it. */
  readFrom: number[];
}
const kernelCache = new Map<string, CachedKernel>();

function groupKind(op: OpDef): GroupKind {
  if (op.kind === 'source') return 'elementwise';
  return op.kind as GroupKind;
}

/** `batchFree`: every input's first axis left out, so kernels that differ only in the batch match. */
function cacheKey(op: OpDef, inputs: readonly (Tensor | number)[], attrs: Attrs, batchFree = false): string {
  const parts = inputs.map((x) => (typeof x === 'number' ? `#${x}`
    : `${x.dtype}[${batchFree ? ['*', ...x.shape.slice(1)].join(',') : x.shape.join(',')}]`));
  return `${op.name}|${JSON.stringify(attrs)}|${parts.join('|')}`;
}

const families = new ShapeFamilies();

function compileEager(op: OpDef, inputs: readonly (Tensor | number)[], attrs: Attrs): CachedKernel {
  const key = cacheKey(op, inputs, attrs);
  const hit = kernelCache.get(key);
  if (hit) return hit;
  const leaves = inputs.map((x) => (typeof x === 'number'
    ? new Node('constant', [], {}, [], 'float32', '', '', x)
    : new Node('input', [], {}, x.shape, x.dtype, '')));
  const shape = inferShape(op, leaves.map((l) => l.shape), attrs);
  const node = new Node(op.name, leaves, attrs, shape, outputDType(op, leaves.map((l) => l.dtype), attrs), '');
  const group: FusionGroup = { kind: groupKind(op), nodes: [node], outputs: [node] };
  // Templates (conv, matmul, pooling) spell their shapes as literals: at a new batch size, the
  // numbers that follow it are read from a buffer and the pipeline of the last size serves.
  const kernel = families.generalize(cacheKey(op, inputs, attrs, true), launchableKernel(group, { mode: 'uniform', label: op.name }));
  const entry = { kernel, readFrom: kernel.spec.reads.map((r) => leaves.indexOf(r)) };
  if (kernelCache.size > 20000) kernelCache.clear();
  kernelCache.set(key, entry);
  return entry;
}

let scalarCache = new Map<number, Tensor>();
function scalarTensor(v: number): Tensor {
  let t = scalarCache.get(v);
  if (!t || t.isDisposed) {
    if (scalarCache.size > 256) scalarCache = new Map();
    t = keep(fromHost(Float32Array.of(v), [], 'float32'));
    scalarCache.set(v, t);
  }
  return t;
}

export function fromHost(data: Float32Array | Int32Array, shape: readonly number[], dtype: 'float32' | 'int32'): Tensor {
  return new Tensor(new Storage(sizeOf(shape), dtype, data), shape, dtype);
}

function record(op: OpDef, inputs: readonly (Tensor | number | null)[], out: Tensor, attrs: Attrs): void {
  if (!isRecording() || !inputs.some((x) => isTensor(x) && x.requiresGrad)) return;
  const where = currentOrigin();
  out._entry = {
    seq: nextSeq(), name: op.name, inputs, outputs: [out],
    backward: ([dy]) => {
      const xs = inputs.map((x) => x ?? 0) as Tensor[];
      const wanted = inputs.map((x) => isTensor(x) && x.requiresGrad);
      return vjp(nd, op.name, attrs, xs, out, dy!, where, wanted);
    },
  };
}

function applyEager(op: OpDef, raw: readonly (Tensor | number | null)[], attrs: Attrs): Tensor {
  for (const x of raw) if (isTensor(x) && x.isDisposed) x.assertAlive(`\`${op.name}\`${currentOrigin() ? ` (${currentOrigin()})` : ''}`);
  if (op.kind === 'composite') {
    const xs = raw.map((x) => (typeof x === 'number' ? scalarTensor(x) : x)) as Tensor[];
    // A composite with its own gradient rule runs its parts unrecorded and is recorded as one
    // entry, so that backward applies that rule rather than the parts' (exact at their kinks).
    const whole = op.grad !== undefined && isRecording() && xs.some((x) => isTensor(x) && x.requiresGrad);
    const out = whole ? pause(() => op.decompose(nd, xs, attrs), { trainMode: isTraining() }) : op.decompose(nd, xs, attrs);
    if (!xs.includes(out)) {
      out.producer = op.name;
      if (whole) record(op, xs, out, attrs);
    }
    return out;
  }
  const inputs = raw.map((x) => {
    if (x === null) throw new Error(`webgluon internal: \`${op.name}\` got a missing input`);
    return typeof x === 'number' && op.kind !== 'elementwise' ? scalarTensor(x) : x;
  });
  let out: Tensor;
  if (op.kind === 'view') {
    const x = inputs[0] as Tensor;
    const shape = inferShape(op, [x.shape], attrs);
    out = new Tensor(x.storage.retain(), shape, x.dtype);
  } else {
    const k = compileEager(op, inputs, attrs);
    const node = k.kernel.group.nodes[0];
    out = new Tensor(new Storage(sizeOf(node.shape), node.dtype), node.shape, node.dtype);
    const reads = k.readFrom.map((i) => (inputs[i] as Tensor).storage);
    enqueue({ kernel: k.kernel, reads, writes: [out.storage] });
    watch(anomalyOps, op.name, inputs as (Tensor | number)[], out);
  }
  out.producer = op.name;
  record(op, raw, out, attrs);
  return out;
}

export const nd: OpSignatures<Tensor> = buildNamespace<Tensor>(applyEager, isTensor);
installMethods(Tensor.prototype, nd as OpSignatures<unknown>);

/** A tensor of x's shape and dtype holding `v`: one kernel (a cast only for int32). */
function filled(x: Tensor, v: number): Tensor {
  const t = nd.broadcastTo(v, [...x.shape]);
  return x.dtype === 'float32' ? t : t.astype(x.dtype);
}

const anomalyOps: AnomalyOps = {
  countNonFinite: (t) => nd.sum(nd.isNonFinite(t)),
  min: (t) => nd.min(t),
  max: (t) => nd.max(t),
};

hooks.current = {
  beforeRead: () => raiseAnomalies(anomalyOps),
  backward(t, head, retainGraph) {
    inBackward(() => runBackward([t], [head], {
      add: (a, b) => nd.add(a, b),
      onesLike: (x) => filled(x, 1),
      zerosLike: (x) => filled(x, 0),
      pause: (fn) => withoutRecording(fn),
    }, retainGraph));
  },
  zerosLike: (x) => filled(x, 0),
  add: (a, b) => nd.add(a, b),
  copy: (x) => nd.identity(x),
};

import { pause } from './autograd.js';
function withoutRecording<T>(fn: () => T): T {
  return pause(fn, { trainMode: true });
}
