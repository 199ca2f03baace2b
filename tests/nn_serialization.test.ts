// saveParameters → loadParameters (safetensors): same outputs; malformed files, wrong shapes,
// wrong names and dtypes give an error naming what differs and leave the model unchanged.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gluon, init, nd, type Tensor } from '../src/index.js';
import type { F } from '../src/nn/hybrid_block.js';
import { decodeSafetensors } from '../src/nn/serialization.js';
import { randArray } from './nn_helpers.js';

class Affine extends gluon.HybridBlock {
  weight: InstanceType<typeof gluon.Parameter>;
  bias: InstanceType<typeof gluon.Parameter>;
  constructor(n = 0) {
    super();
    this.weight = new gluon.Parameter('a_weight', { shape: [0, n] });
    this.bias = new gluon.Parameter('a_bias', { shape: [n] });
  }
  protected override inferShape(x: Tensor): void {
    this.weight._mergeShape([x.shape[1], this.weight.shape[1]]);
  }
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.tanh(F.add(F.sum(F.mul(F.expandDims(x, 2), this.weight.data()), 1), this.bias.data()));
  }
}
class Model extends gluon.HybridBlock {
  enc = new Affine(3);
  dec = new Affine(2);
  override hybridForward(_F: F, x: Tensor): Tensor {
    return this.dec.forward(this.enc.forward(x));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'webgluon-nn-'));
const X = nd.array(randArray(8, 1), { shape: [4, 2] });

async function trained(seed: number): Promise<Model> {
  nd.random.seed(seed);
  const m = new Model();
  m.initialize(new init.Xavier());
  m.forward(X);
  return m;
}
const snapshot = async (m: Model) => Promise.all([...m.collectParams().values()].map(async (p) => Array.from(await p.data().data())));

describe('saveParameters / loadParameters', () => {
  it('round-trips: a fresh model loads the file and gives the same outputs', async () => {
    const a = await trained(1);
    const path = join(dir, 'model.safetensors');
    await a.saveParameters(path);
    const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
    expect([...file.keys()]).toEqual(['enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
    expect(file.get('enc.weight')!.shape).toEqual([2, 3]);
    const bytes = readFileSync(path);
    const hlen = Number(bytes.readBigUInt64LE(0));
    expect((8 + hlen) % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + hlen).toString())['enc.weight'].dtype).toBe('F32');

    const b = new Model(); // not initialized, shapes unknown: loading sets them
    await b.loadParameters(path);
    expect(Array.from(await (b.forward(X) as Tensor).data())).toEqual(Array.from(await (a.forward(X) as Tensor).data()));
    const c = await trained(2);
    expect(await snapshot(c)).not.toEqual(await snapshot(a));
    await c.loadParameters(path);
    expect(await snapshot(c)).toEqual(await snapshot(a));
  });

  it('truncated or garbage files fail clearly and change nothing', async () => {
    const a = await trained(3);
    const path = join(dir, 'a.safetensors');
    await a.saveParameters(path);
    const full = readFileSync(path);
    const m = await trained(4);
    const before = await snapshot(m);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, full.subarray(0, full.length - 5));
    await expect(m.loadParameters(cut)).rejects.toThrow(/dec\.bias.*truncated/);
    writeFileSync(cut, full.subarray(0, 4));
    await expect(m.loadParameters(cut)).rejects.toThrow(/too short/);
    writeFileSync(cut, full.subarray(0, 20));
    await expect(m.loadParameters(cut)).rejects.toThrow(/header claims/);
    expect(await snapshot(m)).toEqual(before);
  });

  it('a wrong shape, a missing or extra name names the parameter and changes nothing', async () => {
    const other = new Model();
    other.dec = new Affine(5);
    nd.random.seed(5);
    other.initialize();
    other.forward(X);
    const path = join(dir, 'other.safetensors');
    await other.saveParameters(path);
    const m = await trained(6);
    const before = await snapshot(m);
    await expect(m.loadParameters(path)).rejects.toThrow(/'dec\.weight' has shape \(3, 5\) in the file but \(3, 2\) in the model/);
    expect(await snapshot(m)).toEqual(before);

    const small = new gluon.nn.HybridSequential().add(new Affine(3));
    small.initialize();
    small.forward(X);
    const p2 = join(dir, 'small.safetensors');
    await small.saveParameters(p2);
    await expect(m.loadParameters(p2)).rejects.toThrow(/'enc\.weight', 'enc\.bias', 'dec\.weight', 'dec\.bias' are not in the file/);
    await m.saveParameters(join(dir, 'm.safetensors'));
    const tiny = new Model();
    tiny.initialize();
    tiny.forward(X);
    (tiny as unknown as { dec: unknown }).dec = null;
    await expect(tiny.loadParameters(join(dir, 'm.safetensors'))).rejects.toThrow(/'dec\.weight', 'dec\.bias' that the model does not/);
    await tiny.loadParameters(join(dir, 'm.safetensors'), { ignoreExtra: true });
    expect(Array.from(await tiny.enc.weight.data().data())).toEqual(before[0]);
    expect(await snapshot(m)).toEqual(before);
  });

  it('a dtype mismatch names the parameter', async () => {
    const m = new gluon.Block();
    const p = m.register('steps', new gluon.Parameter('steps', { shape: [2], dtype: 'int32', gradReq: 'null' }));
    p.initialize(new init.Zero());
    const path = join(dir, 'i.safetensors');
    await m.saveParameters(path);
    const f = new gluon.Block();
    const q = f.register('steps', new gluon.Parameter('steps', { shape: [2] }));
    q.initialize(new init.One());
    await expect(f.loadParameters(path)).rejects.toThrow(/'steps' has dtype int32 in the file but float32/);
    expect(Array.from(await q.data().data())).toEqual([1, 1]);
  });
});
