// Parameter (MXNet's gluon.Parameter): a named tensor with a gradient, created by an
// initializer. A 0 in the shape means "not known yet": the owning layer infers it from the
// first input and initialization finishes then (deferred initialization).
import { ArgumentError } from '../base/errors.js';
import { checkNumber, checkOptions } from '../base/options.js';
import { autograd, keep, nd, Tensor } from '../ndarray/index.js';
import type { GradReq } from '../ndarray/tensor.js';
import type { DType } from '../base/types.js';
import { Initializer, toInitializer, Uniform, type InitLike } from './init.js';

const REPLACED = 'the library replaced it with a newer value (a parameter value after trainer.step(), setData() or ' +
  'loadParameters(), an old gradient or optimizer state); read param.data() or param.grad() again for the current one';

/** Disposes replaced tensors; the executor keeps their memory until queued kernels have run. */
export function retire(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) if (t && !t.isDisposed) t._retire(REPLACED);
}

export interface ParameterOptions {
  shape?: readonly number[];
  dtype?: DType;
  init?: InitLike | null;
  gradReq?: GradReq;
  allowDeferredInit?: boolean;
  lrMult?: number;
  wdMult?: number;
  differentiable?: boolean;
}

export interface InitializeOptions {
  forceReinit?: boolean;
}

const PARAMETER_OPTIONS = ['shape', 'dtype', 'init', 'gradReq', 'allowDeferredInit', 'lrMult', 'wdMult', 'differentiable'] as const;
const GRAD_REQS: readonly unknown[] = ['write', 'add', 'null'];

function checkGradReq(where: string, req: unknown): GradReq {
  if (GRAD_REQS.includes(req)) return req as GradReq;
  throw new ArgumentError(`${where} gradReq must be 'write', 'add' or 'null', got ${JSON.stringify(req) ?? String(req)}`);
}

const fmt = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/**
 * While a traced (hybridized) function runs, parameters resolve to the values it was given
 * (symbols, or tensors when the traced function is run eagerly). See HybridBlock.tracedFunction.
 */
let resolver: ((p: Parameter) => unknown) | null = null;

/** Runs fn with Parameter.data() answering from `values` (used by traced functions). */
export function withParamValues<R>(values: ReadonlyMap<Parameter, unknown>, fn: () => R): R {
  const saved = resolver;
  resolver = (p) => values.get(p);
  try {
    return fn();
  } finally {
    resolver = saved;
  }
}

export class Parameter {
  name: string;
  shape: number[];
  readonly dtype: DType;
  init: Initializer | null;
  lrMult: number;
  wdMult: number;
  allowDeferredInit: boolean;
  private _gradReq: GradReq;
  private _data: Tensor | null = null;
  /** The initializer waiting for the shape to become known. */
  private _deferred: Initializer | null = null;

  constructor(name: string, opts: ParameterOptions = {}) {
    const where = `Parameter '${name}'`;
    checkOptions(where, opts, PARAMETER_OPTIONS);
    if (opts.shape !== undefined && !(Array.isArray(opts.shape) && opts.shape.every((d) => Number.isInteger(d) && d >= 0))) {
      throw new ArgumentError(`${where} shape must be a list of non-negative integers (0: inferred later), got ${JSON.stringify(opts.shape)}`);
    }
    if (opts.dtype !== undefined && opts.dtype !== 'float32' && opts.dtype !== 'int32') {
      throw new ArgumentError(`${where} dtype must be 'float32' or 'int32', got ${JSON.stringify(opts.dtype)}`);
    }
    this.name = name;
    this.shape = [...(opts.shape ?? [])];
    this.dtype = opts.dtype ?? 'float32';
    this.init = toInitializer(opts.init ?? null);
    this._gradReq = opts.differentiable === false ? 'null' : checkGradReq(where, opts.gradReq ?? 'write');
    this.allowDeferredInit = opts.allowDeferredInit ?? true;
    this.lrMult = checkNumber(`${where} lrMult`, opts.lrMult ?? 1, { min: 0 });
    this.wdMult = checkNumber(`${where} wdMult`, opts.wdMult ?? 1, { min: 0 });
  }

