// Initializers (MXNet's mx.init): each creates a parameter's first value through nd.random, so
// nd.random.seed(n) makes initialization repeatable. As in MXNet, the parameter's name decides
// the default: names ending in bias/beta/running_mean start at 0, gamma/running_var at 1, and
// only weights get the initializer's own distribution.
import { ArgumentError } from '../base/errors.js';
import { checkNumber, checkOptions, suggestName } from '../base/options.js';
import { nd, type Tensor } from '../ndarray/index.js';

export abstract class Initializer {
  /** Creates the initial value of a parameter called `name` with a fully known `shape`. */
  create(name: string, shape: readonly number[]): Tensor {
    const leaf = name.split('.').pop() ?? name;
    if (/(^|_)bias$|beta$|running_mean$|moving_mean$/.test(leaf)) return nd.zeros(shape);
    if (/gamma$|running_var$|moving_var$/.test(leaf)) return nd.ones(shape);
    return this.initWeight(name, shape);
  }
  /** The distribution for weights (and, for explicit per-parameter initializers, anything). */
  abstract initWeight(name: string, shape: readonly number[]): Tensor;
  toString(): string {
    return this.constructor.name;
  }
}

/** An initializer set on one parameter applies regardless of the parameter's name. */
export abstract class ExplicitInitializer extends Initializer {
  override create(name: string, shape: readonly number[]): Tensor {
    return this.initWeight(name, shape);
  }
}

export class Zero extends ExplicitInitializer {
  initWeight(_n: string, shape: readonly number[]): Tensor {
    return nd.zeros(shape);
  }
}
export class One extends ExplicitInitializer {
  initWeight(_n: string, shape: readonly number[]): Tensor {
    return nd.ones(shape);
  }
}
export class Constant extends ExplicitInitializer {
  constructor(readonly value: number) {
    super();
    checkNumber('init.Constant value', value);
  }
  initWeight(_n: string, shape: readonly number[]): Tensor {
    return nd.full(shape, this.value);
  }
}

/** Weights ~ U(-scale, scale); MXNet's default initializer (scale 0.07). */
export class Uniform extends Initializer {
  constructor(readonly scale = 0.07) {
    super();
    checkNumber('init.Uniform scale', scale, { min: 0 });
  }
  initWeight(_n: string, shape: readonly number[]): Tensor {
    return nd.random.uniform(-this.scale, this.scale, shape);
  }
}

/** Weights ~ N(0, sigma²). */
export class Normal extends Initializer {
  constructor(readonly sigma = 0.01) {
    super();
    checkNumber('init.Normal sigma', sigma, { min: 0 });
  }
  initWeight(_n: string, shape: readonly number[]): Tensor {
    return nd.random.normal(0, this.sigma, shape);
  }
}

export interface XavierOptions {
  rndType?: 'uniform' | 'gaussian';
  factorType?: 'avg' | 'in' | 'out';
  magnitude?: number;
}

/** Fan-in and fan-out as MXNet computes them: shape[1]·receptive field and shape[0]·receptive field. */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) throw new Error(`webgluon: Xavier needs a weight with at least 2 dimensions, got shape (${shape.join(', ')})`);
  const hw = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * hw, shape[0] * hw];
}

/** MXNet's Xavier: scale = sqrt(magnitude / factor); U(-scale, scale) or N(0, scale). */
export class Xavier extends Initializer {
  readonly rndType: 'uniform' | 'gaussian';
  readonly factorType: 'avg' | 'in' | 'out';
  readonly magnitude: number;
  constructor(opts: XavierOptions = {}) {
    super();
    checkOptions('init.Xavier', opts, ['rndType', 'factorType', 'magnitude']);
    this.rndType = opts.rndType ?? 'uniform';
    this.factorType = opts.factorType ?? 'avg';
    this.magnitude = checkNumber('init.Xavier magnitude', opts.magnitude ?? 3, { min: 0, minOpen: true });
    if (!['uniform', 'gaussian'].includes(this.rndType)) throw new ArgumentError(`init.Xavier rndType must be 'uniform' or 'gaussian', got '${this.rndType}'`);
    if (!['avg', 'in', 'out'].includes(this.factorType)) throw new ArgumentError(`init.Xavier factorType must be 'avg', 'in' or 'out', got '${this.factorType}'`);
  }
  scaleFor(shape: readonly number[]): number {
    const [fanIn, fanOut] = fans(shape);
    const factor = this.factorType === 'avg' ? (fanIn + fanOut) / 2 : this.factorType === 'in' ? fanIn : fanOut;
    return Math.sqrt(this.magnitude / factor);
  }
  initWeight(_n: string, shape: readonly number[]): Tensor {
    const scale = this.scaleFor(shape);
    return this.rndType === 'uniform' ? nd.random.uniform(-scale, scale, shape) : nd.random.normal(0, scale, shape);
  }
}

const INIT_NAMES = ['zeros', 'ones', 'xavier', 'uniform', 'normal'] as const;
/** An initializer, or the name of one with its default settings. */
export type InitLike = Initializer | (typeof INIT_NAMES)[number];

export function toInitializer(v: InitLike | null | undefined): Initializer | null {
  if (v == null) return null;
  if (v instanceof Initializer) return v;
  switch (v) {
    case 'zeros': return new Zero();
    case 'ones': return new One();
    case 'xavier': return new Xavier();
    case 'uniform': return new Uniform();
    case 'normal': return new Normal();
    default: {
      if (typeof v === 'object') {
        throw new ArgumentError(`expected an initializer, got ${JSON.stringify(v)}: options come second, as in initialize(null, { forceReinit: true })`);
      }
      const meant = typeof v === 'string' ? suggestName(v, INIT_NAMES) : null;
      throw new ArgumentError(`unknown initializer ${JSON.stringify(v) ?? String(v)}${meant ? ` (did you mean '${meant}'?)` : ''}; ` +
        `use an init.* object (e.g. new init.Xavier()) or one of ${INIT_NAMES.map((n) => `'${n}'`).join(', ')}`);
    }
  }
}
