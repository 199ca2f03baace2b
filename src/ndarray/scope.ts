// Explicit lifetimes for GPU memory (tfjs's tidy, TC39's `using`): tensors made inside tidy(fn)
// are disposed when fn returns, except what it returns, what the library keeps (parameters,
// gradients, optimizer state) and what a pending backward() still needs.
import type { Tensor } from './tensor.js';

/** The tensors made inside each open tidy(), innermost last. */
const scopes: Set<Tensor>[] = [];
/** Tensors that outlive every scope: the library stores them, or the user asked with keep(). */
const kept = new WeakSet<Tensor>();

/** Called by the Tensor constructor. */
export function track(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Exempts `t` from the tidy() scopes it was made in; returns it. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

export function isKept(t: Tensor): boolean {
  return kept.has(t);
}

/** What tidy() may return: tensors, alone or in arrays and plain objects, and plain values. */
export type Tidied = Tensor | readonly Tidied[] | { readonly [key: string]: Tidied } | number | string | boolean | null | undefined | void;

/** Every tensor in a returned value (arrays and plain objects are searched). */
function collect(v: unknown, into: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  if (isTensor(v)) into.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, into, isTensor);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, into, isTensor);
  }
}

/**
 * The tensors a pending backward() reads: the inputs and outputs of every tape entry reachable
 * from `roots` (an entry's backward closes over them).
 */
function onTape(roots: Iterable<Tensor>): Set<Tensor> {
  const seen = new Set<Tensor>();
  const entries = new Set<unknown>();
  const stack = [...roots].filter((t) => t._entry);
  while (stack.length) {
    const e = stack.pop()!._entry!;
    if (entries.has(e)) continue;
    entries.add(e);
    for (const x of [...e.inputs, ...e.outputs]) {
      if (!x || typeof x === 'number') continue;
      seen.add(x);
      if (x._entry && !entries.has(x._entry)) stack.push(x);
    }
  }
  return seen;
}

/**
 * Runs `fn` and disposes every tensor it made that is not returned, kept, or needed by a
 * recorded graph that has not been through backward() yet. `fn` must be synchronous: a scope
 * cannot follow an await.
 */
export function tidy<R extends Tidied>(fn: () => R, isTensor: (v: unknown) => v is Tensor): R {
  const made = new Set<Tensor>();
  scopes.push(made);
  let result: R;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new TypeError('webgluon: tidy() takes a synchronous function; this one returned a Promise. ' +
      'Await inside, then call tidy() on the synchronous part, or dispose() tensors yourself.');
  }
  const spared = new Set<Tensor>();
  collect(result, spared, isTensor);
  const pending = [...spared, ...[...made].filter((t) => t._entry)];
  for (const t of onTape(pending)) spared.add(t);
  const parent = scopes[scopes.length - 1];
  for (const t of made) {
    if (spared.has(t)) parent?.add(t);
    else if (!kept.has(t) && !t.isDisposed) t.dispose();
  }
  return result;
}