  get gradReq(): GradReq {
    return this._gradReq;
  }
  set gradReq(req: GradReq) {
    this._gradReq = checkGradReq(`Parameter '${this.name}'`, req);
    if (this._data) this._attach(this._data);
  }

  get shapeKnown(): boolean {
    return this.shape.length > 0 ? this.shape.every((d) => d > 0) : this._data !== null || this.shape.length === 0;
  }
  get isInitialized(): boolean {
    return this._data !== null;
  }
  get hasDeferredInit(): boolean {
    return this._deferred !== null;
  }

  /** Creates the value with `init` (this parameter's own initializer wins, as in MXNet). */
  initialize(init?: InitLike | null, opts: InitializeOptions = {}): void {
    checkOptions(`Parameter '${this.name}'.initialize`, opts, ['forceReinit']);
    if (this._data && !opts.forceReinit) return;
    const chosen = this.init ?? toInitializer(init ?? null) ?? new Uniform();
    if (!this.shape.every((d) => d > 0)) {
      if (!this.allowDeferredInit) throw new Error(`webgluon: cannot initialize Parameter '${this.name}': its shape ${fmt(this.shape)} is not fully known`);
      this._deferred = chosen;
      if (this._data) this._setTensor(null);
      return;
    }
    this._create(chosen);
  }

  /** Called by layers once the input fixes the unknown (0) dimensions. */
  _finishDeferredInit(shape: readonly number[]): void {
    this._mergeShape(shape);
    if (!this._deferred) return;
    const init = this._deferred;
    this._create(init);
  }

  /** Fills unknown dimensions from `shape`; known ones must agree. */
  _mergeShape(shape: readonly number[]): void {
    const ok = this.shape.length === 0 || (this.shape.length === shape.length && this.shape.every((d, i) => d === 0 || d === shape[i]));
    if (!ok) throw new Error(`webgluon: Parameter '${this.name}' has shape ${fmt(this.shape)}, which does not match the inferred shape ${fmt(shape)}`);
    this.shape = [...shape];
  }

  private _create(init: Initializer): void {
    const t = autograd.pause(() => init.create(this.name, this.shape));
    if (t.shape.length !== this.shape.length || t.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(`webgluon internal: initializer ${init} made shape ${fmt(t.shape)} for '${this.name}' ${fmt(this.shape)}`);
    }
    this._deferred = null;
    this._setTensor(this.dtype === 'int32' ? t.astype('int32') : t);
  }

  private _attach(t: Tensor): void {
    if (this._gradReq === 'null') {
      t._gradReq = null;
      t._replaceGrad(null);
    } else if (!t.grad || t._gradReq !== this._gradReq) {
      t.attachGrad(this._gradReq);
    }
  }

  private _setTensor(t: Tensor | null): void {
    if (this._data && this._data !== t) {
      const old = this._data;
      const g = old.grad;
      (old as unknown as { _grad: Tensor | null })._grad = null;
      retire(old, g);
    }
    this._data = t && keep(t);
    if (t) this._attach(t);
  }

  private _check(what: string): Tensor {
    if (this._data) return this._data;
    if (this._deferred) {
      throw new Error(`webgluon: Parameter '${this.name}' has not been initialized yet because its shape ${fmt(this.shape)} ` +
        `is inferred from the first input: run a forward pass before calling ${what}()`);
    }
    throw new Error(`webgluon: Parameter '${this.name}' has not been initialized. Call block.initialize() (or collectParams().initialize()) before using it`);
  }

  /** The value: a Tensor (or, while a hybridized Block is traced, its symbol). */
  data(): Tensor {
    if (resolver) {
      const v = resolver(this);
      if (v !== undefined) return v as Tensor;
    }
    return this._check('data');
  }

