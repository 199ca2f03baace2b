// Trainer (MXNet's gluon.Trainer): applies an optimizer to a set of parameters. step(batchSize)
// rescales gradients by 1/batchSize, as MXNet does. saveStates/loadStates write and read the
// whole optimizer state (see STATES_FORMAT), so that a resumed run continues exactly.
import { autograd, keep, nd, type Tensor } from '../ndarray/index.js';
import { checkNumber, checkOptions } from '../base/options.js';
import { VERSION } from '../base/version.js';
import { createOptimizer, type Optimizer, type OptimizerName, type OptimizerOptions } from './optimizers.js';
import { Parameter, ParameterDict, retire } from './parameter.js';
import type { DecodedTensor } from './serialization.js';

export type TrainerOptions = OptimizerOptions;

/**
 * The `format` entry of a trainer state file. It is safetensors: each parameter's state tensors
 * are named `${name}.state${k}` (Adam: k = 0 the first moment, 1 the second), and the metadata
 * entry `trainer` holds the scalar state as JSON (TrainerStateJSON).
 */
export const STATES_FORMAT = 'webgluon-trainer-states/1';

/** The scalar state of a Trainer, as saveStates writes it (metadata entry `trainer`). */
export interface TrainerStateJSON {
  optimizer: string;
  /** Updates so far: what learning-rate schedules read. */
  numUpdate: number;
  learningRate: number;
  /** The schedule object's own state, when the optimizer has one (FactorScheduler counts steps). */
  scheduler: { type: string; state: Record<string, number> } | null;
  /** The optimizer's settings when saved (for reading; loadStates restores only learningRate). */
  settings: Record<string, number | null>;
  /** Every parameter of the trainer, in order: its shape, its update count and its state tensors. */
  params: { name: string; shape: number[]; updates: number; states: number }[];
}

const fmtShape = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');

export class Trainer {
  readonly params: Parameter[];
  /** The parameters' names, as in the dict given (else Parameter.name): the keys of saved states. */
  readonly paramNames: string[];
  readonly optimizer: Optimizer;
  private readonly scale: number;
  private readonly states = new Map<Parameter, Tensor[]>();
  private readonly counts = new Map<Parameter, number>();

  constructor(params: ParameterDict | Map<string, Parameter> | Iterable<Parameter> | Record<string, Parameter>,
    optimizer: OptimizerName | Optimizer = 'sgd', opts: TrainerOptions = {}) {
    let entries: [string, Parameter][];
    if (params instanceof Map) entries = [...params.entries()];
    else if (Symbol.iterator in Object(params)) entries = [...(params as Iterable<Parameter>)].map((p) => [p?.name, p]);
    else entries = Object.entries(params as Record<string, Parameter>);
    for (const [, p] of entries) if (!(p instanceof Parameter)) throw new TypeError('webgluon: Trainer takes Parameters (e.g. block.collectParams())');
    const seen = new Set<Parameter>();
    entries = entries.filter(([, p]) => !seen.has(p) && seen.add(p));
    this.params = entries.map(([, p]) => p);
    this.paramNames = entries.map(([n]) => n);
    this.optimizer = createOptimizer(optimizer, opts);
    this.scale = this.optimizer.rescaleGrad;
  }

  get learningRate(): number {
    return this.optimizer.currentLr();
  }
  setLearningRate(lr: number): void {
    this.optimizer.learningRate = checkNumber('Trainer.setLearningRate(lr)', lr, { min: 0 });
  }

  /** One update of every trainable parameter, gradients scaled by 1/batchSize. */
  step(batchSize: number, opts: { ignoreStaleGrad?: boolean } = {}): void {
    checkOptions('Trainer.step', opts, ['ignoreStaleGrad']);
    // 0 or NaN would scale every gradient to Inf or NaN and write it into the weights.
    checkNumber('Trainer.step(batchSize)', batchSize, { min: 0, minOpen: true });
    this.optimizer.rescaleGrad = this.scale / batchSize;
    this.update();
  }

  /** One update with the current rescaleGrad (MXNet's Trainer.update; call after allreduce). */
  update(): void {
    const opt = this.optimizer;
    opt.numUpdate++;
    const lr = checkNumber(`the learning rate at update ${opt.numUpdate}`, opt.currentLr(), { min: 0 });
    autograd.pause(() => {
      for (const p of this.params) {
        if (p.gradReq === 'null' || !p.isInitialized) continue;
        const weight = p.data();
        const grad = weight.grad;
        if (!grad) continue;
        let state = this.states.get(p);
        if (!state) {
          state = opt.createState(weight).map(keep);
          this.states.set(p, state);
        }
        const t = (this.counts.get(p) ?? 0) + 1;
        this.counts.set(p, t);
        const next = opt.update({ weight, grad, state, lr: lr * p.lrMult, wd: opt.wd * p.wdMult, t });
        retire(...state.filter((s) => !next.state.includes(s)));
        this.states.set(p, next.state.map(keep));
        p._swap(next.weight);
      }
    });
  }

