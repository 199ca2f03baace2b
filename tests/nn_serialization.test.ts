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

// Files the reference safetensors loader refuses: loading one must fail naming the file and the
// fault, and change nothing. Each is written by hand from the four tensors of a real Model file.
describe('loadParameters refuses loose safetensors files', () => {
  const sizes: [string, number[]][] = [['enc.weight', [2, 3]], ['enc.bias', [3]], ['dec.weight', [3, 2]], ['dec.bias', [2]]];

  /** Writes `header` (raw text, so that it may repeat a key) and `data` as a safetensors file. */
  function craft(name: string, header: string, data: Uint8Array): string {
    const h = Buffer.from(header, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat([len, h, data]));
    return path;
  }
  /** One header entry; `offsets` default to the tensors packed in order from 0. */
  const entry = (name: string, shape: number[], offsets: [number, number]) =>
    `${JSON.stringify(name)}: {"dtype": "F32", "shape": ${JSON.stringify(shape)}, "data_offsets": ${JSON.stringify(offsets)}}`;
  const packed = (): [string, number[], [number, number]][] => {
    let at = 0;
    return sizes.map(([n, s]) => {
      const bytes = s.reduce((a, b) => a * b, 1) * 4;
      at += bytes;
      return [n, s, [at - bytes, at]];
    });
  };
  const headerOf = (entries: [string, number[], [number, number]][]) => `{${entries.map(([n, s, o]) => entry(n, s, o)).join(', ')}}`;

  async function setup(): Promise<{ m: Model; before: number[][]; data: Uint8Array }> {
    const source = await trained(7);
    const path = join(dir, 'source.safetensors');
    await source.saveParameters(path);
    const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
    const data = Buffer.concat(sizes.map(([n]) => Buffer.from(file.get(n)!.data.buffer)));
    const m = await trained(8);
    return { m, before: await snapshot(m), data: new Uint8Array(data) };
  }

  async function expectRefused(m: Model, before: number[][], path: string, why: RegExp): Promise<void> {
    const err = await m.loadParameters(path).then(() => null, (e: unknown) => e as Error);
    expect(err, `${path} loaded`).toBeInstanceOf(Error);
    expect(err!.message).toContain(`cannot load parameters from '${path}'`);
    expect(err!.message).toMatch(why);
    expect(err!.message).toMatch(/the model was not changed$/);
    expect(await snapshot(m)).toEqual(before);
  }

  it('a hand-written file that tiles its data section loads (the crafting is right)', async () => {
    const { data } = await setup();
    const fresh = await trained(9);
    await fresh.loadParameters(craft('ok.safetensors', headerOf(packed()), data));
    const source = await trained(7);
    expect(await snapshot(fresh)).toEqual(await snapshot(source));
  });

  it('overlapping tensors', async () => {
    const { m, before, data } = await setup();
    const e = packed();
    e[3][2] = [52, 60]; // dec.bias inside dec.weight's bytes [36, 60]
    const path = craft('overlap.safetensors', headerOf(e), data.subarray(0, 60));
    await expectRefused(m, before, path, /tensors 'dec\.weight' \(data_offsets \[36, 60\]\) and 'dec\.bias' \(data_offsets \[52, 60\]\) overlap/);
  });

  it('a tensor name twice in the header, also when spelled with an escape', async () => {
    const { m, before, data } = await setup();
    const e = packed();
    const twice = `{${[...e.map(([n, s, o]) => entry(n, s, o)), entry('enc.bias', [3], [24, 36])].join(', ')}}`;
    await expectRefused(m, before, craft('dup.safetensors', twice, data), /the header names tensor 'enc\.bias' twice/);
    const escaped = headerOf(e).replace('}}', '}, "dec\\u002ebias": {"dtype": "F32", "shape": [2], "data_offsets": [60, 68]}}');
    await expectRefused(m, before, craft('dup2.safetensors', escaped, data), /the header names tensor 'dec\.bias' twice/);
    const inner = headerOf(e).replace('"dtype": "F32"', '"dtype": "I32", "dtype": "F32"');
    await expectRefused(m, before, craft('dup3.safetensors', inner, data), /the header's entry 'enc\.weight' has the key 'dtype' twice/);
  });

  it('trailing bytes after the last tensor', async () => {
    const { m, before, data } = await setup();
    const path = craft('trailing.safetensors', headerOf(packed()), new Uint8Array([...data, 1, 2, 3, 4]));
    await expectRefused(m, before, path, /4 bytes follow the last tensor 'dec\.bias' \(data_offsets \[60, 68\]\) in the 72-byte data section/);
  });

  it('a gap between tensors, or before the first', async () => {
    const { m, before, data } = await setup();
    const e = packed().map(([n, s, [b, en]]): [string, number[], [number, number]] => (b >= 36 ? [n, s, [b + 4, en + 4]] : [n, s, [b, en]]));
    const gapped = new Uint8Array(72);
    gapped.set(data.subarray(0, 36), 0);
    gapped.set(data.subarray(36), 40);
    await expectRefused(m, before, craft('gap.safetensors', headerOf(e), gapped),
      /bytes 36 to 40 of the data section, between tensors 'enc\.bias' \(data_offsets \[24, 36\]\) and 'dec\.weight' \(data_offsets \[40, 64\]\), belong to no tensor/);
    const shifted = packed().map(([n, s, [b, en]]): [string, number[], [number, number]] => [n, s, [b + 8, en + 8]]);
    await expectRefused(m, before, craft('gap0.safetensors', headerOf(shifted), new Uint8Array([...new Uint8Array(8), ...data])),
      /the first 8 bytes of the data section belong to no tensor/);
  });

  it('malformed entries: a header length past the end, an entry that is not an object, non-integer offsets', async () => {
    const { m, before, data } = await setup();
    const good = craft('good.safetensors', headerOf(packed()), data);
    const bytes = readFileSync(good);
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
    writeFileSync(good, bytes);
    await expectRefused(m, before, good, /the header claims \d+ bytes but the file has only/);
    const notObject = headerOf(packed()).replace(/"dec\.bias": \{[^}]*\}/, '"dec.bias": null');
    await expectRefused(m, before, craft('null.safetensors', notObject, data.subarray(0, 60)), /tensor 'dec\.bias' is null in the header/);
    const fractional = headerOf(packed()).replace('[60,68]', '[60.5,68.5]');
    await expectRefused(m, before, craft('frac.safetensors', fractional, data), /tensor 'dec\.bias' has invalid data_offsets \[60\.5,68\.5\]/);
    const reversed = headerOf(packed()).replace('[60,68]', '[68,60]');
    await expectRefused(m, before, craft('rev.safetensors', reversed, data), /tensor 'dec\.bias' has invalid data_offsets \[68,60\]/);
  });
});
