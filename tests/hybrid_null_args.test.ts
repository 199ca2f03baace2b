// A hybridized block called with an argument left out (null or undefined, as MXNet's None: a loss
// without sampleWeight, SigmoidBCE with posWeight but no sampleWeight) is compiled, once per layout
// of left-out arguments; the dispatch count shows the compiled plan ran, not one kernel per op.
// A call that still runs eagerly (a number where a tensor goes) warns once, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autograd, gluon, nd, runtime, type Tensor } from '../src/index.js';
import type { AnyHybridBlock, HybridBlock } from '../src/nn/hybrid_block.js';

const L = gluon.loss;
const warnings: { code?: string; message: string }[] = [];
const onWarning = (w: Error & { code?: string }) => warnings.push({ code: w.code, message: w.message });
beforeAll(() => process.on('warning', onWarning));
afterAll(() => process.off('warning', onWarning));
const eagerWarnings = () => warnings.filter((w) => w.code === 'WEBGLUON_HYBRID_EAGER');

/** One recorded forward + backward; returns the values, the prediction's gradient and the dispatches. */
async function step(block: AnyHybridBlock, args: (Tensor | null | undefined | number)[]): Promise<{ out: Float32Array; grad: Float32Array; dispatches: number }> {
  const pred = args[0] as Tensor;
  pred.attachGrad();
  await runtime.flush();
  runtime.resetStats();
  const out = autograd.record(() => (block as HybridBlock<unknown[], Tensor>).forward(...args));
  out.backward();
  await runtime.flush();
  const dispatches = runtime.stats().dispatches;
  return { out: (await out.data()) as Float32Array, grad: (await pred.grad!.data()) as Float32Array, dispatches };
}

function compiledLayouts(block: AnyHybridBlock): string[] {
  const compiled = (block as unknown as { _compiled: Map<string, unknown> | null })._compiled;
  return compiled ? [...compiled.keys()] : [];
}

describe('left-out arguments are compiled, not run eagerly', () => {
  it('L2Loss(pred, label, null) runs the same compiled plan as L2Loss(pred, label)', async () => {
    nd.random.seed(5);
    const pred = nd.random.normal(0, 1, [8, 6]);
    const label = nd.random.normal(0, 1, [8, 6]);
    const eager = await step(new L.L2Loss(), [pred, label, null]);
    const loss = new L.L2Loss();
    loss.hybridize();
    warnings.length = 0;
    const all = await step(loss, [pred, label]);
    const withNull = await step(loss, [pred, label, null]);
    const withUndefined = await step(loss, [pred, label, undefined]);
    expect(eagerWarnings()).toEqual([]);
    // (pred, label) and (pred, label, undefined) are one layout; null is another, compiled too.
    expect(compiledLayouts(loss).sort()).toEqual(['TT', 'TTn']);
    expect(withNull.dispatches).toBe(all.dispatches);
    expect(withUndefined.dispatches).toBe(all.dispatches);
    expect(withNull.dispatches).toBeLessThan(eager.dispatches / 2);
    for (const r of [all, withNull, withUndefined]) {
      r.out.forEach((v, i) => expect(v).toBeCloseTo(eager.out[i], 5));
      r.grad.forEach((v, i) => expect(v).toBeCloseTo(eager.grad[i], 5));
    }
  });

  it('SigmoidBCELoss(pred, label, null, posWeight): compiled, and the same numbers as eagerly', async () => {
    nd.random.seed(6);
    const pred = nd.random.normal(0, 1, [4, 5]);
    const label = nd.greater(nd.random.uniform(0, 1, [4, 5]), 0.5);
    const posWeight = nd.random.uniform(0.5, 2, [1, 5]);
    const eager = await step(new L.SigmoidBinaryCrossEntropyLoss(), [pred, label, null, posWeight]);
    const loss = new L.SigmoidBinaryCrossEntropyLoss();
    loss.hybridize();
    warnings.length = 0;
    const compiled = await step(loss, [pred, label, null, posWeight]);
    expect(eagerWarnings()).toEqual([]);
    expect(compiledLayouts(loss)).toEqual(['TTnT']);
    expect(compiled.dispatches).toBeLessThan(eager.dispatches / 2);
    compiled.out.forEach((v, i) => expect(v).toBeCloseTo(eager.out[i], 5));
    compiled.grad.forEach((v, i) => expect(v).toBeCloseTo(eager.grad[i], 5));
    // A second call reuses the plan: no new layout, the same dispatches.
    expect((await step(loss, [pred, label, null, posWeight])).dispatches).toBe(compiled.dispatches);
    expect(compiledLayouts(loss)).toEqual(['TTnT']);
  });

  it('a number where a tensor goes runs eagerly and warns once, with the reason', async () => {
    const pred = nd.random.uniform(0.1, 2, [4, 3]);
    const target = nd.random.uniform(0, 3, [4, 3]);
    const loss = new L.PoissonNLLLoss({ fromLogits: false });
    loss.hybridize();
    warnings.length = 0;
    const a = await step(loss, [pred, target, null, 1e-6]);
    await step(loss, [pred, target, null, 1e-6]);
    expect(eagerWarnings()).toHaveLength(1);
    expect(eagerWarnings()[0].message).toMatch(/hybridized PoissonNLLLoss ran eagerly \(not compiled\): argument 4 is number 0\.000001/);
    expect(compiledLayouts(loss)).toEqual([]);
    const eager = await step(new L.PoissonNLLLoss({ fromLogits: false }), [pred, target, null, 1e-6]);
    expect(a.dispatches).toBe(eager.dispatches);
  });

  it('deferred parameter shapes are inferred by a trace: the first call of a hybridized network is compiled', async () => {
    const net = new gluon.nn.HybridSequential().add(new gluon.nn.Dense(4, { activation: 'relu' }), new gluon.nn.Dense(2));
    net.initialize();
    net.hybridize();
    warnings.length = 0;
    const x = nd.random.normal(0, 1, [3, 5]);
    await runtime.flush();
    runtime.resetStats();
    const first = net.forward(x);
    await runtime.flush();
    const firstDispatches = runtime.stats().dispatches;
    expect(compiledLayouts(net)).toEqual(['T']);
    expect(eagerWarnings()).toEqual([]);
    runtime.resetStats();
    const second = net.forward(x);
    await runtime.flush();
    // The first call also ran the initializers; its compiled part is the second call's plan.
    expect(firstDispatches).toBeGreaterThanOrEqual(runtime.stats().dispatches);
    expect(Array.from(await second.data())).toEqual(Array.from(await first.data()));
  });
});
