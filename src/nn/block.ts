// Block (MXNet's gluon.Block): a tree of layers. Children and parameters are found, as in
// Gluon, by walking the block's own properties (or added with register()); their property names
// make the structural parameter names (`cnn.0.weight`). Every forward() call is wrapped so that
// errors name the Block path, and so that summary() can watch output shapes.
import { ArgumentError, withOrigin } from '../base/errors.js';
import { checkOptions } from '../base/options.js';
import { Tensor } from '../ndarray/index.js';
import type { InitLike } from './init.js';
import { Parameter, ParameterDict, type InitializeOptions } from './parameter.js';

const counters = new Map<string, number>();
function autoName(cls: string): string {
  const base = cls.toLowerCase();
  const n = counters.get(base) ?? 0;
  counters.set(base, n + 1);
  return `${base}${n}`;
}

interface SummaryRow {
  depth: number;
  label: string;
  output: string;
  params: number;
}
let summaryRows: SummaryRow[] | null = null;
let depth = 0;

/** True while summary() runs its forward pass (hybridized blocks then run eagerly, layer by layer). */
export function summaryActive(): boolean {
  return summaryRows !== null;
}
/** The blocks being run, outermost first, with their structural paths ('' for the outermost). */
const running: { block: AnyBlock; path: string }[] = [];

