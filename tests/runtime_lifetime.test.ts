// A tensor disposed (or collected) while a queued kernel still reads it keeps its memory until
// that kernel is submitted: results never depend on when dispose() is called.
import { describe, expect, it } from 'vitest';
import { nd } from '../src/ndarray/index.js';

describe('storage lifetime', () => {
  it('keeps an uploaded input alive for a queued kernel after dispose()', async () => {
    const a = nd.array([5, 6]);
    const b = nd.array([1, 1]);
    const c = nd.add(a, b);
    a.dispose();
    expect(Array.from(await c.data())).toEqual([6, 7]);
  });

  it('keeps a computed input alive for a queued kernel after dispose()', async () => {
    const a = nd.mul(nd.array([2, 3]), 2);
    await a.data();
    const t = nd.add(a, 1);
    const u = nd.add(t, 1);
    t.dispose();
    a.dispose();
    expect(Array.from(await u.data())).toEqual([6, 8]);
  });

  it('accumulates gradients with gradReq add across backward calls', async () => {
    const { autograd } = await import('../src/ndarray/index.js');
    const x = nd.array([1, 2, 3]);
    x.attachGrad('add');
    for (let i = 0; i < 3; i++) autograd.record(() => nd.sum(nd.square(x))).backward();
    expect(Array.from(await x.grad!.data())).toEqual([6, 12, 18]);
  });
});
