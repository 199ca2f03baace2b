// Bad input: each mistake is reported where it is made, naming its cause (the layer path, the op,
// the shapes, the file), and leaves nothing half-done: the model keeps working with the values it
// had, a parameter file that fails to load changes nothing, one that fails to save leaves the old file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, promises as fsPromises } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { autograd, gluon, init, nd, type F, type Tensor } from '../src/index.js';
import { HostArray } from '../src/data/host_array.js';
import { encodePng } from '../src/data/png.js';
import { alphabetDirs } from '../examples/siamese/pairs.js';

const dir = mkdtempSync(join(tmpdir(), 'webgluon-reliability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tutorial's tower, small: `cnn` holds Conv2D, MaxPool2D, Dense. */
class Tower extends gluon.HybridBlock {
  readonly cnn = new gluon.nn.HybridSequential();
  constructor() {
    super();
    this.cnn.add(new gluon.nn.Conv2D(4, 3, { activation: 'relu' }), new gluon.nn.MaxPool2D({ poolSize: 2 }), new gluon.nn.Dense(5));
  }
  override hybridForward(_F: F, x: Tensor): Tensor {
    return this.cnn.forward(x) as Tensor;
  }
}

async function snapshot(block: InstanceType<typeof gluon.Block>): Promise<number[][]> {
  return Promise.all([...block.collectParams().values()].map(async (p) => Array.from(await p.data().data())));
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('wrong shapes and dtypes into layers name the layer path and the shapes', () => {
  for (const hybridized of [false, true]) {
    const mode = hybridized ? 'hybridized' : 'eager';
    it(`${mode}: Conv2D and Dense, and the model still works afterwards`, async () => {
      nd.random.seed(11);
      const net = new Tower();
      net.initialize(new init.Xavier());
      if (hybridized) net.hybridize();
      const good = nd.random.uniform(0, 1, [2, 1, 8, 8]);
      const before = Array.from(await (net.forward(good) as Tensor).data());
      const params = await snapshot(net);

      const rank = errorOf(() => net.forward(nd.zeros([2, 8, 8])));
      expect(rank.message).toMatch(/`conv2d` \(.*cnn\.0\(Conv2D\)\)/);
      expect(rank.message).toContain('data (2, 8, 8), weight (4, 1, 3, 3)');

      const channels = errorOf(() => net.forward(nd.zeros([2, 3, 8, 8])));
      expect(channels.message).toMatch(/input channels differ \(data 3 vs weight 1\) in `conv2d` \(.*cnn\.0\(Conv2D\)\)/);

      // A larger image reaches the Dense layer with more features than its weight takes.
      const size = errorOf(() => net.forward(nd.zeros([2, 1, 10, 10])));
      expect(size.message).toMatch(/inner dimensions differ \(64 vs 36\) in `dot` \(.*cnn\.2\(Dense\)\)/);
      expect(size.message).toContain('(2, 64)');
      expect(size.message).toContain('(5, 36)');

      const small = errorOf(() => net.forward(nd.zeros([2, 1, 2, 2])));
      expect(small.message).toMatch(/3x3 window is larger than the padded input \(2x2\) in `conv2d` \(.*cnn\.0\(Conv2D\)\)/);

      const int = errorOf(() => net.forward(nd.zeros([2, 1, 8, 8], { dtype: 'int32' })));
      expect(int.message).toMatch(/`conv2d` takes float32 inputs, got int32, float32 \(.*cnn\.0\(Conv2D\)\); convert with astype/);

      // Nothing half-done: the same parameters, the same output, and training still works.
      expect(await snapshot(net)).toEqual(params);
      expect(Array.from(await (net.forward(good) as Tensor).data())).toEqual(before);
      const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: 0.1 });
      const loss = autograd.record(() => nd.mean(nd.square(net.forward(good) as Tensor)));
      loss.backward();
      trainer.step(2);
      expect(Number.isFinite(await loss.item())).toBe(true);
    });
  }

  it('a standalone Dense names itself and both shapes', () => {
    const dense = new gluon.nn.Dense(3, { inUnits: 4 });
    dense.initialize();
    const e = errorOf(() => dense.forward(nd.zeros([2, 5])));
    expect(e.message).toMatch(/inner dimensions differ \(5 vs 4\) in `dot` \(dense\d+\(Dense\)\):\n {2}left \(2, 5\), right \(3, 4\)/);
    const i = errorOf(() => dense.forward(nd.zeros([2, 4], { dtype: 'int32' })));
    expect(i.message).toMatch(/`dot` takes float32 inputs, got int32, float32 \(dense\d+\(Dense\)\)/);
  });

  it('a block called by one that does not own it is named by its own name', () => {
    const shared = new gluon.nn.Dense(2, { inUnits: 3 });
    shared.initialize();
    class Caller extends gluon.Block {
      override forward(x: Tensor): Tensor {
        return shared.forward(x) as Tensor;
      }
    }
    expect(errorOf(() => new Caller().forward(nd.zeros([1, 4]))).message).toMatch(/\(caller\d+\(Caller\) → dense\d+\(Dense\)\)/);
  });
});

describe('a label of the wrong shape', () => {
  it('is an error naming the loss and both shapes, not a silent broadcast', () => {
    const l2 = new gluon.loss.L2Loss();
    // (N, 1) against (N, C) would otherwise compare each label with every column.
    const e = errorOf(() => l2.forward(nd.zeros([4, 3]), nd.zeros([4, 1])));
    expect(e.message).toMatch(/the label has 4 values but the prediction has 12.*\(l2loss\d+\(L2Loss\)\):\n {2}label \(4, 1\), prediction \(4, 3\)/s);
    const bce = new gluon.loss.SigmoidBinaryCrossEntropyLoss();
    bce.hybridize();
    expect(errorOf(() => bce.forward(nd.zeros([4, 3]), nd.zeros([4]))).message).toMatch(/label has 4 values but the prediction has 12.*SigmoidBinaryCrossEntropyLoss/s);
    const sce = new gluon.loss.SoftmaxCrossEntropyLoss();
    expect(errorOf(() => sce.forward(nd.zeros([4, 3]), nd.zeros([5]))).message)
      .toMatch(/index shape must match data without the picked axis in `pick` \(softmaxcrossentropyloss\d+\(SoftmaxCrossEntropyLoss\)\):\n {2}data \(4, 3\), index \(5,\)/);
  });

  it('of the same size is reshaped like the prediction, as MXNet does', async () => {
    const out = new gluon.loss.L2Loss().forward(nd.array([[1], [2]]), nd.array([0, 0])) as Tensor;
    expect(Array.from(await out.data())).toEqual([0.5, 2]);
  });
});

describe('bad image data', () => {
  const png = (h: number, w: number, v = 9) => encodePng(new HostArray(new Uint8Array(h * w).fill(v), [h, w, 1]));
  const folder = (name: string, files: Record<string, Uint8Array | string>) => {
    const root = join(dir, name);
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), bytes);
    }
    return root;
  };
  const batches = async (root: string, numWorkers: number, batchSize = 2) => {
    const loader = new gluon.data.DataLoader(new gluon.data.vision.ImageFolderDataset(root, { flag: 0 }), { batchSize, numWorkers });
    try {
      const shapes: number[][] = [];
      for await (const [x] of loader) shapes.push([...x.shape]);
      return shapes;
    } finally {
      await loader.close();
    }
  };

  const good = png(5, 5);
  const flipped = Buffer.from(good);
  flipped[good.length - 20] ^= 0xff; // inside the IDAT chunk
  const sizes = folder('sizes', { 'a/0.png': good, 'a/1.png': png(6, 5), 'b/0.png': good });
  const corrupt = folder('corrupt', { 'a/0.png': good, 'a/1.png': flipped });
  const truncated = folder('truncated', { 'a/0.png': good.subarray(0, 40) });
  const text = folder('text', { 'a/0.png': 'not an image' });
  const ok = folder('ok', { 'a/0.png': good, 'a/1.png': good, 'b/0.png': good });

  for (const numWorkers of [0, 1]) {
    it(`images of different sizes name the samples and their files (numWorkers ${numWorkers})`, async () => {
      const e = await batches(sizes, numWorkers).catch((err: Error) => err);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(/sample 0 is a HostArray \(5, 5, 1\) but sample 1 is a HostArray \(6, 5, 1\); the shapes differ/);
      expect((e as Error).message).toContain(`sample 1: ${join(sizes, 'a', '1.png')}`);
    });

    it(`a corrupt, truncated or foreign PNG names its path, and the next loader works (numWorkers ${numWorkers})`, async () => {
      await expect(batches(corrupt, numWorkers, 1)).rejects.toThrow(`cannot decode PNG ${join(corrupt, 'a', '1.png')}: its compressed pixel data is corrupt (zlib: `);
      await expect(batches(truncated, numWorkers, 1)).rejects.toThrow(`cannot decode PNG ${join(truncated, 'a', '0.png')}: the file ends early after 40 bytes`);
      await expect(batches(text, numWorkers, 1)).rejects.toThrow(`cannot decode ${join(text, 'a', '0.png')}: not a PNG file`);
      expect(await batches(ok, numWorkers)).toEqual([[2, 5, 5, 1], [1, 5, 5, 1]]);
    });
  }

  it("the Siamese example's --train-dir: missing, a file, or empty", () => {
    const empty = join(dir, 'empty-alphabets');
    mkdirSync(empty, { recursive: true });
    expect(() => alphabetDirs(join(dir, 'missing'))).toThrow(`the data folder ${join(dir, 'missing')} does not exist`);
    expect(() => alphabetDirs(join(ok, 'a', '0.png'))).toThrow(/is a file, not a folder/);
    expect(() => alphabetDirs(empty)).toThrow(/has no sub-folders; expected an alphabet .*<character>\/<image>\.png\) or a folder of alphabets/);
    expect(alphabetDirs(ok)).toEqual([ok]);
  });

  it('an empty, missing or image-less folder says so', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const ImageFolderDataset = gluon.data.vision.ImageFolderDataset;
    expect(() => new ImageFolderDataset(empty)).toThrow(`ImageFolderDataset root ${empty} has no sub-folders; expected root/<class>/<image>.png`);
    expect(() => new ImageFolderDataset(join(dir, 'missing'))).toThrow(`ImageFolderDataset root ${join(dir, 'missing')} does not exist`);
    const noImages = folder('no-images', { 'a/readme.txt': 'x' });
    expect(() => new ImageFolderDataset(noImages)).toThrow(/has no images \(\.png, \.jpg, \.jpeg\) in its 1 sub-folders \(a\)/);
    expect(() => new ImageFolderDataset(join(ok, 'a', '0.png'))).toThrow(/is not a folder/);
  });
});