  /** Drops optimizer state (moments), e.g. after loading new parameters. */
  resetStates(): void {
    for (const s of this.states.values()) retire(...s);
    this.states.clear();
    this.counts.clear();
  }

  /**
   * MXNet's Trainer.save_states: writes the optimizer's whole state to `path` (safetensors,
   * atomically): every parameter's state tensors (Adam's moments, SGD's momentum, RMSProp's and
   * AdaGrad's accumulators), its update count, numUpdate, the learning rate and the schedule's
   * position. The parameters themselves are not included (saveParameters writes those).
   */
  async saveStates(path: string): Promise<void> {
    const names = this.paramNames;
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) {
      throw new Error(`webgluon: cannot save trainer states: two parameters are named '${dup}'; ` +
        'create the Trainer with block.collectParams(), whose names are unique');
    }
    const opt = this.optimizer;
    const tensors = new Map<string, DecodedTensor>();
    const params: TrainerStateJSON['params'] = [];
    for (const [i, p] of this.params.entries()) {
      const state = this.states.get(p) ?? [];
      for (const [k, t] of state.entries()) {
        tensors.set(`${names[i]}.state${k}`, { dtype: t.dtype, shape: [...t.shape], data: await t.data() });
      }
      params.push({ name: names[i], shape: p.isInitialized ? [...p.data().shape] : [...p.shape], updates: this.counts.get(p) ?? 0, states: state.length });
    }
    const json: TrainerStateJSON = {
      optimizer: opt.constructor.name,
      numUpdate: opt.numUpdate,
      learningRate: opt.learningRate,
      scheduler: opt.scheduler ? { type: opt.scheduler.constructor.name, state: opt.scheduler.getState() } : null,
      settings: opt.settings(),
      params,
    };
    const { writeSafetensorsFile } = await import('./serialization.js');
    await writeSafetensorsFile(path, tensors, { format: STATES_FORMAT, webgluon: VERSION, trainer: JSON.stringify(json) }, 'trainer states');
  }

  /**
   * MXNet's Trainer.load_states: reads a file from saveStates(). Everything is checked first (the
   * optimizer, the parameters' names and shapes, every state tensor); on any mismatch it throws
   * naming it, and the trainer is left as it was. Restores the state tensors, the update counts,
   * numUpdate, the learning rate (as MXNet, which restores the optimizer) and the schedule's state.
   */
  async loadStates(path: string): Promise<void> {
    const bad = (why: string) => new Error(`webgluon: cannot load trainer states from '${path}': ${why}; the trainer was not changed`);
    const { readSafetensorsFile } = await import('./serialization.js');
    let file: Awaited<ReturnType<typeof readSafetensorsFile>>;
    try {
      file = await readSafetensorsFile(path, 'trainer states');
    } catch (e) {
      throw new Error(`${(e as Error).message}; the trainer was not changed`, { cause: e });
    }
    const { metadata, tensors } = file;
    if (metadata.format !== STATES_FORMAT) {
      throw bad(metadata.format === undefined ? 'it is not a trainer state file (its metadata has no format; a parameter file?)'
        : `its format is '${metadata.format}', not '${STATES_FORMAT}'${metadata.format.startsWith('webgluon-params') ? ' (it is a parameter file: load it with loadParameters)' : ''}`);
    }
    let json: TrainerStateJSON;
    try {
      json = JSON.parse(metadata.trainer ?? '') as TrainerStateJSON;
    } catch {
      throw bad('its metadata entry \'trainer\' is missing or not JSON');
    }
    const opt = this.optimizer;
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (typeof json !== 'object' || json === null || typeof json.optimizer !== 'string' || !count(json.numUpdate) ||
      typeof json.learningRate !== 'number' || !(json.learningRate >= 0) || !Array.isArray(json.params)) {
      throw bad('its metadata entry \'trainer\' lacks optimizer, numUpdate, learningRate or params');
    }
    if (json.optimizer !== opt.constructor.name) {
      throw bad(`it holds the state of ${json.optimizer}, but this trainer's optimizer is ${opt.constructor.name}`);
    }
    // The parameters: the same names, in any order, with the same shapes.
    const index = new Map(this.paramNames.map((n, i) => [n, i]));
    const saved = new Map<string, TrainerStateJSON['params'][number]>();
    for (const e of json.params) {
      if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !Array.isArray(e.shape) ||
        !e.shape.every((d) => count(d)) || !count(e.updates) || !count(e.states)) {
        throw bad(`its parameter entry ${JSON.stringify(e)} is not {name, shape, updates, states}`);
      }
      if (saved.has(e.name)) throw bad(`it lists parameter '${e.name}' twice`);
      saved.set(e.name, e);
    }
    const missing = this.paramNames.filter((n) => !saved.has(n));
    const extra = [...saved.keys()].filter((n) => !index.has(n));
    if (missing.length || extra.length) {
      throw bad([missing.length ? `this trainer's parameter(s) ${list(missing)} are not in the file` : '',
        extra.length ? `the file has parameter(s) ${list(extra)} that this trainer has not` : ''].filter(Boolean).join(', and '));
    }
    const plan: { p: Parameter; updates: number; state: DecodedTensor[] }[] = [];
    const used = new Set<string>();
    for (const [i, p] of this.params.entries()) {
      const name = this.paramNames[i];
      const e = saved.get(name)!;
      const shape = p.isInitialized ? p.data().shape : p.shape;
      const known = p.isInitialized || (p.shape.length > 0 && p.shape.every((d) => d > 0));
      const fits = e.shape.length === shape.length && shape.every((d, k) => (!known && d === 0) || d === e.shape[k]);
      if (!fits) throw bad(`parameter '${name}' has shape ${fmtShape(e.shape)} in the file but ${fmtShape(shape)} in this trainer`);
      const state: DecodedTensor[] = [];
      for (let k = 0; k < e.states; k++) {
        const key = `${name}.state${k}`;
        const t = tensors.get(key);
        if (!t) throw bad(`the state tensor '${key}' of parameter '${name}' is missing`);
        if (t.dtype !== p.dtype) throw bad(`the state tensor '${key}' has dtype ${t.dtype}, but parameter '${name}' is ${p.dtype}`);
        state.push(t);
        used.add(key);
      }
      if (e.states > 0) {
        if (!p.isInitialized) throw bad(`parameter '${name}' has optimizer state in the file but is not initialized here (run a forward pass first)`);
        const want = opt.stateShapes(p.data());
        if (want.length !== e.states) {
          throw bad(`parameter '${name}' has ${e.states} state tensor(s) in the file, but this ${opt.constructor.name} keeps ${want.length}` +
            (opt.constructor.name === 'SGD' ? ' (SGD keeps one with momentum, none without)' : ''));
        }
        state.forEach((t, k) => {
          if (t.shape.length !== want[k].length || t.shape.some((d, j) => d !== want[k][j])) {
            throw bad(`the state tensor '${name}.state${k}' has shape ${fmtShape(t.shape)} in the file but ${fmtShape(want[k])} in this trainer`);
          }
        });
      }
      plan.push({ p, updates: e.updates, state });
    }
    const unused = [...tensors.keys()].filter((k) => !used.has(k));
    if (unused.length) throw bad(`it has tensor(s) ${list(unused)} that belong to no parameter's state`);
    // The schedule: restored when this optimizer has one of the same kind (its rate is a
    // function of numUpdate either way; a stateful one also keeps its own count).
    const sched = opt.scheduler;
    let schedState: Record<string, number> | null = null;
    if (json.scheduler != null && sched && json.scheduler.type === sched.constructor.name) {
      schedState = json.scheduler.state;
      const probe = Object.create(Object.getPrototypeOf(sched) as object) as typeof sched;
      Object.assign(probe, sched);
      try {
        probe.setState(schedState);
      } catch (e) {
        throw bad((e as Error).message.replace(/^webgluon: /, ''));
      }
    }
    // Everything fits: now change the trainer.
    for (const s of this.states.values()) retire(...s);
    this.states.clear();
    this.counts.clear();
    for (const { p, updates, state } of plan) {
      if (state.length) this.states.set(p, state.map((t) => keep(nd.array(t.data, { shape: t.shape, dtype: t.dtype }))));
      if (updates > 0) this.counts.set(p, updates);
    }
    opt.numUpdate = json.numUpdate;
    opt.learningRate = json.learningRate;
    if (sched && schedState) sched.setState(schedState);
  }
}
