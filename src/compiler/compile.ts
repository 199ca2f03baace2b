// The compile pipeline, readable top to bottom:
//   trace → simplify → cse → dce → (autodiff → simplify → cse → dce) → lower → fuse → planMemory → emit
// (lower expands the composites the trace kept whole for autodiff to use their own gradient rules)
// compileGraph() turns one Graph into a Plan; compileFunction() is the user-level API that traces
// a function per input signature, runs forward (and backward) plans, and records ONE tape entry.
import { anomalyDetection, isRecording } from '../ndarray/autograd.js';
import { launchableKernel } from '../ndarray/launch.js';
import { keep } from '../ndarray/scope.js';
import { ShapeFamilies } from '../ndarray/shape_families.js';
import { nextSeq } from '../ndarray/tape.js';
import { Tensor } from '../ndarray/tensor.js';
import { backendIfReady } from '../runtime/device.js';
import { flushSync, preparePipelines } from '../runtime/executor.js';
import { releasePlan, retirePlan, runPlan, runPlanFresh, type Plan, type PlanKernel } from './plan_executor.js';
import type { Storage } from '../runtime/storage.js';
import { checkPlanCall } from './plan_anomaly.js';
import { tuneLater } from './tune.js';
import { autodiff } from '../graph/autodiff.js';
import { dumpGraph, dumper, formatGroups } from '../graph/dump.js';
import { fuse, type FuseOptions } from '../graph/fuse.js';
import { Graph, Node } from '../graph/ir.js';
import { planMemory, storageRoot } from '../graph/memory.js';
import { cse } from '../graph/passes/cse.js';
import { dce } from '../graph/passes/dce.js';
import { lowerComposites } from '../graph/passes/lower.js';
import { simplify } from '../graph/passes/simplify.js';
import { getOp } from '../graph/registry.js';
import { traceFull, type TraceFn, type ValueSpec } from '../graph/trace.js';
import '../ops/index.js';

export type { Plan } from './plan_executor.js';

type Write = ReturnType<typeof dumper>;

/** simplify → cse → dce, dumping each stage. */
export function optimize(graph: Graph, write: Write = null, prefix = ''): Graph {
  dumpGraph(write, `${prefix}0_input.txt`, graph);
  const s = simplify(graph);
  dumpGraph(write, `${prefix}1_simplify.txt`, s);
  const c = cse(s);
  dumpGraph(write, `${prefix}2_cse.txt`, c);
  const d = dce(c);
  dumpGraph(write, `${prefix}3_dce.txt`, d);
  return d;
}

/**
 * Every output must be a buffer of its own: a computed value, or a view of a computed value that
 * no other output claims (the view's root is then written straight into the output buffer).
 * Leaves and repeats get an identity copy.
 */
function materializeOutputs(graph: Graph): Graph {
  const claimed = new Set<Node>();
  let changed = false;
  const outputs = graph.outputs.map((o) => {
    const root = storageRoot(o);
    if (!root.isLeaf && !claimed.has(root)) {
      claimed.add(root);
      return o;
    }
    changed = true;
    return new Node('identity', [o], {}, o.shape, o.dtype, o.path);
  });
  return changed ? new Graph(graph.inputs, outputs) : graph;
}

/** fuse → planMemory → emit: one Plan for an optimized graph. */
/** `reuse: false`: every value keeps its own slot (plans checked by anomaly detection). */
export function compileGraph(graph: Graph, opts: { name?: string; write?: Write; fuse?: FuseOptions; reuse?: boolean } = {}): Plan {
  const name = opts.name ?? 'graph';
  const write = opts.write === undefined ? dumper(name) : opts.write;
  const lowered = lowerComposites(graph);
  const g = materializeOutputs(lowered === graph ? graph : optimize(lowered));
  dumpGraph(write, '4_final.txt', g);
  const groups = fuse(g, opts.fuse);
  write?.('5_groups.txt', formatGroups(groups));
  const memory = planMemory(g, groups, { reuse: opts.reuse });
  const placeOf = (n: Node) => {
    const p = memory.places.get(n) ?? memory.places.get(storageRoot(n));
    if (!p) throw new Error(`webgluon internal: %${n.id} (${n.op}) has no storage in plan ${name}`);
    return p;
  };
  const kernels: PlanKernel[] = groups.map((group, k) => {
    const kernel = launchableKernel(group, { mode: 'const', label: `${name}#${k} ${group.nodes.map((n) => n.op).join('+')}` });
    write?.(`kernel_${String(k).padStart(2, '0')}.wgsl`, `// ${kernel.label}\n// workgroups ${kernel.workgroups.join('x')}\n${kernel.wgsl}`);
    return { kernel, reads: kernel.spec.reads.map(placeOf), writes: kernel.spec.writes.map(placeOf) };
  });
  write?.('6_memory.txt', `slots: ${memory.slots.map((s) => s.size).join(', ')}\nslot bytes ${memory.slotBytes} (without reuse ${memory.naiveBytes})\n` +
    [...memory.places].map(([n, p]) => `%${n.id} → ${p.kind} ${p.index}`).join('\n'));
  // Templated kernels are searched for a faster tuning at the next idle point (tune.ts).
  return tuneLater({ name, graph: g, groups, kernels, inputs: g.inputs, outputs: g.outputs, memory, dispatchCount: kernels.length, state: { slots: null, retired: false } });
}

