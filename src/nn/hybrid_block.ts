// HybridBlock (MXNet's gluon.HybridBlock): forward() calls hybridForward(F, ...args) with
// F = nd (eager). Parameters are read inside hybridForward with `this.weight.data()`.
// hybridize() marks the tree; the switch to a compiled graph happens in one place,
// HybridBlock._runHybridized, which feeds tracedFunction() — `(F, ...inputs, ...params) =>
// outputs` — to the registered compiler. Until one is registered, hybridized blocks run eagerly.
// Arguments left out (null or undefined, e.g. a loss without sampleWeight) are compiled as absent
// inputs, as MXNet 1.9.1 compiles None; any call that still runs eagerly warns once, saying why.
import { checkOptions } from '../base/options.js';
import type { Ops } from '../graph/registry.js';
import { currentTrace, traceFull } from '../graph/trace.js';
import type { DType } from '../base/types.js';
import { nd, Tensor } from '../ndarray/index.js';
import { Block, hybridizeArgs, summaryActive, type BlockOptions, type HybridizeOptions } from './block.js';
import { withParamValues, type Parameter } from './parameter.js';

/** A process warning with a code in Node (listeners see it), console.warn elsewhere (the browser build). */
export function emitWarning(message: string, code: string): void {
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { code: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { code });
  else console.warn(`webgluon (${code}): ${message}`);
}

const warnedEager = new Set<string>();
/** Warns once per block class and reason that a hybridized call ran eagerly. */
function warnEager(block: object, reason: string): void {
  const name = block.constructor.name;
  const key = `${name}\u0000${reason}`;
  if (warnedEager.has(key)) return;
  warnedEager.add(key);
  emitWarning(`hybridized ${name} ran eagerly (not compiled): ${reason}`, 'WEBGLUON_HYBRID_EAGER');
}

/**
 * Which arguments of a call are tensors (T) and which are left out (n: null, u: undefined): the
 * compiled graph takes the tensors; the left-out ones are passed to hybridForward as they came.
 */
