// Shared by the nn_hybrid_* tests: run a block eagerly and hybridized on the same inputs under
// autograd.record and compare outputs and gradients (inputs and parameters).
import { expect } from 'vitest';
import { autograd, nd, runtime, type Tensor } from '../src/index.js';
import type { AnyHybridBlock, HybridBlock } from '../src/nn/hybrid_block.js';
import { expectClose } from './op_harness.js';

export interface RunResult {
  outputs: Float32Array[];
  /** Gradients of Σ(output · head) w.r.t. the `wrt` inputs, then every trainable parameter. */
  grads: Float32Array[];
  dispatches: number;
}

/**
 * One recorded forward + backward of `block` on `inputs`; the objective is Σ output·head with
 * a fixed random head per output (so gradients are not all ones).
 */
/** Calls a block of any signature with a list of tensors (the cases mix layers and losses). */
export function callBlock(block: AnyHybridBlock, inputs: readonly Tensor[]): Tensor | Tensor[] {
  return (block as HybridBlock<Tensor[], Tensor | Tensor[]>).forward(...inputs);
}

export async function runOnce(block: AnyHybridBlock, inputs: readonly Tensor[], opts: { wrt?: readonly number[]; trainMode?: boolean; heads?: Tensor[] } = {}): Promise<RunResult & { heads: Tensor[] }> {
  const wrt = opts.wrt ?? [0];
  for (const i of wrt) inputs[i].attachGrad();
  await runtime.flush();
  runtime.resetStats();
  let heads = opts.heads;
  const outs = autograd.record(() => {
    const out = callBlock(block, inputs);
    const list = Array.isArray(out) ? out : [out];
    heads ??= autograd.pause(() => list.map((o) => nd.random.uniform(0.5, 1.5, o.shape)));
    const objective = list.map((o, i) => nd.sum(nd.mul(o, heads![i]))).reduce((a, b) => nd.add(a, b));
    objective.backward();
    return list;
  }, { trainMode: opts.trainMode ?? true });
  await runtime.flush();
  const dispatches = runtime.stats().dispatches;
  const params = [...block.collectParams().values()].filter((p) => p.gradReq !== 'null');
  const outputs = await Promise.all(outs.map((o) => o.data() as Promise<Float32Array>));
  const grads = await Promise.all([...wrt.map((i) => inputs[i].grad!), ...params.map((p) => p.grad())].map((g) => g.data() as Promise<Float32Array>));
  return { outputs, grads, dispatches, heads: heads! };
}

/** Runs eagerly, then hybridized; expects the compiled path to run and the same numbers. */
export async function expectSameHybridized(name: string, block: AnyHybridBlock, inputs: readonly Tensor[],
  opts: { wrt?: readonly number[]; trainMode?: boolean; rtol: number; atol: number }): Promise<{ eager: RunResult; hybrid: RunResult }> {
  const eager = await runOnce(block, inputs, opts);
  block.hybridize();
  const hybrid = await runOnce(block, inputs, { ...opts, heads: eager.heads });
  expect((block as unknown as { _compiled: unknown })._compiled, `${name}: the hybridized call did not compile`).not.toBeNull();
  expect(hybrid.outputs.length, `${name} outputs`).toBe(eager.outputs.length);
  hybrid.outputs.forEach((o, i) => expectClose(o, eager.outputs[i], opts.rtol, opts.atol, `${name} output ${i}`));
  expect(hybrid.grads.length, `${name} gradients`).toBe(eager.grads.length);
  hybrid.grads.forEach((g, i) => expectClose(g, eager.grads[i], opts.rtol, opts.atol, `${name} gradient ${i}`));
  return { eager, hybrid };
}
