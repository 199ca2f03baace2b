// Learning-rate schedules against MXNet's formulas, and wired into the Trainer.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, init, nd } from '../src/index.js';

describe('learning-rate schedules', () => {
  it('FactorScheduler steps the rate down every `step` updates (MXNet semantics)', () => {
    const s = new gluon.lrScheduler.FactorScheduler({ step: 2, factor: 0.5, baseLr: 1, stopFactorLr: 0.1 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => s.lr(n))).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1]);
  });

  it('CosineScheduler warms up linearly, then follows a half cosine to finalLr', () => {
    const s = new gluon.lrScheduler.CosineScheduler({ maxUpdate: 12, baseLr: 1, finalLr: 0.2, warmupSteps: 2, warmupBeginLr: 0 });
    expect(s.lr(0)).toBe(0);
    expect(s.lr(1)).toBeCloseTo(0.5);
    expect(s.lr(2)).toBeCloseTo(1);
    expect(s.lr(7)).toBeCloseTo(0.2 + 0.8 * (1 + Math.cos(Math.PI * 0.5)) / 2);
    expect(s.lr(12)).toBeCloseTo(0.2);
    expect(s.lr(50)).toBe(0.2);
  });

  it('the Trainer takes the schedule, with learningRate as its base rate', async () => {
    const p = new gluon.Parameter('w_weight', { shape: [1] });
    p.initialize(new init.One());
    const sched = new gluon.lrScheduler.FactorScheduler({ step: 1, factor: 0.5 });
    const trainer = new gluon.Trainer([p], 'sgd', { learningRate: 0.4, lrScheduler: sched });
    const values: number[] = [];
    for (let i = 0; i < 3; i++) {
      autograd.record(() => nd.sum(p.data())).backward();
      trainer.step(1);
      values.push((await p.data().data())[0]);
    }
    // Gradient 1 each step; rates 0.4, 0.2, 0.1.
    expect(values.map((v) => Number(v.toFixed(5)))).toEqual([0.6, 0.4, 0.3]);
  });
});

describe('FactorScheduler warm-up', () => {
  it('rises linearly from warmupBeginLr to baseLr, then steps down by factor as before', () => {
    const s = new gluon.lrScheduler.FactorScheduler({ step: 4, factor: 0.5, baseLr: 1, warmupSteps: 4, warmupBeginLr: 0.2 });
    expect([0, 1, 2, 3].map((n) => +s.lr(n).toFixed(10))).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect([4, 5, 8, 9].map((n) => s.lr(n))).toEqual([1, 0.5, 0.5, 0.25]);
    expect(() => new gluon.lrScheduler.FactorScheduler({ step: 1, warmupSteps: -1 })).toThrow(/warmupSteps/);
  });
});