type ArgLayout = string;
function expandArgs(layout: ArgLayout, tensors: readonly unknown[]): unknown[] {
  let k = 0;
  return [...layout].map((c) => (c === 'T' ? tensors[k++] : c === 'n' ? null : undefined));
}
function describeArg(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return `a ${v.constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
}

/** Set while a dry trace infers the shapes of deferred parameters (see HybridBlock._inferShapes). */
let inferringShapes = false;

/**
 * The `F` a hybridForward receives: the op namespace over tensors. While a hybridized block is
 * traced, F is `sym` and the values are symbols; both are typed as tensors, so that one
 * hybridForward serves both (as MXNet's F-generic code does).
 */
export type F = Ops<Tensor>;

/** The F of the traced function currently running (null: eager, F = nd). */
let currentF: F | null = null;

function withF<R>(F: F, fn: () => R): R {
  const saved = currentF;
  currentF = F;
  try {
    return fn();
  } finally {
    currentF = saved;
  }
}

/** A block's forward as a pure function of its inputs and parameters. */
export interface TracedFunction {
  /** Parameter paths and objects, in the order they follow the inputs. */
  params: [string, Parameter][];
  fn: (F: F, ...inputsThenParams: unknown[]) => unknown;
}

/**
 * What the hybridize compiler provides: given the block, its traced function and the options,
 * a callable running the compiled graph on tensors (inputs, then parameter values).
 */
export type HybridCompiler = (block: AnyHybridBlock, traced: TracedFunction, opts: HybridizeOptions) =>
  (inputs: readonly Tensor[], params: readonly Tensor[]) => unknown;

let compiler: HybridCompiler | null = null;

/**
 * A value a compiled graph takes afresh at every call, e.g. Dropout's random numbers: while
 * tracing it becomes a graph input, and the compiled function calls `make()` each time it runs
 * (so nothing random is baked into the plan).
 */
export class CallInput {
  constructor(readonly name: string, readonly make: () => Tensor) {}
}

/**
 * While a hybridized block is traced: a graph input bound to `make()` at every call. Otherwise
 * null (eager code computes the value itself).
 */
export function callInput(name: string, shape: readonly number[], dtype: DType, make: () => Tensor): Tensor | null {
  const trace = currentTrace();
  if (!trace || !currentF) return null;
  return trace.paramSymbol(new CallInput(name, make), shape, dtype, name) as unknown as Tensor;
}

/** A state update made by a traced forward: `param` takes `value` after each compiled call. */
export interface AuxUpdate {
  param: Parameter;
  value: Tensor;
}

let auxCollector: AuxUpdate[] | null = null;

/** Runs fn collecting the auxUpdate() calls it makes (used by the hybridize compiler). */
export function withAuxUpdates<R>(list: AuxUpdate[], fn: () => R): R {
  const saved = auxCollector;
  auxCollector = list;
  try {
    return fn();
  } finally {
    auxCollector = saved;
  }
}

/**
 * For state that a forward pass updates (BatchNorm's running statistics): while a hybridized
 * block is traced, records that `param` takes the symbolic `value` after every compiled call
 * (the value becomes an extra output of the plan, with no gradient) and returns true. Returns
 * false otherwise: eager code updates the parameter itself (param._swap under autograd.pause).
 */
export function auxUpdate(param: Parameter, value: Tensor): boolean {
  if (!auxCollector || !currentTrace() || !currentF) return false;
  auxCollector.push({ param, value });
  return true;
}

/** Shapes and dtypes of a call's inputs, as export() traces them. */
export interface InputSpec {
  shape: readonly number[];
  dtype: DType;
}

export interface ExportOptions {
  /** The number in the parameter file's name (MXNet's epoch): `path-0003.safetensors`; without it, `path.safetensors`. */
  epoch?: number;
  /** Input shapes (or example tensors); default: those of the last forward() call. */
  inputs?: readonly (InputSpec | Tensor)[];
}

/** Installed by nn/hybridize.ts, which binds Blocks to the compiler, so that hybridize() compiles. */
export function registerHybridCompiler(c: HybridCompiler | null): void {
  compiler = c;
}

/**
 * A block written once as hybridForward(F, ...args), which forward() runs eagerly or, after
 * hybridize(), compiled. `In` and `Out` are as for Block: `HybridBlock<[Tensor, Tensor], Tensor>`.
 */
export class HybridBlock<In extends unknown[] = [Tensor], Out = Tensor> extends Block<In, Out> {
  protected _hybridized = false;
  protected _hybridOpts: HybridizeOptions = {};
  /** One compiled function per argument layout (which arguments were left out); null before the first. */
  private _compiled: Map<ArgLayout, (inputs: readonly Tensor[], params: readonly Tensor[]) => unknown> | null = null;
  /** Input shapes and dtypes of the last top-level forward() call (what export() traces). */
  _lastInputs: InputSpec[] | null = null;

  constructor(opts: BlockOptions = {}) {
    super(opts);
    for (const k of ['_hybridized', '_hybridOpts', '_compiled', '_lastInputs']) {
      Object.defineProperty(this, k, { enumerable: false, writable: true, value: (this as Record<string, unknown>)[k] });
    }
  }

  /** Override: the computation, written once for eager (F = nd) and traced (F = sym) use. */
  hybridForward(_F: F, ..._args: In): Out {
    throw new Error(`webgluon: ${this.constructor.name} does not implement hybridForward(F, ...args)`);
  }

  /**
   * Layers with parameters of unknown shape (0 dims) override this to fix the shapes from
   * the first input (via parameter._mergeShape); initialization then completes.
   */
  protected inferShape(..._args: In): void {}

  get isHybridized(): boolean {
    return this._hybridized;
  }

  override forward(...args: In): Out {
    const F = currentF;
    if (F) {
      if (inferringShapes) this._finishDeferred(args);
      return this.hybridForward(F, ...args);
    }
    if (args.length && args.every((a) => a instanceof Tensor)) this._lastInputs = (args as Tensor[]).map((t) => ({ shape: [...t.shape], dtype: t.dtype }));
    this._finishDeferred(args);
    if (this._hybridized && compiler && !summaryActive()) {
      const run = this._runHybridized(args);
      // The compiled graph returns what hybridForward returned when it was traced.
      if (run.ran) return run.out as Out;
      const out = this.hybridForward(nd, ...args);
      warnEager(this, run.reason);
      return out;
    }
    return this.hybridForward(nd, ...args);
  }

  private _finishDeferred(args: In): void {
    const own = [...this._ownParams().values()];
    if (!own.some((p) => !p.isInitialized && p.hasDeferredInit)) return;
    this.inferShape(...args);
    for (const p of own) if (!p.isInitialized && p.hasDeferredInit) p._finishDeferredInit(p.shape);
  }

  /**
   * The block's forward as `(F, ...inputs, ...params) => outputs` (for the compiler). With a
   * layout, the inputs are the call's tensors only and the left-out arguments are put back.
   */
  tracedFunction(layout?: ArgLayout): TracedFunction {
    const params = [...this.collectParams()];
    const fn = (F: F, ...values: unknown[]) => {
      const n = values.length - params.length;
      const map = new Map<Parameter, unknown>(params.map(([, p], i) => [p, values[n + i]]));
      const inputs = layout === undefined ? values.slice(0, n) : expandArgs(layout, values.slice(0, n));
      return withF(F, () => withParamValues(map, () => this.hybridForward(F, ...(inputs as In))));
    };
    return { params, fn };
  }

  /**
   * The one place where hybridized blocks leave eager mode: compiles (once per layout of left-out
   * arguments) and runs. Parameters of unknown shape are first given their shapes by a dry trace,
   * so even the first call is compiled. Says why when the call must run eagerly instead.
   */
  private _runHybridized(args: unknown[]): { ran: true; out: unknown } | { ran: false; reason: string } {
    let n = args.length;
    while (n > 0 && args[n - 1] === undefined) n--;
    const call = args.slice(0, n);
    const bad = call.findIndex((a) => !(a instanceof Tensor) && a !== null && a !== undefined);
    if (bad >= 0) {
      return { ran: false, reason: `argument ${bad + 1} is ${describeArg(call[bad])}; a compiled graph takes tensors, ` +
        'and null or undefined for arguments left out (pass numbers as constructor options, or tensors)' };
    }
    const layout = call.map((a) => (a instanceof Tensor ? 'T' : a === null ? 'n' : 'u')).join('');
    const tensors = call.filter((a): a is Tensor => a instanceof Tensor);
    let params = [...this.collectParams().values()];
    if (!params.every((p) => p.isInitialized)) {
      const why = this._inferShapes(layout, tensors);
      if (why) return { ran: false, reason: why };
      params = [...this.collectParams().values()];
      const missing = params.find((p) => !p.isInitialized);
      if (missing) return { ran: false, reason: `parameter '${missing.name}' is not initialized` };
    }
    this._compiled ??= new Map();
    let compiled = this._compiled.get(layout);
    if (!compiled) {
      compiled = compiler!(this, this.tracedFunction(layout), this._hybridOpts);
      this._compiled.set(layout, compiled);
    }
    return { ran: true, out: compiled(tensors, params.map((p) => p.data())) };
  }

  /**
   * Completes deferred initialization without running the block: a trace on the call's shapes
   * in which each block infers its parameters' shapes (inferShape) before it reads them, as the
   * eager first call would. Returns why it could not (then the call runs eagerly), or null.
   */
  private _inferShapes(layout: ArgLayout, tensors: readonly Tensor[]): string | null {
    const specs = tensors.map((t, i) => ({ shape: t.shape, dtype: t.dtype, name: `x${i}` }));
    const saved = inferringShapes;
    inferringShapes = true;
    try {
      traceFull((F, ...xs) => {
        const trace = currentTrace()!;
        // Initialized parameters are read as graph parameters; the others initialize first.
        const lazy = new (class extends Map<Parameter, unknown> {
          override get(p: Parameter): unknown {
            return p.isInitialized ? trace.paramSymbol(p, p.shape, p.dtype, p.name) : undefined;
          }
        })();
        withAuxUpdates([], () => withF(F as unknown as F, () => withParamValues(lazy, () =>
          this.hybridForward(F as unknown as F, ...(expandArgs(layout, xs) as In)))));
        return [];
      }, specs, undefined, this.constructor.name);
      return null;
    } catch (e) {
      return `its parameters' shapes could not be inferred by tracing (${e instanceof Error ? e.message : String(e)}), ` +
        'so this call initializes them eagerly';
    } finally {
      inferringShapes = saved;
    }
  }

  /**
   * MXNet's export: writes the traced forward graph to `${path}-symbol.json` and the parameters
   * (safetensors) to `${path}-${epoch:04d}.params`, each atomically; traces with the shapes of the
   * last forward() call unless `inputs` gives them. Load with gluon.SymbolBlock.imports().
   */
  async export(path: string, opts: ExportOptions | number = {}): Promise<{ symbolFile: string; paramsFile: string }> {
    if (typeof opts !== 'number') checkOptions(`${this.constructor.name}.export`, opts, ['epoch', 'inputs']);
    const { exportBlock } = await import('./export.js');
    // export traces any signature; its parameter type names the default one.
    return exportBlock(this as AnyHybridBlock as HybridBlock, path, typeof opts === 'number' ? { epoch: opts } : opts);
  }

  /** Marks this block and its children for compilation ({staticAlloc, staticShape} as MXNet). */
  override hybridize(active: boolean | HybridizeOptions = true, opts: HybridizeOptions = {}): void {
    const [on, o] = hybridizeArgs(this, active, opts);
    this._hybridized = on;
    this._hybridOpts = { ...o };
    this._compiled = null;
    super.hybridize(on, o);
  }
}

/** Any HybridBlock, whatever its inputs and outputs. */
export type AnyHybridBlock = HybridBlock<never, unknown>;