export interface CompiledPlans {
  /** Forward without saved values (inference, or no input needs a gradient). */
  forward?: Plan;
  /** Forward with the values the backward plan reads appended to its outputs. */
  trainForward?: Plan;
  backward?: Plan;
  /** Input indices the backward plan returns gradients for, in its output order. */
  wrt?: number[];
  /** Number of user outputs (the rest of trainForward's outputs are saved values). */
  nOut: number;
  paramKeys: object[];
}

export interface CompileOptions {
  /** Input positions to differentiate (default: every input that requires a gradient). */
  wrt?: readonly number[];
  name?: string;
  /** Supplies the tensor of a parameter the function read through currentTrace(). */
  resolveParam?: (key: object) => Tensor;
  /**
   * Input signatures whose plans stay compiled (least recently used go first, their slots
   * freed): a block fed many batch sizes keeps its memory bounded. Default 8.
   */
  maxSignatures?: number;
}

export interface CompiledFunction {
  (...inputs: Tensor[]): Tensor | Tensor[];
  /** Plans compiled so far, by signature (for tests, dumps and benchmarks). */
  readonly plans: Map<string, CompiledPlans>;
}

/** Signatures (most recent first) whose plans keep their slots between calls; see keepSlotsOfRecent. */
const SLOTS_KEPT = 3;