  /** The gradient buffer (written by backward()). */
  grad(): Tensor {
    const t = this._check('grad');
    if (this._gradReq === 'null' || !t.grad) throw new Error(`webgluon: Parameter '${this.name}' has gradReq 'null', so it has no gradient`);
    return t.grad;
  }

  /** Replaces the value (the gradient is kept; shapes must agree). */
  setData(value: Tensor | Float32Array | Int32Array | readonly number[]): void {
    let t: Tensor;
    if (value instanceof Tensor) t = autograd.pause(() => value.detach().copy());
    else t = nd.array(value as Float32Array, { shape: this.shape.every((d) => d > 0) ? this.shape : undefined, dtype: this.dtype });
    if (this.shape.length && !this.shape.every((d) => d === 0) && !(this.shape.length === t.shape.length && this.shape.every((d, i) => d === 0 || d === t.shape[i]))) {
      throw new Error(`webgluon: setData on Parameter '${this.name}' of shape ${fmt(this.shape)} got shape ${fmt(t.shape)}`);
    }
    this._swap(t);
  }

  /**
   * Installs `next` as the value, moving the gradient buffer over and disposing the old value;
   * used by optimizers, which compute the new weight as a fresh tensor.
   */
  _swap(next: Tensor): void {
    this.shape = [...next.shape];
    this._deferred = null;
    const old = this._data;
    if (old === next) return;
    const grad = old?.grad ?? null;
    next._entry = null;
    if (this._gradReq !== 'null') {
      next._gradReq = this._gradReq;
      if (grad && grad.shape.length === next.shape.length && grad.shape.every((d, i) => d === next.shape[i])) {
        next._replaceGrad(grad);
        // the old tensor must not dispose the gradient we moved
        (old as unknown as { _grad: Tensor | null })._grad = null;
      } else {
        next.attachGrad(this._gradReq);
      }
    }
    this._data = keep(next);
    if (old) {
      const g = old.grad;
      (old as unknown as { _grad: Tensor | null })._grad = null;
      retire(old, g);
    }
  }

  /** Sets the gradient to zero (needed with gradReq 'add'). */
  zeroGrad(): void {
    if (!this._data || this._gradReq === 'null') return;
    const old = this._data.grad;
    (this._data as unknown as { _grad: Tensor | null })._grad = null;
    this._data._replaceGrad(nd.zerosLike(this._data));
    retire(old);
  }

  /** Drops the value (and gradient), e.g. before re-initializing. */
  reset(): void {
    this._setTensor(null);
  }

  toString(): string {
    return `Parameter ${this.name} (shape=${fmt(this.shape)}, dtype=${this.dtype})`;
  }
}

/** MXNet's ParameterDict: an ordered name → Parameter map with bulk operations. */
export class ParameterDict extends Map<string, Parameter> {
  initialize(init?: InitLike | null, opts: InitializeOptions = {}): void {
    checkOptions('ParameterDict.initialize', opts, ['forceReinit']);
    for (const p of this.values()) p.initialize(init, opts);
  }
  zeroGrad(): void {
    for (const p of this.values()) p.zeroGrad();
  }
  setGradReq(req: GradReq): void {
    for (const p of this.values()) p.gradReq = req;
  }
  /** Parameters whose name matches `select` (a RegExp, or a string used as one). */
  select(select: RegExp | string): ParameterDict {
    const re = typeof select === 'string' ? new RegExp(select) : select;
    const out = new ParameterDict();
    for (const [k, p] of this) if (re.test(k)) out.set(k, p);
    return out;
  }
  /** Total number of values in parameters whose shape is known. */
  get count(): number {
    let n = 0;
    for (const p of this.values()) if (p.shape.every((d) => d > 0)) n += p.shape.reduce((a, b) => a * b, 1);
    return n;
  }
  override toString(): string {
    return `ParameterDict(\n${[...this].map(([k, p]) => `  ${k}: ${p}`).join('\n')}\n)`;
  }
}