describe('parameter files', () => {
  class Small extends gluon.HybridBlock {
    readonly enc = new gluon.nn.Dense(3, { inUnits: 2 });
    readonly dec = new gluon.nn.Dense(2, { inUnits: 3 });
    override hybridForward(_F: F, x: Tensor): Tensor {
      return this.dec.forward(this.enc.forward(x)) as Tensor;
    }
  }
  const model = (seed: number) => {
    nd.random.seed(seed);
    const m = new Small();
    m.initialize(new init.Normal(1));
    return m;
  };
  afterEach(() => vi.restoreAllMocks());

  it('truncated, empty, foreign or missing files fail naming the file and what it is; the model keeps its values', async () => {
    const saved = join(dir, 'small.safetensors');
    await model(1).saveParameters(saved);
    const bytes = readFileSync(saved);
    const m = model(2);
    const before = await snapshot(m);
    const file = (name: string, data: Uint8Array | string) => {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    };
    const mxnet = Buffer.alloc(64);
    mxnet.writeBigUInt64LE(0x112n, 0);
    const cases: [string, RegExp][] = [
      [file('cut.safetensors', bytes.subarray(0, bytes.length - 7)), /tensor 'dec\.bias' ends at byte \d+ of the data section, which has only \d+ bytes \(truncated\?\)/],
      [file('cut-header.safetensors', bytes.subarray(0, 30)), /the header claims \d+ bytes but the file has only 22 after the length \(truncated\?\)/],
      [file('empty.safetensors', ''), /the file is empty/],
      [file('notes.txt', 'epoch 3: loss 0.25\n'), /it is a text file \(it starts with "epoch 3: loss 0\.25"\), not safetensors/],
      [file('weights.npz', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(60)])), /it is a zip archive \(a NumPy \.npz, or a PyTorch \.pt\/\.pth file\?\), not safetensors/],
      [file('weights.npy', Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), Buffer.alloc(60)])), /it is a NumPy \.npy file/],
      [file('model-0001.params', mxnet), /it is an MXNet \.params file/],
      [join(dir, 'nowhere.safetensors'), /the file does not exist/],
      [dir, /it is a folder/],
    ];
    for (const [path, why] of cases) {
      const e = await m.loadParameters(path).catch((err: Error) => err);
      expect(e, path).toBeInstanceOf(Error);
      expect((e as Error).message).toContain(`cannot load parameters from '${path}': `);
      expect((e as Error).message).toMatch(why);
      expect((e as Error).message).toMatch(/; the model was not changed$/);
    }
    expect(await snapshot(m)).toEqual(before);
    await m.loadParameters(saved);
    expect(await snapshot(m)).toEqual(await snapshot(model(1)));
  });

  it('saving where the path cannot be written names the reason and leaves no file behind', async () => {
    const m = model(3);
    const notAFolder = join(dir, 'plain-file');
    writeFileSync(notAFolder, 'x');
    await expect(m.saveParameters(join(notAFolder, 'p.safetensors'))).rejects
      .toThrow(`cannot save parameters to '${join(notAFolder, 'p.safetensors')}': a part of the path is a file, not a folder; nothing was written`);
    await expect(m.saveParameters(join(dir, 'no', 'such', 'p.safetensors'))).rejects.toThrow(/its folder does not exist; nothing was written/);
    const folderTarget = join(dir, 'a-folder');
    mkdirSync(folderTarget, { recursive: true });
    await expect(m.saveParameters(folderTarget)).rejects.toThrow(/the path is a folder/);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a write that fails midway (disk full) leaves the existing file intact and loadable', async () => {
    const target = join(dir, 'keep.safetensors');
    await model(4).saveParameters(target);
    const old = readFileSync(target);
    const open = fsPromises.open.bind(fsPromises);
    vi.spyOn(fsPromises, 'open').mockImplementation(async (...args: Parameters<typeof fsPromises.open>) => {
      const handle = await open(...args);
      handle.writeFile = async (data: Parameters<typeof handle.writeFile>[0]) => {
        const bytes = data as Uint8Array;
        await handle.write(bytes.subarray(0, bytes.length >> 1)); // half the bytes reach the disk
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      return handle;
    });
    await expect(model(5).saveParameters(target)).rejects
      .toThrow(`cannot save parameters to '${target}': the disk is full; the existing file was left as it was`);
    vi.restoreAllMocks();
    expect(readFileSync(target).equals(old)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const m = model(6);
    await m.loadParameters(target);
    expect(await snapshot(m)).toEqual(await snapshot(model(4)));
  });
});
