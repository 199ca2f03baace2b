// What a parameter file says about itself: the safetensors `__metadata__` holds the format, the
// webgluon version, and what the caller adds (the model class, input shapes, image size, the
// training arguments); readParameterMetadata() reads it from the header alone; eval-oneshot takes
// the image size from it, and refuses an --image-size that contradicts it, naming both.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VERSION } from '../src/base/version.js';
import { builtinDataset } from '../src/data/glyphs.js';
import { makeOneshotRuns } from '../src/data/oneshot_runs.js';
import { gluon, init, nd } from '../src/index.js';
import {
  blockMetadata, encodeSafetensors, loadParameters, PARAMS_FORMAT, readParameterMetadata, saveParameters,
} from '../src/nn/serialization.js';
import { main, oneshotImageSize } from '../examples/siamese/cli.js';
import { Siamese } from '../examples/siamese/model.js';

const dir = mkdtempSync(join(tmpdir(), 'webgluon-metadata-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dense(): InstanceType<typeof gluon.nn.Dense> {
  const net = new gluon.nn.Dense(3, { inUnits: 4 });
  net.initialize();
  return net;
}

describe('the version', () => {
  it('src/base/version.ts says what package.json says', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

describe('parameter file metadata', () => {
  it('saveParameters writes format, version and the caller\'s entries; loading returns them', async () => {
    const net = dense();
    net.forward(nd.ones([2, 4]));
    const path = join(dir, 'dense.safetensors');
    await saveParameters(net.collectParams(), path, blockMetadata(net, { trainingArgs: JSON.stringify({ lr: 0.1 }) }));
    const meta = await readParameterMetadata(path);
    expect(meta).toEqual({ format: PARAMS_FORMAT, webgluon: VERSION, model: 'Dense', inputShapes: '[[2,4]]', trainingArgs: '{"lr":0.1}' });
    const fresh = dense();
    expect(await loadParameters(fresh.collectParams(), path)).toEqual(meta);
    expect(Array.from(await fresh.weight.data().data())).toEqual(Array.from(await net.weight.data().data()));
    // The format and the version are this library's to write, whatever the caller passes.
    await saveParameters(net.collectParams(), path, { format: 'mine', webgluon: '9', note: 'x' });
    expect(await readParameterMetadata(path)).toEqual({ format: PARAMS_FORMAT, webgluon: VERSION, note: 'x' });
  });

  it('Block.saveParameters writes at least the format and the version (files without metadata read as {})', async () => {
    const net = dense();
    const path = join(dir, 'block.safetensors');
    await net.saveParameters(path);
    expect(await readParameterMetadata(path)).toMatchObject({ format: PARAMS_FORMAT, webgluon: VERSION });
    const bare = join(dir, 'bare.safetensors');
    writeFileSync(bare, encodeSafetensors(new Map([['weight', { dtype: 'float32', shape: [1], data: Float32Array.of(1) }]])));
    expect(await readParameterMetadata(bare)).toEqual({});
  });

  it('metadata values must be strings: refused before anything is written', async () => {
    const path = join(dir, 'never.safetensors');
    await expect(saveParameters(dense().collectParams(), path, { imageSize: 20 } as unknown as Record<string, string>))
      .rejects.toThrow(/metadata 'imageSize' is 20, not a string; safetensors metadata maps strings to strings/);
    expect(existsSync(path)).toBe(false);
  });

  it('a file whose __metadata__ is not strings to strings is refused by loading and by readParameterMetadata', async () => {
    const path = join(dir, 'badmeta.safetensors');
    const good = encodeSafetensors(new Map([['weight', { dtype: 'float32', shape: [3, 4], data: new Float32Array(12) }],
      ['bias', { dtype: 'float32', shape: [3], data: new Float32Array(3) }]]), { imageSize: '20' });
    // Same length, so the offsets stay right: "20" (a string) becomes 20.0 (a number).
    const text = Buffer.from(good).toString('latin1').replace('"imageSize":"20"', '"imageSize":20.0');
    writeFileSync(path, Buffer.from(text, 'latin1'));
    await expect(readParameterMetadata(path)).rejects.toThrow(/cannot read the metadata of .*badmeta\.safetensors': the header's __metadata__ has 'imageSize': 20, not a string/);
    await expect(loadParameters(dense().collectParams(), path)).rejects.toThrow(/__metadata__ has 'imageSize': 20, not a string.*; the model was not changed/);
  });

  it('readParameterMetadata checks the header as loading does: a missing, foreign or truncated file is refused', async () => {
    await expect(readParameterMetadata(join(dir, 'nope.safetensors'))).rejects.toThrow(/cannot read the metadata of .*nope\.safetensors': the file does not exist/);
    const text = join(dir, 'notes.safetensors');
    writeFileSync(text, 'hello world, not tensors\n');
    await expect(readParameterMetadata(text)).rejects.toThrow(/it is a text file/);
    const full = join(dir, 'dense.safetensors');
    const cut = join(dir, 'cut.safetensors');
    const bytes = readFileSync(full);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 8));
    await expect(readParameterMetadata(cut)).rejects.toThrow(/truncated/);
  });
});

describe('eval-oneshot and the image size', () => {
  let runs: string;
  const SIZE = 20;
  const trained = join(dir, 'siamese-20.safetensors');
  const old = join(dir, 'siamese-old.safetensors');
  beforeAll(async () => {
    const data = await builtinDataset(join(dir, 'glyphs'), { alphabets: 3, charactersPerAlphabet: 4, drawers: 2 });
    runs = join(dir, 'runs');
    await makeOneshotRuns({ alphabetDirs: data.testDirs, outDir: runs, runs: 1, ways: 4, seed: 1 });
    nd.random.seed(1);
    const model = new Siamese();
    model.initialize(new init.Xavier());
    const probe = nd.zeros([1, 1, SIZE, SIZE]);
    model.forward(probe, probe);
    await saveParameters(model.collectParams(), trained, blockMetadata(model, { imageSize: String(SIZE) }));
    await saveParameters(model.collectParams(), old);
  });

  it('takes the size from the file, accepts a flag that agrees, and names both values when they differ', async () => {
    expect(await oneshotImageSize(trained, undefined)).toBe(SIZE);
    expect(await oneshotImageSize(trained, SIZE)).toBe(SIZE);
    await expect(oneshotImageSize(trained, 105)).rejects.toThrow(
      `--image-size 105 does not match ${trained}, which was trained on 20x20 images (its metadata says imageSize 20); drop --image-size or pass --image-size 20`);
    // A file that does not say: the flag, else Omniglot's 105.
    expect(await oneshotImageSize(old, 28)).toBe(28);
    expect(await oneshotImageSize(old, undefined)).toBe(105);
  });

  it('the command runs on a 20x20 model without --image-size, and refuses a contradicting one', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const json = join(dir, 'oneshot.json');
      await main(['eval-oneshot', '--runs', runs, '--params', trained, '--json', json]);
      const result = JSON.parse(readFileSync(json, 'utf8')) as { runs: unknown[]; meanAccuracy: number };
      expect(result.runs).toHaveLength(1);
      expect(result.meanAccuracy).toBeGreaterThanOrEqual(0);
      await expect(main(['eval-oneshot', '--runs', runs, '--params', trained, '--image-size', '28']))
        .rejects.toThrow(/--image-size 28 does not match .*siamese-20\.safetensors, which was trained on 20x20 images/);
    } finally {
      log.mockRestore();
    }
  });
});
