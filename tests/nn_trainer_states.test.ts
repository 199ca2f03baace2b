// Trainer.saveStates / loadStates (MXNet's save_states / load_states): for every optimizer a
// trainer stopped after 2 steps, saved, and loaded into a fresh trainer continues exactly as one
// that never stopped (moments, accumulators, momentum, update counts, numUpdate, the learning
// rate and a FactorScheduler's position); files that do not fit are refused, naming the
// mismatch, and leave the trainer as it was.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { autograd, gluon, nd } from '../src/index.js';
import { VERSION } from '../src/base/version.js';
import type { OptimizerName, OptimizerOptions } from '../src/nn/optimizers.js';
import { decodeSafetensorsFile, encodeSafetensors, saveParameters } from '../src/nn/serialization.js';
import { STATES_FORMAT, Trainer } from '../src/nn/trainer.js';

type Param = InstanceType<typeof gluon.Parameter>;
const dir = mkdtempSync(join(tmpdir(), 'webgluon-trainer-states-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const W0 = [0.5, -1, 2, 0.1];
const B0 = [0.3, -0.2, 0.7, 1.5, -0.4, 0.05];
const C = [1, -2, 0.5, 3];

/** Two parameters by their structural names, as block.collectParams() gives them. */
function makeParams(w = W0, b = B0): Map<string, Param> {
  const weight = new gluon.Parameter('weight', { shape: [4] });
  const bias = new gluon.Parameter('bias', { shape: [2, 3] });
  weight.initialize();
  bias.initialize();
  weight.setData(w);
  bias.setData(nd.array(b, { shape: [2, 3] }));
  return new Map([['net.weight', weight], ['net.bias', bias]]);
}

/** loss = Σ(w·c + w²/2) + Σ b³/3: gradients c + w and b², so every state moves differently. */
function step(params: Map<string, Param>, trainer: Trainer): void {
  const w = params.get('net.weight')!;
  const b = params.get('net.bias')!;
  autograd.record(() => nd.add(nd.sum(nd.add(nd.mul(w.data(), nd.array(C)), nd.mul(nd.square(w.data()), 0.5))),
    nd.sum(nd.mul(nd.mul(nd.square(b.data()), b.data()), 1 / 3)))).backward();
  trainer.step(2);
}

async function values(params: Map<string, Param>): Promise<number[]> {
  const out: number[] = [];
  for (const p of params.values()) out.push(...Array.from(await p.data().data()));
  return out;
}

const CASES: [string, OptimizerName, () => OptimizerOptions][] = [
  ['Adam (wd, clipping)', 'adam', () => ({ learningRate: 0.1, wd: 0.01, clipGradient: 2 })],
  ['SGD with momentum', 'sgd', () => ({ learningRate: 0.1, momentum: 0.9, wd: 0.01 })],
  ['plain SGD', 'sgd', () => ({ learningRate: 0.1 })],
  ['RMSProp', 'rmsprop', () => ({ learningRate: 0.05 })],
  ['AdaGrad', 'adagrad', () => ({ learningRate: 0.2, wd: 0.01 })],
  ['SGD with a FactorScheduler', 'sgd', () => ({ learningRate: 0.2, momentum: 0.5, lrScheduler: new gluon.lrScheduler.FactorScheduler({ step: 2, factor: 0.5 }) })],
  ['Adam with a CosineScheduler', 'adam', () => ({ learningRate: 0.1, lrScheduler: new gluon.lrScheduler.CosineScheduler({ maxUpdate: 6, warmupSteps: 1 }) })],
];

describe('Trainer.saveStates / loadStates', () => {
  it.each(CASES)('%s: a trainer loaded after 2 steps continues exactly as the uninterrupted one', async (_name, optimizer, opts) => {
    const straight = makeParams();
    const straightTrainer = new Trainer(straight, optimizer, opts());
    const want: number[][] = [];
    for (let s = 0; s < 5; s++) {
      step(straight, straightTrainer);
      want.push(await values(straight));
    }

    const first = makeParams();
    const firstTrainer = new Trainer(first, optimizer, opts());
    step(first, firstTrainer);
    step(first, firstTrainer);
    const path = join(dir, `${optimizer}-${want[0][0]}.states`);
    await firstTrainer.saveStates(path);
    // A fresh process would start here: new parameters (loaded from a file) and a new trainer.
    const now = await values(first);
    const resumed = makeParams(now.slice(0, 4), now.slice(4));
    const trainer = new Trainer(resumed, optimizer, opts());
    await trainer.loadStates(path);
    expect(trainer.optimizer.numUpdate).toBe(2);
    expect(trainer.learningRate).toBe(firstTrainer.learningRate);
    for (let s = 2; s < 5; s++) {
      step(resumed, trainer);
      expect(await values(resumed), `step ${s + 1}`).toEqual(want[s]);
    }
  });

  it('writes safetensors: one tensor per state, the scalar state as JSON metadata', async () => {
    const params = makeParams();
    const trainer = new Trainer(params, 'adam', { learningRate: 0.1 });
    step(params, trainer);
    trainer.setLearningRate(0.05);
    const path = join(dir, 'layout.states');
    await trainer.saveStates(path);
    const { tensors, metadata } = decodeSafetensorsFile(new Uint8Array(readFileSync(path)));
    expect([...tensors.keys()]).toEqual(['net.weight.state0', 'net.weight.state1', 'net.bias.state0', 'net.bias.state1']);
    expect(tensors.get('net.bias.state1')!.shape).toEqual([2, 3]);
    expect(metadata.format).toBe(STATES_FORMAT);
    expect(metadata.webgluon).toBe(VERSION);
    const json = JSON.parse(metadata.trainer);
    expect(json).toMatchObject({
      optimizer: 'Adam', numUpdate: 1, learningRate: 0.05, scheduler: null,
      params: [{ name: 'net.weight', shape: [4], updates: 1, states: 2 }, { name: 'net.bias', shape: [2, 3], updates: 1, states: 2 }],
    });
    expect(json.settings).toMatchObject({ beta1: 0.9, beta2: 0.999, wd: 0 });
    // The learning rate set by setLearningRate is part of the state (MXNet restores the optimizer).
    const other = new Trainer(makeParams(), 'adam', { learningRate: 0.1 });
    await other.loadStates(path);
    expect(other.learningRate).toBe(0.05);
  });

  describe('refuses a file that does not fit, naming the mismatch, and changes nothing', () => {
    /** A trainer 2 steps in, and a twin to compare its next step with after a refused load. */
    async function setup() {
      const params = makeParams();
      const trainer = new Trainer(params, 'adam', { learningRate: 0.1 });
      const twinParams = makeParams();
      const twin = new Trainer(twinParams, 'adam', { learningRate: 0.1 });
      for (let s = 0; s < 2; s++) {
        step(params, trainer);
        step(twinParams, twin);
      }
      return { params, trainer, twinParams, twin };
    }
    async function expectUnchanged(s: Awaited<ReturnType<typeof setup>>) {
      expect(s.trainer.optimizer.numUpdate).toBe(2);
      step(s.params, s.trainer);
      step(s.twinParams, s.twin);
      expect(await values(s.params)).toEqual(await values(s.twinParams));
    }
    /** States of a 1-step trainer built by `make`, saved to a file. */
    async function statesOf(name: string, make: () => { params: Map<string, Param>; trainer: Trainer }): Promise<string> {
      const { params, trainer } = make();
      step(params, trainer);
      const path = join(dir, name);
      await trainer.saveStates(path);
      return path;
    }
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

    it('other parameter names', async () => {
      const s = await setup();
      const path = await statesOf('names.states', () => {
        const p = makeParams();
        const renamed = new Map([['net.weight', p.get('net.weight')!], ['net.gamma', p.get('net.bias')!]]);
        return { params: p, trainer: new Trainer(renamed, 'adam', { learningRate: 0.1 }) };
      });
      await expect(s.trainer.loadStates(path)).rejects.toThrow(new RegExp(`cannot load trainer states from '${escape(path)}': ` +
        "this trainer's parameter\\(s\\) 'net.bias' are not in the file, and the file has parameter\\(s\\) 'net.gamma' that this trainer has not; the trainer was not changed"));
      await expectUnchanged(s);
    });

    it('another shape', async () => {
      const s = await setup();
      const good = await statesOf('good.states', () => {
        const params = makeParams();
        return { params, trainer: new Trainer(params, 'adam', { learningRate: 0.1 }) };
      });
      // The states of a (3, 2) bias: the names fit, the shape does not.
      const { tensors, metadata } = decodeSafetensorsFile(new Uint8Array(readFileSync(good)));
      const json = JSON.parse(metadata.trainer);
      json.params[1].shape = [3, 2];
      for (const k of ['net.bias.state0', 'net.bias.state1']) tensors.get(k)!.shape = [3, 2];
      const bad = join(dir, 'shape.states');
      writeFileSync(bad, encodeSafetensors(tensors, { ...metadata, trainer: JSON.stringify(json) }));
      await expect(s.trainer.loadStates(bad)).rejects.toThrow(/parameter 'net\.bias' has shape \(3, 2\) in the file but \(2, 3\) in this trainer; the trainer was not changed/);
      await expectUnchanged(s);
    });

    it('a state tensor of the wrong shape, found after the names and shapes fit', async () => {
      const s = await setup();
      const good = await statesOf('good2.states', () => {
        const params = makeParams();
        return { params, trainer: new Trainer(params, 'adam', { learningRate: 0.1 }) };
      });
      const { tensors, metadata } = decodeSafetensorsFile(new Uint8Array(readFileSync(good)));
      tensors.get('net.bias.state1')!.shape = [6];
      const bad = join(dir, 'state-shape.states');
      writeFileSync(bad, encodeSafetensors(tensors, metadata));
      await expect(s.trainer.loadStates(bad)).rejects.toThrow(/the state tensor 'net\.bias\.state1' has shape \(6,\) in the file but \(2, 3\) in this trainer/);
      await expectUnchanged(s);
    });

    it('another optimizer, or SGD with momentum into SGD without', async () => {
      const s = await setup();
      const sgd = await statesOf('sgd.states', () => {
        const params = makeParams();
        return { params, trainer: new Trainer(params, 'sgd', { momentum: 0.9 }) };
      });
      await expect(s.trainer.loadStates(sgd)).rejects.toThrow(/it holds the state of SGD, but this trainer's optimizer is Adam; the trainer was not changed/);
      await expectUnchanged(s);
      const plainParams = makeParams();
      const plain = new Trainer(plainParams, 'sgd', {});
      step(plainParams, plain);
      await expect(plain.loadStates(sgd)).rejects.toThrow(/parameter 'net\.weight' has 1 state tensor\(s\) in the file, but this SGD keeps 0 \(SGD keeps one with momentum, none without\)/);
      expect(plain.optimizer.numUpdate).toBe(1);
    });

    it('a parameter file, a missing file, a garbage file, unknown tensors', async () => {
      const s = await setup();
      const paramsFile = join(dir, 'params.safetensors');
      await saveParameters(s.params, paramsFile);
      await expect(s.trainer.loadStates(paramsFile)).rejects.toThrow(/its format is 'webgluon-params\/1', not 'webgluon-trainer-states\/1' \(it is a parameter file: load it with loadParameters\)/);
      await expect(s.trainer.loadStates(join(dir, 'nope.states'))).rejects.toThrow(/cannot load trainer states from .*nope\.states': the file does not exist; the trainer was not changed/);
      const garbage = join(dir, 'garbage.states');
      writeFileSync(garbage, 'not a checkpoint at all\n');
      await expect(s.trainer.loadStates(garbage)).rejects.toThrow(/cannot load trainer states from .*garbage\.states': it is a text file .*; the trainer was not changed/);
      const good = await statesOf('good3.states', () => {
        const params = makeParams();
        return { params, trainer: new Trainer(params, 'adam', { learningRate: 0.1 }) };
      });
      const { tensors, metadata } = decodeSafetensorsFile(new Uint8Array(readFileSync(good)));
      tensors.set('net.weight.state2', { dtype: 'float32', shape: [4], data: new Float32Array(4) });
      const extra = join(dir, 'extra.states');
      writeFileSync(extra, encodeSafetensors(tensors, metadata));
      await expect(s.trainer.loadStates(extra)).rejects.toThrow(/it has tensor\(s\) 'net\.weight\.state2' that belong to no parameter's state/);
      await expectUnchanged(s);
    });
  });

  it('a trainer whose parameters share a name cannot save (create it with collectParams())', async () => {
    const a = new gluon.Parameter('weight', { shape: [2] });
    const b = new gluon.Parameter('weight', { shape: [2] });
    a.initialize();
    b.initialize();
    await expect(new Trainer([a, b], 'sgd').saveStates(join(dir, 'dup.states'))).rejects.toThrow(/two parameters are named 'weight'/);
  });

  it('schedules save and restore their position; a bad saved one is refused', () => {
    const f = new gluon.lrScheduler.FactorScheduler({ step: 2, factor: 0.5, baseLr: 1 });
    for (let n = 1; n <= 7; n++) f.lr(n);
    const state = f.getState();
    expect(state).toEqual({ baseLr: 1, count: 6, current: 0.125 });
    const g = new gluon.lrScheduler.FactorScheduler({ step: 2, factor: 0.5, baseLr: 1 });
    g.setState(state);
    expect(g.lr(9)).toBe(f.lr(9));
    expect(() => g.setState({ baseLr: 1, count: -1, current: 0.1 })).toThrow(/FactorScheduler has count -1; expected a number >= 0/);
    expect(g.getState()).toEqual(f.getState());
  });
});
