// HybridBlock (MXNet's gluon.HybridBlock): forward() calls hybridForward(F, ...args) with
// F = nd (eager). Parameters are read inside hybridForward with `this.weight.data()`.
// hybridize() marks the tree; the switch to a compiled graph happens in one place,
// HybridBlock._runHybridized, which feeds tracedFunction() — `(F, ...inputs, ...params) =>
// outputs` — to the registered compiler. Until one is registered, hybridized blocks run eagerly.
import type { Ops } from '../graph/registry.js';
import { nd, Tensor } from '../ndarray/index.js';
import { Block, type HybridizeOptions } from './block.js';
import { withParamValues, type Parameter } from './parameter.js';

/** The `F` a hybridForward receives: the op namespace over tensors (or symbols when traced). */
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
export type HybridCompiler = (block: HybridBlock, traced: TracedFunction, opts: HybridizeOptions) =>
  (inputs: readonly Tensor[], params: readonly Tensor[]) => unknown;

let compiler: HybridCompiler | null = null;

/** Installed by the compiler module (src/graph/compile.ts) so that hybridize() compiles. */
export function registerHybridCompiler(c: HybridCompiler | null): void {
  compiler = c;
}

export class HybridBlock extends Block {
  protected _hybridized = false;
  protected _hybridOpts: HybridizeOptions = {};
  private _compiled: ((inputs: readonly Tensor[], params: readonly Tensor[]) => unknown) | null = null;

  constructor(opts: { prefix?: string } = {}) {
    super(opts);
    for (const k of ['_hybridized', '_hybridOpts', '_compiled']) {
      Object.defineProperty(this, k, { enumerable: false, writable: true, value: (this as Record<string, unknown>)[k] });
    }
  }

  /** Override: the computation, written once for eager (F = nd) and traced (F = sym) use. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  hybridForward(_F: F, ..._args: any[]): any {
    throw new Error(`webgluon: ${this.constructor.name} does not implement hybridForward(F, ...args)`);
  }

  /**
   * Layers with parameters of unknown shape (0 dims) override this to fix the shapes from
   * the first input (via parameter._mergeShape); initialization then completes.
   */
  protected inferShape(..._args: unknown[]): void {}

  get isHybridized(): boolean {
    return this._hybridized;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override forward(...args: any[]): any {
    const F = currentF;
    if (F) return this.hybridForward(F, ...args);
    this._finishDeferred(args);
    if (this._hybridized && compiler) {
      const out = this._runHybridized(args);
      if (out !== undefined) return out;
    }
    return this.hybridForward(nd, ...args);
  }

  private _finishDeferred(args: unknown[]): void {
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
      return withF(F, () => withParamValues(map, () => this.hybridForward(F, ...values.slice(0, n))));
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

  /** Marks this block and its children for compilation ({staticAlloc, staticShape} as MXNet). */
  override hybridize(active: boolean | HybridizeOptions = true, opts: HybridizeOptions = {}): void {
    const o = typeof active === 'object' ? active : opts;
    const on = typeof active === 'boolean' ? active : true;
    this._hybridized = on;
    this._hybridOpts = { ...o };
    this._compiled = null;
    super.hybridize(on, o);
  }
}
