// The differential fuzzer (scripts/fuzz.ts) at fixed seeds: random graphs and random Blocks,
// compiled vs eager vs the CPU reference, forward and gradients. Long runs are done by hand:
//   node --import tsx scripts/fuzz.ts --count 400 --seed 1000
import { describe, expect, it } from 'vitest';
import { getOp, type ElementwiseOp } from '../src/graph/registry.js';
import { fuzz, programCode, randomBlock, randomProgram, runBlockCase, runGraphCase, type Program } from '../scripts/fuzz.js';

describe('differential fuzzing at fixed seeds', () => {
  it('random graphs and Blocks agree three ways, forward and backward', async () => {
    const lines: string[] = [];
    const summary = await fuzz({ count: 12, seed: 20240, kind: 'both', sizes: 'small', log: (l) => lines.push(l) });
    expect(summary.failures.map((f) => `${f.kind} ${f.seed}: ${f.error}\n${f.code}`)).toEqual([]);
    expect(summary.graphs).toBe(8);
    expect(summary.blocks).toBe(4);
    expect(summary.checks).toBeGreaterThan(100);
  }, 600_000);

  it('generates the same case from the same seed, and valid code for it', () => {
    const a = randomProgram(7);
    expect(randomProgram(7)).toEqual(a);
    expect(a.steps.length).toBeGreaterThanOrEqual(3);
    expect(programCode(a)).toMatch(/^\/\/ inputs: .*\n\(F, x0.*\) => \{\n/);
    expect(randomBlock(9)).toEqual(randomBlock(9));
  });

  it('is not vacuous: a wrong CPU reference for one op is caught', async () => {
    const program: Program = { inputs: [[3, 4]], steps: [{ op: 'tanh', args: [0], attrs: {} }, { op: 'sum', args: [1], attrs: { axis: 1, keepdims: false } }], outputs: [2] };
    const tanh = getOp('tanh') as ElementwiseOp;
    const cpu = tanh.cpu;
    tanh.cpu = (x, attrs) => cpu(x, attrs) * 1.01;
    try {
      const res = await runGraphCase(1, program);
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(/eager output 0: element \d is .*, expected/);
    } finally {
      tanh.cpu = cpu;
    }
    expect((await runGraphCase(1, program)).ok).toBe(true);
  });
});

describe('fuzzer regressions', () => {
  // Each bug the fuzzer finds becomes a case here, as the program or layers it printed.
  it('a Conv2D → MaxPool2D → Dense stack with strides and padding (block seed 3)', async () => {
    const res = await runBlockCase(3);
    expect(res.error).toBeUndefined();
  });
});
