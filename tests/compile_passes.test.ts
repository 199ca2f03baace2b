import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGraph, optimize } from '../src/compiler/compile.js';
import { graphSummary } from '../src/graph/dump.js';
import { fuse } from '../src/graph/fuse.js';
import { planMemory, sizeClassOf } from '../src/graph/memory.js';
import { cse } from '../src/graph/passes/cse.js';
import { simplify } from '../src/graph/passes/simplify.js';
import { Symbol, sym } from '../src/graph/symbol.js';
import { currentTrace, trace } from '../src/graph/trace.js';
import { autodiff } from '../src/graph/autodiff.js';

const spec = (shape: number[], name = 'x') => ({ shape, dtype: 'float32' as const, name });

describe('symbols and tracing', () => {
  it('infers shapes, expands composites, and has methods', () => {
    const g = trace((F, a, b) => F.softmax(a.add(b).mul(2)), [spec([4, 5], 'a'), spec([5], 'b')]);
    expect(g.outputs[0].shape).toEqual([4, 5]);
    const ops = graphSummary(g).ops;
    expect(ops.softmax).toBeUndefined();
    expect(ops.exp).toBe(1);
    expect(g.toString()).toContain('max(');
  });
  it('shape errors name the op at trace time', () => {
    expect(() => trace((F, a, b) => F.add(a, b), [spec([4, 5]), spec([3])])).toThrow(/add/);
  });
  it('params read through currentTrace() become graph inputs', () => {
    const key = {};
    const g = trace((F, x) => {
      const w = currentTrace()!.paramSymbol(key, [3], 'float32', 'dense0_weight');
      const w2 = currentTrace()!.paramSymbol(key, [3], 'float32', 'dense0_weight');
      expect(w2.node).toBe(w.node);
      return F.mul(x, w);
    }, [spec([2, 3])]);
    expect(g.inputs.map((n) => n.op)).toEqual(['input', 'param']);
    expect(currentTrace()).toBeNull();
  });
});

describe('passes', () => {
  it('folds constants and simplifies algebra', () => {
    const g = trace((F, x) => F.neg(F.neg(F.add(F.mul(F.div(F.sub(x, 0), 1), F.add(0.5, 0.5)), F.mul(0, 3)))), [spec([3])]);
    const s = simplify(g);
    expect(s.outputs[0]).toBe(s.inputs[0]);
  });
  it('keeps x*1 when it broadcasts', () => {
    const g = trace((F, x) => F.mul(x, F.broadcastTo(1, [2, 3])), [spec([3])]);
    expect(simplify(g).outputs[0].shape).toEqual([2, 3]);
  });
  it('CSE merges equal subexpressions', () => {
    const g = trace((F, x) => F.add(F.exp(F.mul(x, 2)), F.exp(F.mul(x, 2))), [spec([3])]);
    const c = cse(g);
    expect(graphSummary(c).ops.exp).toBe(1);
    expect(graphSummary(c).ops.mul).toBe(1);
  });
});

describe('fusion and memory', () => {
  it('fuses an elementwise → reduce → elementwise chain into one group', () => {
    const g = optimize(trace((F, a, b) => F.sqrt(F.add(F.sum(F.square(F.sub(a, b)), 1, true), 1)), [spec([8, 4]), spec([8, 4])]));
    const groups = fuse(g);
    expect(groups.length).toBe(1);
    expect(groups[0].kind).toBe('reduce');
  });
  it('cuts where fusing would make the group graph cyclic (softmax: 4 kernels, no recompute yet)', () => {
    const g = optimize(trace((F, a) => F.softmax(a), [spec([8, 16])]));
    const groups = fuse(g);
    expect(groups.map((x) => x.kind)).toEqual(['reduce', 'elementwise', 'reduce', 'elementwise']);
  });
  it('views alias and intermediate slots are reused by liveness', () => {
    const g = optimize(trace((F, a) => {
      let x = a;
      for (let i = 0; i < 4; i++) x = F.sum(F.exp(F.reshape(x, [64, -1])), 1, true).reshape([1, 64]).broadcastTo([64, 64]).mul(a);
      return x;
    }, [spec([64, 64])]));
    const groups = fuse(g);
    const mem = planMemory(g, groups);
    expect(mem.slots.length).toBeLessThanOrEqual(2);
    expect(mem.slotBytes).toBeLessThan(mem.naiveBytes);
  });
  it('slots are sized in quarter-power classes, and a free slot grows instead of a new one being made', () => {
    expect([1, 64, 65, 80, 81, 1000, 20_000_000].map(sizeClassOf)).toEqual([64, 64, 80, 80, 96, 1024, 20_971_520]);
    const g = optimize(trace((F, a, b) => {
      const small = F.softmax(a); // 5 x 7, dead once its row sums are taken
      const big = F.softmax(F.mul(F.sum(small, 1, true), b)); // 5 x 2500
      return F.sum(F.softmax(big), 1, true);
    }, [spec([5, 7]), spec([5, 2500])]));
    const mem = planMemory(g, fuse(g));
    const slotOf = (shape: string) => [...mem.places].filter(([n, p]) => p.kind === 'slot' && n.shape.join('x') === shape)
      .map(([, p]) => (p as { index: number }).index);
    // 12,500 elements: the class 14,336, not the power of two 16,384.
    expect(mem.slots.map((x) => x.size).sort((x, y) => x - y)).toEqual([64, 14336, 14336]);
    // The 5 x 7 value's slot was grown for a 5 x 2500 one once it was free.
    const grown = slotOf('5x7')[0];
    expect(slotOf('5x2500')).toContain(grown);
    expect(mem.slots[grown].size).toBe(14336);
  });
  it('autodiff saves reductions and recomputes elementwise values', () => {
    const g = optimize(trace((F, a) => F.mul(F.exp(a), F.sum(F.tanh(a), 1, true)), [spec([4, 5])]));
    const b = autodiff(g, [g.inputs[0]]);
    expect(b.saved.map((n) => n.op)).toEqual(['sum']);
    expect(graphSummary(b.graph).ops.sum).toBeGreaterThanOrEqual(1);
  });
  it('WEBGLUON_DUMP writes IR stages, groups and shaders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-dump-'));
    const prev = process.env.WEBGLUON_DUMP;
    process.env.WEBGLUON_DUMP = dir;
    try {
      const g = optimize(trace((F, a) => F.relu(F.mul(a, 2)), [spec([4])]));
      const plan = compileGraph(g, { name: 'dumped' });
      expect(plan.dispatchCount).toBe(1);
    } finally {
      if (prev === undefined) delete process.env.WEBGLUON_DUMP;
      else process.env.WEBGLUON_DUMP = prev;
    }
    const sub = readdirSync(dir).find((d) => d.includes('dumped'))!;
    const files = readdirSync(join(dir, sub));
    expect(files).toContain('5_groups.txt');
    expect(files).toContain('kernel_00.wgsl');
    expect(readFileSync(join(dir, sub, 'kernel_00.wgsl'), 'utf8')).toContain('@compute');
  });
});

void Symbol;
void sym;
