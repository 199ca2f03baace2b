// HybridBlock (MXNet's gluon.HybridBlock): forward() calls hybridForward(F, ...args) with
// F = nd (eager). Parameters are read inside hybridForward with `this.weight.data()`.
// hybridize() marks the tree; the switch to a compiled graph happens in one place,
// HybridBlock._runHybridized, which feeds tracedFunction() — `(F, ...inputs, ...params) =>
// outputs` — to the registered compiler. Until one is registered, hybridized blocks run eagerly.
import { checkOptions } from '../base/options.js';
import type { Ops } from '../graph/registry.js';
import { currentTrace } from '../graph/trace.js';
import type { DType } from '../base/types.js';
import { nd, Tensor } from '../ndarray/index.js';
import { Block, hybridizeArgs, summaryActive, type BlockOptions, type HybridizeOptions } from './block.js';
import { withParamValues, type Parameter } from './parameter.js';

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
  private _compiled: ((inputs: readonly Tensor[], params: readonly Tensor[]) => unknown) | null = null;
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
    if (F) return this.hybridForward(F, ...args);
    if (args.length && args.every((a) => a instanceof Tensor)) this._lastInputs = (args as Tensor[]).map((t) => ({ shape: [...t.shape], dtype: t.dtype }));
    this._finishDeferred(args);
    if (this._hybridized && compiler && !summaryActive()) {
      const out = this._runHybridized(args);
      // The compiled graph returns what hybridForward returned when it was traced.
      if (out !== undefined) return out as Out;
    }
    return this.hybridForward(nd, ...args);
  }

  private _finishDeferred(args: In): void {
    const own = [...this._ownParams().values()];
    if (!own.some((p) => !p.isInitialized && p.hasDeferredInit)) return;
    this.inferShape(...args);
    for (const p of own) if (!p.isInitialized && p.hasDeferredInit) p._finishDeferredInit(p.shape);
  }

  /** The block's forward as `(F, ...inputs, ...params) => outputs` (for the compiler). */
  tracedFunction(): TracedFunction {
    const params = [...this.collectParams()];
    const fn = (F: F, ...values: unknown[]) => {
      const n = values.length - params.length;
      const map = new Map<Parameter, unknown>(params.map(([, p], i) => [p, values[n + i]]));
      return withF(F, () => withParamValues(map, () => this.hybridForward(F, ...(values.slice(0, n) as In))));
    };
    return { params, fn };
  }

  /**
   * The one place where hybridized blocks leave eager mode. Returns undefined (run eagerly)
   * while some parameter is uninitialized, e.g. the first call completes deferred init.
   */
  private _runHybridized(args: unknown[]): unknown {
    if (!args.every((a) => a instanceof Tensor)) return undefined;
    const params = [...this.collectParams().values()];
    if (!params.every((p) => p.isInitialized)) return undefined;
    if (!this._compiled) this._compiled = compiler!(this, this.tracedFunction(), this._hybridOpts);
    return this._compiled(args as Tensor[], params.map((p) => p.data()));
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
