// Connects HybridBlock.hybridize() to the compiler: the block's traced function, with its
// parameters as trailing inputs, becomes one compiled plan (and one tape entry when recording).
// - Training and predict mode trace separately (Dropout and BatchNorm differ between them).
// - Per-call inputs (CallInput: Dropout's random numbers) are made afresh at every call.
// - State updates recorded while tracing (auxUpdate: running statistics) become extra outputs,
//   behind blockGrad, which are installed into their parameters after each call.
import { compileFunction } from '../compiler/compile.js';
import type { TraceFn } from '../graph/trace.js';
import { isRecording, isTraining } from '../ndarray/autograd.js';
import { keep, type Tensor } from '../ndarray/index.js';
import { CallInput, registerHybridCompiler, withAuxUpdates, type AuxUpdate, type F, type TracedFunction } from './hybrid_block.js';
import type { Parameter } from './parameter.js';

interface AuxLayout {
  /** Number of user outputs; the aux values follow them. */
  nOut: number;
  isList: boolean;
  params: Parameter[];
}

function compileBlock(name: string, traced: TracedFunction): (inputs: readonly Tensor[]) => unknown {
  const resolveParam = (key: object): Tensor => {
    if (key instanceof CallInput) return key.make();
    throw new Error(`webgluon internal: ${name} read an unknown value while it was traced`);
  };
  // Filled while compileFunction traces a new signature (inside the call that needs it).
  let justTraced: AuxLayout | null | undefined;
  const fn = (F: F, ...values: unknown[]) => {
    const aux: AuxUpdate[] = [];
    const out = withAuxUpdates(aux, () => traced.fn(F, ...values));
    if (!aux.length) {
      justTraced = null;
      return out;
    }
    const outs = (Array.isArray(out) ? out : [out]) as Tensor[];
    justTraced = { nOut: outs.length, isList: Array.isArray(out), params: aux.map((a) => a.param) };
    return [...outs, ...aux.map((a) => F.blockGrad(a.value))];
  };
  const compiled = compileFunction(fn as unknown as TraceFn, { name, resolveParam });
  const layouts = new Map<string, AuxLayout | null>();
  return (inputs) => {
    justTraced = undefined;
    const out = compiled(...inputs);
    const sig = inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join('|');
    if (justTraced !== undefined) layouts.set(sig, justTraced);
    const layout = layouts.get(sig);
    if (!layout) return out;
    const list = out as Tensor[];
    const user = list.slice(0, layout.nOut);
    if (isRecording()) {
      // The tape entry's backward may read the replaced values: keep their storage (not the old
      // tensors, which _swap disposes) alive as long as the outputs holding the entry.
      const held = layout.params.map((p) => keep(p.data().detach()));
      for (const o of user) Object.defineProperty(o, '_auxKeepAlive', { value: held, enumerable: false, configurable: true });
    }
    layout.params.forEach((p, i) => p._swap(list[layout.nOut + i]));
    return layout.isList ? user : user[0];
  };
}

registerHybridCompiler((block, traced) => {
  const name = block.constructor.name;
  let predict: ((inputs: readonly Tensor[]) => unknown) | null = null;
  let train: ((inputs: readonly Tensor[]) => unknown) | null = null;
  return (inputs, params) => {
    const run = isTraining() ? (train ??= compileBlock(name, traced)) : (predict ??= compileBlock(`${name}_predict`, traced));
    return run([...inputs, ...params]);
  };
});
