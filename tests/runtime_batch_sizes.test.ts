// A hybridized block fed a new batch size reuses the pipelines of the sizes before: the numbers that
// follow the size are read from a buffer (compiler/shape_families.ts), and every size stays exact.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, nd, runtime, type Tensor } from '../src/index.js';
import { compileFunction } from '../src/compiler/compile.js';
import type { TraceFn } from '../src/graph/trace.js';
import { runOnce } from './nn_hybrid_helpers.js';
import { expectClose } from './op_harness.js';
import { ShapeFamilies } from '../src/ndarray/shape_families.js';
import type { GroupKernel } from '../src/ndarray/launch.js';

/** A small conv tower with a loss that averages over the batch (1/N is a size-dependent float). */
class Tower extends gluon.HybridBlock<[Tensor], Tensor> {
  readonly body = new gluon.nn.HybridSequential();
  constructor() {
    super();
    this.body.add(
      new gluon.nn.Conv2D(4, 3, { activation: 'relu' }),
      new gluon.nn.MaxPool2D({ poolSize: 2, strides: 2 }),
      new gluon.nn.Dense(5, { activation: 'tanh' }),
    );
  }
  override hybridForward(F: typeof nd, x: Tensor): Tensor {
    return F.mean(F.square(this.body.forward(x)), 0);
  }
}

/** Shuffled 1..n with a fixed seed. */
function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** A kernel with one read and one write whose text follows `n` (the runtime part is never run here). */
function textKernel(n: number, workgroupArray = 64, reads = 1): GroupKernel {
  const wgsl = [
    `var<workgroup> tile: array<f32, ${workgroupArray}>;`,
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    `  if (gid.x >= ${n * 6}u) { return; }`,
    `  let back = i32(gid.x) - ${n}i;`,
    `  out0[gid.x] = in0[gid.x] * f32(${Math.fround(1 / n)}) + f32(back) + f32(3);`,
    '}',
  ].join('\n');
  return { wgsl, meta: null, spec: { reads: Array.from({ length: reads }, () => ({})), writes: [{}] } } as unknown as GroupKernel;
}

describe('shape families (the text)', () => {
  it('the first shape keeps its literals; later ones read the changed u32, i32 and f32 numbers from a buffer bound last', () => {
    const families = new ShapeFamilies();
    const first = textKernel(4);
    expect(families.generalize('k', first)).toBe(first);
    const second = families.generalize('k', textKernel(5));
    expect(second.wgsl).toContain('gid.x >= shape_numbers[0]');
    expect(second.wgsl).toContain('- bitcast<i32>(shape_numbers[1])');
    expect(second.wgsl).toContain('f32(bitcast<f32>(shape_numbers[2]))');
    // Unchanged numbers and constant contexts stay literals; the buffer comes after the bindings.
    expect(second.wgsl).toContain('f32(3)');
    expect(second.wgsl).toContain('@workgroup_size(64)');
    expect(second.wgsl).toContain('@group(0) @binding(2) var<storage, read> shape_numbers: array<u32>;');
    const f = new DataView(new ArrayBuffer(4));
    f.setFloat32(0, 1 / 5);
    expect(Array.from(second.meta!)).toEqual([30, 5, f.getUint32(0)]);
    // A third size: the same text (one pipeline), its own numbers.
    const third = families.generalize('k', textKernel(9));
    expect(third.wgsl).toBe(second.wgsl);
    expect(third.meta![0]).toBe(54);
  });

  it('a changed number that must stay constant (an array size) leaves the kernel as it is; other positions are separate', () => {
    const families = new ShapeFamilies();
    families.generalize('k', textKernel(4, 64));
    const other = textKernel(5, 128);
    expect(families.generalize('k', other)).toBe(other);
    const elsewhere = textKernel(5);
    expect(families.generalize('another', elsewhere)).toBe(elsewhere);
  });

  it('a kernel that already binds as many storage buffers as a stage allows gets no buffer of numbers', () => {
    const families = new ShapeFamilies();
    // More bindings than any device allows: the shared text would not validate (Chrome: 10).
    families.generalize('wide', textKernel(4, 64, 200));
    const next = textKernel(5, 64, 200);
    expect(families.generalize('wide', next)).toBe(next);
  });
});

