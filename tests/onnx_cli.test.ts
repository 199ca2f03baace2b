// `webgluon-siamese export --onnx`: a network trained by the example leaves as an ONNX model that
// ONNX Runtime runs to the same embeddings, the pair network or one tower, at any batch size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinDataset } from '../src/data/glyphs.js';
import { nd, type Tensor } from '../src/index.js';
import { main } from '../examples/siamese/cli.js';
import { Siamese } from '../examples/siamese/model.js';
import { train } from '../examples/siamese/train.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-onnx-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SIZE = 20;

function expectClose(got: Float32Array, want: Float32Array | Int32Array): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(want[i])));
}

describe('export --onnx', () => {
  it('writes the trained pair network and its tower; ONNX Runtime gives the same embeddings', async () => {
    const data = await builtinDataset(join(root, 'glyphs'), { alphabets: 3, charactersPerAlphabet: 3, drawers: 2 });
    const out = join(root, 'out');
    const result = await train({
      trainDirs: data.trainDirs, testDirs: data.testDirs, epochs: 1, stepsPerEpoch: 2, batchSize: 2, imageSize: SIZE,
      hybridize: true, seed: 4, out, resume: false, learningRate: 0.01, numWorkers: 0, quiet: true,
    });
    await main(['export', '--params', result.paramsPath, '--onnx', join(root, 'pair.onnx')]);
    await main(['export', `--params=${result.paramsPath}`, '--onnx', join(root, 'tower'), '--tower']);

    const model = new Siamese();
    model.initialize();
    const probe = nd.zeros([1, 1, SIZE, SIZE]);
    model.forward(probe, probe);
    await model.loadParameters(result.paramsPath);
    nd.random.seed(9);
    const [a, b] = [nd.random.uniform(0, 1, [3, 1, SIZE, SIZE]), nd.random.uniform(0, 1, [3, 1, SIZE, SIZE])];
    const [wantA, wantB] = model.forward(a, b);
    const feed = async (t: Tensor) => new ort.Tensor('float32', (await t.data()) as Float32Array, [...t.shape]);

    const pair = await ort.InferenceSession.create(join(root, 'pair.onnx'));
    const got = await pair.run({ data0: await feed(a), data1: await feed(b) });
    expectClose(got.output0.data as Float32Array, await wantA.data());
    expectClose(got.output1.data as Float32Array, await wantB.data());

    const tower = await ort.InferenceSession.create(join(root, 'tower.onnx'));
    const one = await tower.run({ data: await feed(a) });
    expect(one.output.dims).toEqual([3, 2]);
    expectClose(one.output.data as Float32Array, await model.cnn.forward(a).data());
  });
});
