// gluon.data.vision.transforms: known answers for Resize/ToTensor/Normalize/affine, RandomAffine
// deterministic under its seed, and augmentation inside a DataLoader with decode workers gives the
// same batches as on the main thread.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gluon } from '../src/index.js';
import { HostArray } from '../src/data/host_array.js';
import { Compose, Normalize, RandomAffine, Resize, ToTensor, affine } from '../src/data/transforms.js';
import { generateGlyphDataset } from '../src/data/glyphs.js';

const img = (rows: number[][]) => new HostArray(Uint8Array.from(rows.flat()), [rows.length, rows[0].length, 1]);

describe('transforms', () => {
  it('is reachable as gluon.data.vision.transforms', () => {
    expect(gluon.data.vision.transforms.RandomAffine).toBe(RandomAffine);
    expect(new gluon.data.vision.transforms.ToTensor()).toBeInstanceOf(ToTensor);
  });

  it('ToTensor: HWC uint8 → CHW float in [0, 1]; Normalize per channel', () => {
    const x = new HostArray(Uint8Array.of(0, 255, 51, 102), [1, 2, 2]); // H=1 W=2 C=2
    const t = new ToTensor().forward(x);
    expect(t.shape).toEqual([2, 1, 2]);
    expect(Array.from(t.data).map((v) => +v.toFixed(5))).toEqual([0, 0.2, 1, 0.4]);
    const n = new Normalize([0.5, 1], [0.5, 2]).forward(t);
    expect(Array.from(n.data).map((v) => +v.toFixed(5))).toEqual([-1, -0.6, 0, -0.3]);
    expect(() => new Normalize([1, 2, 3], 1).forward(t)).toThrow(/3 mean values for an image of 2 channels/);
    expect(() => new Normalize(0, 0)).toThrow(/non-zero/);
  });

  it('Resize: area averages blocks, nearest and bilinear sample centres, uint8 kept', () => {
    const x = img([[0, 100, 200, 40], [0, 100, 200, 40]]);
    expect(Array.from(new Resize([2, 1], 'area').forward(x).data)).toEqual([50, 120]);
    expect(Array.from(new Resize([2, 1], 'bilinear').forward(x).data)).toEqual([50, 120]);
    const up = new Resize([4, 4], 'nearest').forward(img([[1, 2], [3, 4]]));
    expect(up.toArray()).toEqual([[[1], [1], [2], [2]], [[1], [1], [2], [2]], [[3], [3], [4], [4]], [[3], [3], [4], [4]]]);
    expect(up.dtype).toBe('uint8');
    expect(() => new Resize(0)).toThrow(/positive integers/);
  });

  it('affine: identity, 90° rotation, translation and scale with known answers', () => {
    const x = img([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    const id = { angle: 0, translate: [0, 0] as [number, number], scale: 1, shear: 0 };
    expect(affine(x, id).toArray()).toEqual(x.toArray());
    // 90° counter-clockwise on screen: the top row becomes the left column, read upwards.
    expect(affine(x, { ...id, angle: 90 }, 'nearest').toArray()).toEqual([[[3], [6], [9]], [[2], [5], [8]], [[1], [4], [7]]]);
    expect(affine(x, { ...id, translate: [1, 0] }, 'nearest', 0).toArray()).toEqual([[[0], [1], [2]], [[0], [4], [5]], [[0], [7], [8]]]);
    // Scale 2 about the centre: the centre pixel fills the middle, the corners come from half-way.
    const xf = x.astype('float32');
    expect(affine(xf, { ...id, scale: 2 }, 'bilinear').toArray()).toEqual([[[3], [3.5], [4]], [[4.5], [5], [5.5]], [[6], [6.5], [7]]]);
  });

  it('RandomAffine is deterministic under its seed and under a per-call seed', () => {
    const x = new HostArray(Uint8Array.from({ length: 20 * 20 }, (_, i) => (i * 37) % 256), [20, 20, 1]);
    const opts = { degrees: 15, shear: 10, scale: [0.8, 1.2] as [number, number], translate: [0.1, 0.1] as [number, number], fill: 255 };
    const a = new RandomAffine({ ...opts, seed: 7 });
    const b = new RandomAffine({ ...opts, seed: 7 });
    const c = new RandomAffine({ ...opts, seed: 8 });
    const runA = [a.forward(x), a.forward(x)];
    const runB = [b.forward(x), b.forward(x)];
    expect(runA.map((r) => Array.from(r.data))).toEqual(runB.map((r) => Array.from(r.data)));
    expect(Array.from(runA[0].data)).not.toEqual(Array.from(runA[1].data));
    expect(Array.from(c.forward(x).data)).not.toEqual(Array.from(runA[0].data));
    // forward(x, seed) ignores the transform's own stream and changes nothing in it.
    const state = a.getRandomState();
    expect(Array.from(a.forward(x, 99).data)).toEqual(Array.from(c.forward(x, 99).data));
    expect(a.getRandomState()).toBe(state);
    a.setRandomState(state);
    const next = a.forward(x);
    a.setRandomState(state);
    expect(Array.from(a.forward(x).data)).toEqual(Array.from(next.data));
    const p = new RandomAffine({ ...opts, seed: 1 }).drawParams(20, 20);
    expect(Math.abs(p.angle)).toBeLessThanOrEqual(15);
    expect(p.scale).toBeGreaterThanOrEqual(0.8);
    expect(p.scale).toBeLessThanOrEqual(1.2);
    expect(Math.abs(p.translate[0])).toBeLessThanOrEqual(2);
    expect(() => new RandomAffine({ scale: [1.2, 0.8] })).toThrow(/scale/);
  });

  it('Compose chains the stages and passes each random stage its own derived seed', () => {
    const x = new HostArray(Uint8Array.from({ length: 16 * 16 }, (_, i) => (i % 16) * 16), [16, 16, 1]);
    const pipeline = new Compose([new RandomAffine({ degrees: 20, seed: 1 }), new Resize(8, 'area'), new ToTensor(), new Normalize(0.5, 0.5)]);
    const y = pipeline.forward(x, 5);
    expect(y.shape).toEqual([1, 8, 8]);
    expect(Array.from(pipeline.forward(x, 5).data)).toEqual(Array.from(y.data));
    expect(Array.from(pipeline.forward(x, 6).data)).not.toEqual(Array.from(y.data));
    expect(Math.min(...y.data)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...y.data)).toBeLessThanOrEqual(1);
  });
});

describe('transforms in the DataLoader', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'webgluon-transforms-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('run on the main thread after decoding: with 2 decode workers the batches equal those without', async () => {
    const root = await generateGlyphDataset({ root: join(scratch, 'glyphs'), alphabets: 1, charactersPerAlphabet: 4, drawers: 3 });
    const { ImageFolderDataset, DataLoader } = gluon.data;
    const aug = new Compose([new RandomAffine({ degrees: 10, translate: [0.1, 0.1], fill: 255 }), new Resize(16, 'area'), new ToTensor()]);
    // The per-sample seed is the sample's index: a function of what is read, not of when its decode ends.
    class Augmented extends ImageFolderDataset<[HostArray, number]> {
      override async get(i: number): Promise<[HostArray, number]> {
        const [im, label] = await this.getImage(i);
        return [aug.forward(im, 1000 + i), label];
      }
    }
    const batches = async (numWorkers: number) => {
      const out: number[][] = [];
      const loader = new DataLoader(new Augmented(join(root, 'Alphabet_01'), { flag: 0 }), { batchSize: 4, shuffle: true, seed: 3, numWorkers });
      for await (const [x] of loader) out.push(Array.from(await x.data()));
      return out;
    };
    const main = await batches(0);
    const workers = await batches(2);
    expect(workers).toEqual(main);
    expect(main.length).toBe(3);
  });
});