function describeOutput(v: unknown): string {
  if (v instanceof Tensor || (typeof v === 'object' && v !== null && 'shape' in v && Array.isArray((v as { shape: unknown }).shape))) {
    const s = (v as { shape: readonly number[] }).shape;
    return `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
  }
  if (Array.isArray(v)) return `[${v.map(describeOutput).join(', ')}]`;
  return typeof v;
}

export interface BlockOptions {
  /** The block's name in messages (default: the class name and a counter, `dense0`). */
  prefix?: string;
}

/**
 * `In` is the tuple of forward()'s arguments and `Out` what it returns: a block taking two
 * tensors and returning two is a `Block<[Tensor, Tensor], [Tensor, Tensor]>`.
 */
export class Block<In extends unknown[] = [Tensor], Out = Tensor> {
  /** An MXNet-style unique name (`dense0`), used in messages. */
  readonly name: string;
  /** The property name under which the parent holds this block, once known. */
  _label: string | null = null;
  /** Explicitly registered children and parameters (register(), Sequential.add()). */
  protected readonly _reg = new Map<string, AnyBlock | Parameter>();

  constructor(opts: BlockOptions = {}) {
    checkOptions(new.target.name, opts, ['prefix']);
    if (opts.prefix !== undefined && typeof opts.prefix !== 'string') {
      throw new ArgumentError(`${new.target.name} prefix must be a string, got ${JSON.stringify(opts.prefix)}`);
    }
    this.name = opts.prefix ?? autoName(new.target.name);
    const impl = this.forward;
    Object.defineProperty(this, 'forward', {
      value: (...args: In) => this._call(impl, args),
      enumerable: false, writable: true, configurable: true,
    });
    for (const k of ['name', '_label', '_reg']) {
      Object.defineProperty(this, k, { enumerable: false, writable: k === '_label', value: (this as Record<string, unknown>)[k] });
    }
  }

  /** Override in subclasses; call as `block.forward(...args)`. */
  forward(..._args: In): Out {
    throw new Error(`webgluon: ${this.constructor.name} does not implement forward()`);
  }

  /** Runs `impl` with this block on the error-origin path (and summary bookkeeping). */
  protected _call(impl: (...a: never[]) => unknown, args: unknown[]): unknown {
    const label = `${this._label ?? this.name}(${this.constructor.name})`;
    // Errors name a child by its path from the outermost block (`cnn.0(Conv2D)`), the prefix of
    // its parameter names in collectParams(); a block called by one that does not own it, by its own name.
    const parent = running[running.length - 1];
    const path = parent && this._label !== null && parent.block._owns(this)
      ? (parent.path ? `${parent.path}.${this._label}` : this._label) : '';
    const origin = path ? `${path}(${this.constructor.name})` : `${this.name}(${this.constructor.name})`;
    const rows = summaryRows;
    const row: SummaryRow | null = rows ? { depth, label, output: '', params: 0 } : null;
    if (row) rows!.push(row);
    depth++;
    running.push({ block: this, path });
    try {
      const out = withOrigin(origin, () => (impl as (...a: unknown[]) => unknown).apply(this, args));
      if (row) {
        row.output = describeOutput(out);
        for (const p of this._ownParams().values()) row.params += p.shape.reduce((a, b) => a * b, 1);
      }
      return out;
    } finally {
      running.pop();
      depth--;
    }
  }

  /** Whether `child` is one of this block's direct children. */
  _owns(child: AnyBlock): boolean {
    if (this._reg.get(child._label!) === child) return true;
    return (this as Record<string, unknown>)[child._label!] === child;
  }

  /** Adds a child block (or parameter) under `name`; returns it. */
  register<B extends AnyBlock | Parameter>(name: string, child: B): B {
    this._reg.set(name, child);
    if (child instanceof Block && child._label === null) child._label = name;
    return child;
  }
  /** Alias of register() for blocks (Gluon's register_child). */
  registerChild<B extends AnyBlock>(child: B, name?: string): B {
    return this.register(name ?? String(this._reg.size), child);
  }

  /** Children and own parameters in declaration order: properties, then registered ones. */
  protected _entries(): [string, AnyBlock | Parameter][] {
    const out: [string, AnyBlock | Parameter][] = [];
    const seen = new Set<unknown>();
    for (const [k, v] of Object.entries(this)) {
      if ((v instanceof Block || v instanceof Parameter) && !seen.has(v)) {
        seen.add(v);
        out.push([k, v]);
        if (v instanceof Block && v._label === null) v._label = k;
      }
    }
    for (const [k, v] of this._reg) if (!seen.has(v)) {
      seen.add(v);
      out.push([k, v]);
    }
    return out;
  }

  /** Direct child blocks, by name (narrow one with instanceof to call it). */
  get children(): Map<string, AnyBlock> {
    return new Map(this._entries().filter((e): e is [string, AnyBlock] => e[1] instanceof Block));
  }

  protected _ownParams(): Map<string, Parameter> {
    return new Map(this._entries().filter((e): e is [string, Parameter] => e[1] instanceof Parameter));
  }

  /**
   * All parameters of this block and its descendants, named by path (`cnn.0.weight`).
   * `select` keeps names matching a RegExp (a string is used as one, like Gluon's select).
   */
  collectParams(select?: RegExp | string): ParameterDict {
    const out = new ParameterDict();
    const seen = new Set<Parameter>();
    const walk = (b: AnyBlock, prefix: string, visiting: Set<AnyBlock>) => {
      if (visiting.has(b)) return;
      visiting.add(b);
      for (const [k, v] of b._entries()) {
        const path = prefix + k;
        if (v instanceof Parameter) {
          if (!seen.has(v)) {
            seen.add(v);
            out.set(path, v);
          }
        } else walk(v, `${path}.`, visiting);
      }
      visiting.delete(b);
    };
    walk(this, '', new Set());
    return select === undefined ? out : out.select(select);
  }

  /** Initializes every parameter (MXNet default: Uniform(0.07); biases start at zero). */
  initialize(init?: InitLike | null, opts: InitializeOptions = {}): this {
    checkOptions(`${this.constructor.name}.initialize`, opts, ['forceReinit']);
    this.collectParams().initialize(init, opts);
    return this;
  }

  /** Sets gradients of all parameters to zero. */
  zeroGrad(): void {
    this.collectParams().zeroGrad();
  }

  /** Marks this block and its descendants as hybridized (HybridBlocks compile their forward). */
  hybridize(active: boolean | HybridizeOptions = true, opts: HybridizeOptions = {}): void {
    const [on, o] = hybridizeArgs(this, active, opts);
    for (const c of this.children.values()) c.hybridize(on, o);
  }

  /** Applies fn to this block and every descendant (Gluon's apply). */
  apply(fn: (b: AnyBlock) => void): this {
    for (const c of this.children.values()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Runs forward(...inputs) once and prints each block's output shape and parameter count;
   * returns the table. Parameters must be initialized (deferred ones are, by this call).
   * Hybridized blocks run eagerly during this call so that every layer shows.
   */
  summary(...inputs: In): string {
    const saved = summaryRows;
    const rows: SummaryRow[] = [];
    summaryRows = rows;
    try {
      this.forward(...inputs);
    } finally {
      summaryRows = saved;
    }
    const seen = new Set<string>();
    const lines = rows.map((r) => [`${'  '.repeat(r.depth)}${r.label}`, r.output, String(r.params)]);
    const header = ['Layer (type)', 'Output Shape', 'Param #'];
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)) + 2);
    const fmtRow = (l: string[]) => l.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('');
    const params = this.collectParams();
    let total = 0;
    let trainable = 0;
    for (const [k, p] of params) {
      if (seen.has(k)) continue;
      const n = p.shape.reduce((a, b) => a * b, 1);
      total += n;
      if (p.gradReq !== 'null') trainable += n;
    }
    const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0));
    const text = [rule, fmtRow(header), '='.repeat(rule.length), ...lines.map(fmtRow), '='.repeat(rule.length),
      `Parameters in total: ${total}`, `Trainable parameters: ${trainable}`, `Non-trainable parameters: ${total - trainable}`, rule].join('\n');
    console.log(text);
    return text;
  }

  /** Saves all parameters in safetensors format (names are collectParams() paths). */
  /**
   * Writes the parameters as safetensors (atomically), with `__metadata__` naming the format, the
   * webgluon version, the model class and whatever `metadata` adds (input shape, training args).
   */
  async saveParameters(path: string, opts: { metadata?: Record<string, string> } = {}): Promise<void> {
    checkOptions(`${this.constructor.name}.saveParameters`, opts, ['metadata']);
    const { saveParameters, blockMetadata } = await import('./serialization.js');
    await saveParameters(this.collectParams(), path, blockMetadata(this, opts.metadata));
  }

  /**
   * Loads parameters saved by saveParameters(). Names, shapes and dtypes are checked for every
   * parameter before any is changed: on error the block is left as it was. Returns the file's
   * metadata.
   */
  async loadParameters(path: string, opts: LoadParametersOptions = {}): Promise<Record<string, string>> {
    checkOptions(`${this.constructor.name}.loadParameters`, opts, ['allowMissing', 'ignoreExtra']);
    const { loadParameters } = await import('./serialization.js');
    return loadParameters(this.collectParams(), path, opts);
  }

  /** saveParameters() to bytes (the same safetensors file, in memory): for browsers, IndexedDB, fetch. */
  async saveParametersToBytes(opts: { metadata?: Record<string, string> } = {}): Promise<Uint8Array> {
    checkOptions(`${this.constructor.name}.saveParametersToBytes`, opts, ['metadata']);
    const { saveParametersToBytes } = await import('./param_bytes.js');
    return saveParametersToBytes(this, opts.metadata);
  }

  /** loadParameters() from bytes, with the same checks (on error the block is left as it was); returns the metadata. */
  async loadParametersFromBytes(bytes: Uint8Array, opts: LoadParametersOptions = {}): Promise<Record<string, string>> {
    const { loadParametersFromBytes } = await import('./param_bytes.js');
    return loadParametersFromBytes(this, bytes, opts);
  }

  toString(): string {
    const kids = [...this.children].map(([k, c]) => `  (${k}): ${String(c).split('\n').join('\n  ')}`);
    return kids.length ? `${this.constructor.name}(\n${kids.join('\n')}\n)` : `${this.constructor.name}()`;
  }
}

/** Any block, whatever its inputs and outputs (call it after narrowing with instanceof). */
export type AnyBlock = Block<never, unknown>;

export interface HybridizeOptions {
  staticAlloc?: boolean;
  staticShape?: boolean;
}

export interface LoadParametersOptions {
  /** Leave parameters the file lacks as they are (default: an error). */
  allowMissing?: boolean;
  /** Skip entries of the file that name no parameter (default: an error). */
  ignoreExtra?: boolean;
}

/** hybridize(active?, opts?) or hybridize(opts): the on/off switch and the checked options. */
export function hybridizeArgs(block: AnyBlock, active: unknown, opts: unknown): [boolean, HybridizeOptions] {
  const where = `${block.constructor.name}.hybridize`;
  if (typeof active !== 'boolean' && (typeof active !== 'object' || active === null)) {
    throw new ArgumentError(`${where} takes true/false or options {staticAlloc, staticShape}, got ${JSON.stringify(active) ?? String(active)}`);
  }
  const o = ((typeof active === 'object' ? active : opts) ?? {}) as HybridizeOptions;
  checkOptions(where, o, ['staticAlloc', 'staticShape']);
  for (const k of ['staticAlloc', 'staticShape'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new ArgumentError(`${where} option \`${k}\` must be true or false, got ${JSON.stringify(o[k])}`);
  }
  return [typeof active === 'boolean' ? active : true, o];
}
