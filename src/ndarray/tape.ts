// The eager autograd tape: each recorded op (or compiled block) leaves an entry with a backward
// closure; backward() walks entries in reverse creation order and writes leaf gradients.
import { WebgluonError } from '../base/errors.js';
import type { Tensor } from './tensor.js';

export interface TapeEntry {
  seq: number;
  name: string;
  inputs: readonly (Tensor | number | null)[];
  outputs: readonly Tensor[];
  /** Gradients for each input, given gradients of each output (null = zero). */
  backward(dys: readonly (Tensor | null)[]): (Tensor | null)[];
}

let seq = 0;
export function nextSeq(): number {
  return seq++;
}

export interface GradOps {
  add(a: Tensor, b: Tensor): Tensor;
  onesLike(t: Tensor): Tensor;
  zerosLike(t: Tensor): Tensor;
  pause<T>(fn: () => T): T;
}

export function runBackward(heads: readonly Tensor[], headGrads: readonly (Tensor | null)[], ops: GradOps, retainGraph = false): void {
  const entries = new Map<TapeEntry, true>();
  const stack = heads.map((h) => h._entry).filter((e): e is TapeEntry => e !== null);
  if (stack.length === 0) {
    throw new WebgluonError('backward() was called on a value with no recorded graph: compute it inside autograd.record(() => …) ' +
      'from tensors that had attachGrad() called (or parameters), and call backward() only once per record().');
  }
  while (stack.length) {
    const e = stack.pop()!;
    if (entries.has(e)) continue;
    entries.set(e, true);
    for (const x of e.inputs) if (x && typeof x !== 'number' && x._entry) stack.push(x._entry);
  }
  const order = [...entries.keys()].sort((a, b) => b.seq - a.seq);
  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? ops.add(prev, g) : g);
  };
  heads.forEach((h, i) => accumulate(h, headGrads[i] ?? ops.onesLike(h)));
  ops.pause(() => {
    for (const e of order) {
      const dys = e.outputs.map((o) => grads.get(o) ?? null);
      if (dys.every((d) => d === null)) continue;
      const full = dys.map((d, i) => d ?? ops.zerosLike(e.outputs[i]));
      const gx = e.backward(full);
      e.inputs.forEach((x, i) => {
        const g = gx[i];
        if (g && x && typeof x !== 'number' && x.requiresGrad) accumulate(x, g);
      });
      for (const o of e.outputs) if (!heads.includes(o) && !o._gradReq) grads.delete(o);
    }
  });
  for (const [t, g] of grads) if (t._gradReq) t._setGrad(g);
  if (!retainGraph) for (const e of order) for (const o of e.outputs) o._entry = null;
}
