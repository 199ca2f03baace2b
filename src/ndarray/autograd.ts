// Recording state for autograd (MXNet's autograd.record / pause / is_recording / is_training)
// and anomaly detection. The tape itself lives in tape.ts.
//
// The state is scoped, not global: record/pause/trainMode/predictMode run their function with
// a state held by a RecordingContext, and isRecording()/isTraining() read the current one. The
// default context is a plain stack, seen only by the synchronous code inside the scope; the Node
// entry (src/node.ts) installs an AsyncLocalStorage, which carries the state across the awaits of
// an async function, so `autograd.record(async () => …)` records only its own work, never an op
// run meanwhile by a timer or by another, overlapping record().
import { GraphError } from '../base/errors.js';

/** What record/pause/trainMode/predictMode set for the code they run. */
export interface AutogradState {
  readonly recording: boolean;
  readonly training: boolean;
}

/**
 * Where the current AutogradState is kept, in the shape of Node's AsyncLocalStorage:
 * `run(store, fn)` runs fn with `store` current, `getStore()` reads it (undefined outside any run).
 * A context that keeps the store for the async work started inside `run` (awaits, timers,
 * callbacks) lets record() and the others take async functions.
 */
export interface RecordingContext {
  run<R>(store: AutogradState, fn: () => R): R;
  getStore(): AutogradState | undefined;
  /** false when the store is seen only by the synchronous part of fn; absent or true otherwise. */
  readonly followsAsync?: boolean;
}

/** The default context: a stack, popped when fn returns. Synchronous functions only. */
class SyncStack implements RecordingContext {
  readonly followsAsync = false;
  private readonly stack: AutogradState[] = [];

  run<R>(store: AutogradState, fn: () => R): R {
    this.stack.push(store);
    try {
      return fn();
    } finally {
      this.stack.pop();
    }
  }

  getStore(): AutogradState | undefined {
    return this.stack[this.stack.length - 1];
  }
}

const OUTSIDE: AutogradState = Object.freeze({ recording: false, training: false });
const syncDefault = new SyncStack();
let context: RecordingContext = syncDefault;
let anomaly = false;

/**
 * Installs where record() and the others keep their state (the Node entry installs
 * `new AsyncLocalStorage()`); null puts back the synchronous default. Returns the previous one.
 * Call it at startup, outside any record(): scopes open at the time keep the context they began in.
 */
export function setRecordingContext(storage: RecordingContext | null): RecordingContext {
  const previous = context;
  context = storage ?? syncDefault;
  return previous;
}

function current(): AutogradState {
  return context.getStore() ?? OUTSIDE;
}

const isAsyncFunction = (fn: unknown): boolean =>
  typeof fn === 'function' && (fn.constructor?.name === 'AsyncFunction' || fn.constructor?.name === 'AsyncGeneratorFunction');

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

function syncOnly(what: string): GraphError {
  return new GraphError(`autograd.${what}() was given a function that returns a Promise, but no async context is installed to ` +
    `carry its scope across awaits (the synchronous default is in use: importing webgluon in Node installs AsyncLocalStorage, ` +
    `elsewhere call autograd.setRecordingContext with one). Pass a synchronous function and await outside it: ` +
    `\`const loss = autograd.${what}(() => lossFn(net(x), y)); loss.backward(); await loss.item();\``);
}

function scoped<T>(what: string, state: AutogradState, fn: () => T): T {
  const ctx = context;
  const syncOnlyContext = ctx.followsAsync === false;
  // An async function is refused before it runs, so none of its work escapes the scope.
  if (syncOnlyContext && isAsyncFunction(fn)) throw syncOnly(what);
  const result = ctx.run(state, fn);
  if (syncOnlyContext && isThenable(result)) {
    // Its synchronous part ran in the scope; the rest would not. Its own failure is not reported twice.
    result.then(undefined, () => {});
    throw syncOnly(what);
  }
  return result;
}

/**
 * Runs fn while recording operations for backward(); returns what fn returns. fn may be async
 * where an async context is installed (Node): the recording then covers fn's own awaits only.
 */
export function record<T>(fn: () => T, opts: { trainMode?: boolean } = {}): T {
  return scoped('record', { recording: true, training: opts.trainMode ?? true }, fn);
}

/** Runs fn without recording (e.g. metrics computed inside a record scope). */
export function pause<T>(fn: () => T, opts: { trainMode?: boolean } = {}): T {
  return scoped('pause', { recording: false, training: opts.trainMode ?? false }, fn);
}

export function trainMode<T>(fn: () => T): T {
  return scoped('trainMode', { recording: isRecording(), training: true }, fn);
}
export function predictMode<T>(fn: () => T): T {
  return scoped('predictMode', { recording: isRecording(), training: false }, fn);
}

export function isRecording(): boolean {
  return current().recording;
}
export function isTraining(): boolean {
  return current().training;
}

/** When on, every op's output is checked for NaN/Inf, naming the op and the Block. */
export function detectAnomaly(on = true): void {
  anomaly = on;
}
export function anomalyDetection(): boolean {
  return anomaly;
}