export function compileFunction(fn: TraceFn, opts: CompileOptions = {}): CompiledFunction {
  const name = opts.name ?? (fn.name || 'fn');
  const cache = new Map<string, CompiledPlans>();
  const traces = new Map<string, { graph: Graph; paramKeys: object[] }>();
  const maxSignatures = opts.maxSignatures ?? 8;
  // A new input shape reuses the pipelines of the shapes before (see shape_families.ts).
  const families = new ShapeFamilies();
  const shared = (plan: Plan): Plan => {
    const kernels = plan.kernels.map((k, i) => {
      const kernel = families.generalize(`${plan.name}#${i}`, k.kernel);
      return kernel === k.kernel ? k : { ...k, kernel };
    });
    return kernels.every((k, i) => k === plan.kernels[i]) ? plan : { ...plan, kernels };
  };

  const traced = (specs: ValueSpec[], sig: string) => {
    let t = traces.get(sig);
    if (!t) {
      const raw = traceFull(fn, specs, undefined, name, { keepComposites: true });
      t = { graph: optimize(raw.graph, dumper(`${name}_trace`)), paramKeys: raw.paramKeys };
      // Traces are host memory only, but a stream of new shapes must not grow them forever.
      if (traces.size >= 4 * maxSignatures) traces.delete(traces.keys().next().value!);
    }
    traces.delete(sig);
    traces.set(sig, t);
    return t;
  };

  /** Drops the least recently used plans beyond maxSignatures; their slots go back to the pool. */
  const evict = () => {
    while (cache.size > maxSignatures) {
      const [oldest, plans] = cache.entries().next().value!;
      cache.delete(oldest);
      for (const plan of [plans.forward, plans.trainForward, plans.backward]) if (plan) retirePlan(plan);
    }
  };

  /**
   * Only the plans of the last few signatures keep their intermediate buffers between calls (a
   * loop alternates a training size, a last partial batch and an evaluation size): a stream of
   * new batch sizes then holds the slots of three, not of maxSignatures. Released slots go back to
   * the pool (queued kernels still run first) and are taken again if the signature comes back.
   */
  const keepSlotsOfRecent = () => {
    let k = cache.size;
    for (const plans of cache.values()) {
      if (--k < SLOTS_KEPT) break;
      for (const plan of [plans.forward, plans.trainForward, plans.backward]) if (plan) releasePlan(plan);
    }
  };

  const call = (...inputs: Tensor[]): Tensor | Tensor[] => {
    const specs = inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, name: `x${i}` }));
    const sig = specs.map((s) => `${s.dtype}[${s.shape.join(',')}]`).join('|');
    const t = traced(specs, sig);
    const params = t.paramKeys.map((k) => {
      if (!opts.resolveParam) throw new Error(`webgluon: ${name} read parameters while tracing; pass resolveParam to compileFunction`);
      return opts.resolveParam(k);
    });
    const all = [...inputs, ...params];
    for (const x of all) x.assertAlive(`compiled ${name}`);
    const wrtMask = all.map((x, i) => x.dtype === 'float32' && x.requiresGrad && (!opts.wrt || opts.wrt.includes(i)));
    const training = isRecording() && wrtMask.some(Boolean);
    // Anomaly detection reads every value after the plan: such plans keep one slot per value.
    const checking = anomalyDetection();
    const reuse = !checking;
    const key = `${sig}|${training ? wrtMask.map(Number).join('') : 'infer'}${checking ? '|checked' : ''}`;
    let plans = cache.get(key);
    if (plans) {
      cache.delete(key);
      cache.set(key, plans);
      keepSlotsOfRecent();
    } else {
      plans = { nOut: t.graph.outputs.length, paramKeys: t.paramKeys };
      if (!training) {
        plans.forward = shared(compileGraph(t.graph, { name: `${name}_forward`, reuse }));
      } else {
        const wrt = wrtMask.flatMap((w, i) => (w ? [i] : []));
        const b = autodiff(t.graph, wrt.map((i) => t.graph.inputs[i]));
        const fwd = new Graph(t.graph.inputs, [...t.graph.outputs, ...b.saved]);
        plans.trainForward = shared(compileGraph(fwd, { name: `${name}_train_forward`, reuse }));
        const write = dumper(`${name}_backward`);
        const bg = optimize(b.graph, write);
        plans.backward = shared(compileGraph(bg, { name: `${name}_backward`, write, reuse }));
        plans.wrt = wrt;
      }
      cache.set(key, plans);
      evict();
      keepSlotsOfRecent();
      // Every pipeline of the new plans at once, created asynchronously before the first dispatch needs it.
      preparePipelines([plans.forward, plans.trainForward, plans.backward].flatMap((plan) =>
        plan?.kernels.map((k) => ({ kernel: k.kernel, reads: k.reads.length, writes: k.writes.length })) ?? []));
    }
    const wrap = (s: Storage, n: Node) => new Tensor(s, n.shape, n.dtype);
    const run = (plan: Plan, phase: 'forward' | 'backward', ins: readonly Storage[]): Storage[] => {
      // A retired plan (evicted while a recorded backward still needed it) gets slots for one call.
      if (!checking && !plan.state.retired) return runPlan(plan, ins);
      const { outputs, slots } = runPlanFresh(plan, ins);
      if (checking) checkPlanCall(plan, phase, ins, outputs, slots);
      // Released after the check kernels that read them were queued.
      slots.forEach((s) => s.release());
      return outputs;
    };
    const storages = all.map((x) => x.storage);
    if (!training) {
      const outs = run(plans.forward!, 'forward', storages).map((s, i) => wrap(s, plans!.forward!.outputs[i]));
      return outs.length === 1 ? outs[0] : outs;
    }
    const p = plans;
    const fwdOuts = run(p.trainForward!, 'forward', storages).map((s, i) => wrap(s, p.trainForward!.outputs[i]));
    const outs = fwdOuts.slice(0, p.nOut);
    // Freed by this entry once backward has run: no tidy() scope may take them earlier.
    const saved = fwdOuts.slice(p.nOut).map(keep);
    const entry = {
      seq: nextSeq(), name, inputs: all, outputs: outs,
      backward(dys: readonly (Tensor | null)[]): (Tensor | null)[] {
        if (saved.some((s) => s.isDisposed)) {
          throw new Error(`webgluon: backward through compiled ${name} a second time; pass retainGraph: true to the first backward()`);
        }
        const heads = dys.map((d, i) => {
          if (!d) throw new Error(`webgluon internal: no head gradient for output ${i} of ${name}`);
          return d.storage;
        });
        const grads = run(p.backward!, 'backward', [...storages, ...heads, ...saved.map((s) => s.storage)])
          .map((s, k) => wrap(s, p.backward!.outputs[k]));
        const result: (Tensor | null)[] = all.map(() => null);
        p.wrt!.forEach((i, k) => (result[i] = grads[k]));
        // Free the saved values once the tape has let go of this entry (no retainGraph).
        queueMicrotask(() => {
          if (outs.some((o) => o._entry === entry)) return;
          // Encode the pending kernels that read them first: a released storage loses its buffer.
          if (backendIfReady()) flushSync();
          saved.forEach((s) => s.dispose());
        });
        return result;
      },
    };
    for (const o of outs) o._entry = entry;
    return outs.length === 1 ? outs[0] : outs;
  };
  return Object.assign(call, { plans: cache }) as CompiledFunction;
}