describe('batch sizes share pipelines', () => {
  it('a conv tower trained at 6 batch sizes in random order gives the eager outputs and gradients, and stops compiling pipelines', async () => {
    nd.random.seed(11);
    const eager = new Tower();
    eager.initialize();
    const hybrid = new Tower();
    hybrid.initialize();
    // Parameter shapes are inferred from a first input.
    autograd.pause(() => [eager, hybrid].forEach((b) => b.forward(nd.ones([1, 1, 6, 6]))));
    const source = [...eager.collectParams().values()];
    [...hybrid.collectParams().values()].forEach((p, i) => p.setData(source[i].data()));
    hybrid.hybridize();
    const newPipelines: number[] = [];
    const eagerPipelines: number[] = [];
    // From 8 rows up: below 8, the matmul's register tile follows the row count (another text).
    for (const n of shuffled(6, 3).map((k) => k + 7)) {
      const x = nd.random.uniform(-1, 1, [n, 1, 6, 6]);
      // runOnce resets the counters before its forward pass: they count that call's pipelines.
      const e = await runOnce(eager, [x]);
      eagerPipelines.push(runtime.stats().pipelines);
      const h = await runOnce(hybrid, [x], { heads: e.heads });
      newPipelines.push(runtime.stats().pipelines);
      h.outputs.forEach((o, i) => expectClose(o, e.outputs[i], 1e-4, 1e-5, `batch ${n} output ${i}`));
      h.grads.forEach((g, i) => expectClose(g, e.grads[i], 1e-4, 1e-5, `batch ${n} gradient ${i}`));
    }
    // The first size compiles every kernel (8 here), the second the shared versions; later sizes
    // add a pipeline only where the text's shape follows the size (vec4 loads when it is a
    // multiple of 4, a loop's odd remainder), so at most a couple, once per kind.
    expect(newPipelines[0], `new pipelines per size: ${newPipelines}`).toBeGreaterThanOrEqual(6);
    newPipelines.slice(3).forEach((p) => expect(p, `new pipelines per size: ${newPipelines}`).toBeLessThanOrEqual(2));
    // Eager templates (conv, pooling, matmul) share theirs across batch sizes too (eager
    // reductions also switch strategy with their length, so more of them change shape).
    const later = eagerPipelines.slice(3).reduce((a, b) => a + b, 0);
    expect(later, `new eager pipelines per size: ${eagerPipelines}`).toBeLessThan(eagerPipelines[0] / 2);
  }, 300_000);

  it('only the latest three signatures keep their intermediate buffers; an older one gets them back, exact', async () => {
    // Softmax needs intermediate values (slots) between its reductions.
    const f = compileFunction(((F: typeof nd, x: Tensor) => F.sum(F.square(F.softmax(x)), 1)) as unknown as TraceFn, { name: 'sizes' });
    const withSlots = () => [...f.plans.values()].filter((p) => p.forward!.state.slots !== null).length;
    const check = async (rows: number) => {
      const x = nd.random.uniform(-2, 2, [rows, 300]);
      const got = await (f(x) as Tensor).data();
      const want = await nd.sum(nd.square(nd.softmax(x)), 1).data();
      expectClose(got, want, 1e-4, 1e-6, `rows ${rows}`);
    };
    for (const rows of [4, 8, 12, 16, 20, 24]) await check(rows);
    expect(f.plans.size).toBe(6);
    expect(withSlots()).toBe(3);
    // The plan of 4 rows lost its slots three signatures ago: it takes buffers again.
    await check(4);
    expect(withSlots()).toBe(3);
    expect(f.plans.get([...f.plans.keys()].at(-1)!)!.forward!.state.slots).not.toBeNull();
  });

  it('a number that must stay a literal (a workgroup array size) changing gives its own pipeline, still exact', async () => {
    // Dense with 1..9 rows: the matmul's register tile follows M below 8, so the text changes shape.
    const f = compileFunction(((F: typeof nd, x: Tensor, w: Tensor) => F.dot(x, w)) as unknown as TraceFn, { name: 'rows' });
    const w = nd.random.uniform(-1, 1, [6, 7]);
    for (const rows of [9, 3, 1, 8, 2, 7]) {
      const x = nd.random.uniform(-1, 1, [rows, 6]);
      const got = await (f(x, w) as Tensor).data();
      const want = await autograd.pause(() => nd.dot(x, w)).data();
      expectClose(got, want, 1e-5, 1e-6, `rows ${rows}`);
    }
  });
});
