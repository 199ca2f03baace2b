// exportOnnx(block, path) → an .onnx file that ONNX Runtime (onnxruntime-node, CPU) runs: every
// layer, every loss, the tutorial's Siamese network and contrastive loss, and a block using every
// op with an ONNX form. One file per block, run at two batch sizes (neither of them a traced one),
// must give webgluon's predict-mode outputs within rtol 1e-4 / atol 1e-5. Also: the file's header
// (opset 18, dim_param N), fixed-shape export, and the refusals that name the op and the Block.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';
import { autograd, gluon, GraphError, init, nd, type F, type Tensor } from '../src/index.js';
import type { AnyHybridBlock, HybridBlock } from '../src/nn/hybrid_block.js';
import { exportOnnx, type OnnxExportOptions } from '../src/nn/export_onnx.js';
import { exportGraph } from '../src/nn/export.js';
import { allOps } from '../src/graph/registry.js';
import { encodeModel, rawData } from '../src/onnx/protobuf.js';
import { expectClose, rng } from './op_harness.js';

const RTOL = 1e-4;
const ATOL = 1e-5;
/** Batch sizes the exported file is run at; the export traces at 7, 11 and 13. */
const BATCHES = [2, 5];
const dir = mkdtempSync(join(tmpdir(), 'webgluon-onnx-'));
const nn = gluon.nn;
const L = gluon.loss;

/** The largest differences seen per case, printed at the end (the report quotes them). */
const worst = new Map<string, { abs: number; rel: number }>();
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  const rows = [...worst].map(([name, d]) => `  ${name.padEnd(58)} abs ${d.abs.toExponential(2)}  rel ${d.rel.toExponential(2)}`);
  console.log(`largest |onnxruntime - webgluon| per case:\n${rows.join('\n')}`);
});

function record(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  const d = worst.get(name) ?? { abs: 0, rel: 0 };
  for (let i = 0; i < want.length; i++) {
    const abs = Math.abs(got[i] - want[i]);
    d.abs = Math.max(d.abs, abs);
    if (want[i] !== 0) d.rel = Math.max(d.rel, abs / Math.abs(want[i]));
  }
  worst.set(name, d);
}

async function feed(t: Tensor): Promise<ort.Tensor> {
  return new ort.Tensor(t.dtype, await t.data(), [...t.shape]);
}

/**
 * Exports `block` once, then at each batch size compares ONNX Runtime's outputs (values and shapes)
 * with block.forward in predict mode. `inputs(n)` makes the inputs for batch size n.
 */
async function expectOnnxMatches(name: string, block: AnyHybridBlock, inputs: (n: number) => Tensor[], opts: OnnxExportOptions = {},
  batches = BATCHES): Promise<ort.InferenceSession> {
  const forward = (xs: Tensor[]) => (block as HybridBlock<Tensor[], Tensor | Tensor[]>).forward(...xs);
  const first = inputs(batches[0]);
  forward(first); // completes deferred initialization; export traces these shapes
  const file = join(dir, name.replace(/[^A-Za-z0-9]+/g, '_'));
  const { onnxFile, inputNames, outputNames } = await exportOnnx(block, file, opts);
  const session = await ort.InferenceSession.create(onnxFile);
  expect([...session.inputNames]).toEqual(inputNames);
  expect([...session.outputNames]).toEqual(outputNames);
  for (const n of batches) {
    const xs = n === batches[0] ? first : inputs(n);
    const out = forward(xs);
    const want = Array.isArray(out) ? out : [out];
    const feeds = Object.fromEntries(await Promise.all(xs.map(async (x, i) => [inputNames[i], await feed(x)] as const)));
    const got = await session.run(feeds);
    expect(want.length).toBe(outputNames.length);
    for (const [k, w] of want.entries()) {
      const g = got[outputNames[k]];
      expect([...g.dims], `${name}: shape of ${outputNames[k]} at batch ${n}`).toEqual([...w.shape]);
      const wantData = await w.data();
      const gotData = g.data as Float32Array;
      record(name, gotData, wantData);
      expectClose(gotData, wantData, RTOL, ATOL, `${name}: ${outputNames[k]} at batch ${n}`);
    }
  }
  return session;
}

const normal = (shape: number[]) => nd.random.normal(0, 1, shape);
const uniform = (lo: number, hi: number, shape: number[]) => nd.random.uniform(lo, hi, shape);
const signs = (shape: number[]) => nd.sub(nd.mul(nd.greater(uniform(0, 1, shape), 0.5), 2), 1);
const bits = (shape: number[]) => nd.greater(uniform(0, 1, shape), 0.5);
const classes = (n: number, c: number) => nd.array(Array.from({ length: n }, (_, i) => (i * 3 + 1) % c));
const counts = (shape: number[], r = rng(shape[0])) => nd.array(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(4 * r())), { shape });
const probs = (shape: number[]) => nd.softmax(normal(shape));

function tower(): InstanceType<typeof nn.HybridSequential> {
  return new nn.HybridSequential().add(
    new nn.Conv2D(64, 5, { activation: 'relu' }),
    new nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new nn.Conv2D(64, 5, { activation: 'relu' }),
    new nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new nn.Dense(256, { activation: 'relu' }),
    new nn.Dense(2, { activation: 'softrelu' }),
  );
}

function initialized<B extends AnyHybridBlock>(block: B, seed: number): B {
  nd.random.seed(seed);
  block.initialize(new init.Xavier());
  return block;
}

describe('exportOnnx: the tutorial network', () => {
  it('the Siamese tower (Conv, MaxPool, Gemm, Relu, softrelu) at two batch sizes from one file', async () => {
    const net = initialized(tower(), 1);
    const session = await expectOnnxMatches('Siamese tower', net, (n) => [uniform(0, 1, [n, 1, 28, 28])]);
    expect(session.inputMetadata[0]).toMatchObject({ name: 'data', shape: ['N', 1, 28, 28] });
    expect(session.outputMetadata[0]).toMatchObject({ name: 'output', shape: ['N', 2] });
    const model = readModel(readFileSync(join(dir, 'Siamese_tower.onnx')));
    expect(model.opset).toBe(18);
    expect(model.producer).toBe('webgluon');
    expect(new Set(model.ops)).toEqual(new Set(['Conv', 'Reshape', 'Add', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Abs', 'Neg', 'Exp', 'Log', 'Identity']));
    expect(model.initializers).toEqual(expect.arrayContaining([...net.collectParams().keys()]));
  });

  it('the whole Siamese network: two inputs stacked into one batch and sliced at N and 2N', async () => {
    const net = initialized(new Siamese(), 2);
    await expectOnnxMatches('Siamese (two towers, shared weights)', net, (n) => [uniform(0, 1, [n, 1, 28, 28]), uniform(0, 1, [n, 1, 28, 28])]);
  });

  it('the contrastive loss (a user-written Loss with three inputs)', async () => {
    await expectOnnxMatches('ContrastiveLoss', new ContrastiveLoss(2), (n) => [normal([n, 2]), normal([n, 2]), bits([n, 1])]);
  });
});

interface LayerCase {
  name: string;
  make: () => AnyHybridBlock;
  shape: number[];
  /** Trains a few steps before the export (BatchNorm's running statistics). */
  train?: boolean;
  /** Hybridized after training: the export of a compiled block. */
  hybridize?: boolean;
}

const LAYERS: LayerCase[] = [
  { name: 'Dense (flatten 4-D input, bias)', make: () => new nn.Dense(6), shape: [3, 4, 5] },
  { name: 'Dense (no bias, sigmoid)', make: () => new nn.Dense(6, { useBias: false, activation: 'sigmoid' }), shape: [7] },
  { name: 'Dense (flatten false on 3-D input, tanh)', make: () => new nn.Dense(6, { flatten: false, activation: 'tanh' }), shape: [4, 5] },
  { name: 'Conv2D (strides 2x1, padding 1x2, relu)', make: () => new nn.Conv2D(5, [3, 2], { strides: [2, 1], padding: [1, 2], activation: 'relu' }), shape: [3, 9, 8] },
  { name: 'Conv2D (no bias, softrelu)', make: () => new nn.Conv2D(4, 3, { useBias: false, activation: 'softrelu' }), shape: [2, 6, 6] },
  { name: 'MaxPool2D (3x3, strides 2, padding 1)', make: () => new nn.MaxPool2D({ poolSize: 3, strides: 2, padding: 1 }), shape: [3, 9, 9] },
  { name: 'AvgPool2D (2x3, strides 1x2, padding 1: pads counted)', make: () => new nn.AvgPool2D({ poolSize: [2, 3], strides: [1, 2], padding: 1 }), shape: [3, 7, 8] },
  { name: 'Flatten', make: () => new nn.Flatten(), shape: [3, 4, 5] },
  ...(['relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'] as const).map((a) => ({ name: `Activation(${a})`, make: () => new nn.Activation(a), shape: [3, 4] })),
  { name: 'Dropout (the identity in predict mode)', make: () => new nn.Dropout(0.5), shape: [6] },
  {
    name: 'BatchNorm after training steps (running statistics)', train: true, shape: [3, 5, 5],
    make: () => new nn.HybridSequential().add(new nn.Conv2D(4, 3), new nn.BatchNorm(), new nn.Activation('relu'), new nn.Dense(3)),
  },
  {
    name: 'HybridSequential in a HybridSequential, hybridized, with Dropout and BatchNorm', train: true, hybridize: true, shape: [8],
    make: () => {
      const inner = new nn.HybridSequential().add(new nn.Dense(16, { activation: 'relu' }), new nn.BatchNorm(), new nn.Dropout(0.3));
      return new nn.HybridSequential().add(inner, new nn.Dense(4, { activation: 'tanh' }), new nn.Dense(2));
    },
  },
];

describe('exportOnnx: every layer, at two batch sizes from one file', () => {
  LAYERS.forEach((c, k) => {
    it(c.name, async () => {
      const block = initialized(c.make(), 10 + k);
      const make = (n: number) => [normal([n, ...c.shape])];
      if (c.train) {
        const trainer = new gluon.Trainer(block.collectParams(), 'sgd', { learningRate: 0.1 });
        for (let step = 0; step < 3; step++) {
          const x = nd.add(nd.mul(normal([4, ...c.shape]), 2), 1);
          autograd.record(() => nd.sum(nd.square((block as HybridBlock).forward(x)))).backward();
          trainer.step(4);
        }
        const stats = [...block.collectParams()].filter(([name]) => /running(Mean|Var)/.test(name));
        expect(stats.length).toBeGreaterThan(0);
        for (const [name, p] of stats) {
          const v = Array.from(await p.data().data());
          expect(v.some((x) => x !== (name.endsWith('Mean') ? 0 : 1)), `${name} moved`).toBe(true);
        }
      }
      if (c.hybridize) block.hybridize();
      await expectOnnxMatches(c.name, block, make);
    });
  });
});

type LossInputs = (n: number) => Tensor[];
const C = 5;
const LOSSES: [string, () => AnyHybridBlock, LossInputs][] = [
  ['L1Loss', () => new L.L1Loss(), (n) => [normal([n, C]), normal([n, C])]],
  ['L1Loss (weight 0.5, sampleWeight)', () => new L.L1Loss(0.5), (n) => [normal([n, C]), normal([n, C]), uniform(0, 1, [n, 1])]],
  ['L2Loss (3-D pred, label reshaped like it)', () => new L.L2Loss(), (n) => [normal([n, 2, 3]), normal([n, 6])]],
  ['SigmoidBinaryCrossEntropyLoss (logits)', () => new L.SigmoidBinaryCrossEntropyLoss(), (n) => [normal([n, C]), bits([n, C])]],
  ['SigmoidBinaryCrossEntropyLoss (fromSigmoid)', () => new L.SigmoidBinaryCrossEntropyLoss({ fromSigmoid: true }), (n) => [uniform(0.05, 0.95, [n, C]), bits([n, C])]],
  ['SoftmaxCrossEntropyLoss (sparse)', () => new L.SoftmaxCrossEntropyLoss(), (n) => [normal([n, C]), classes(n, C)]],
  ['SoftmaxCrossEntropyLoss (dense labels)', () => new L.SoftmaxCrossEntropyLoss({ sparseLabel: false }), (n) => [normal([n, C]), probs([n, C])]],
  ['KLDivLoss (probabilities)', () => new L.KLDivLoss({ fromLogits: false }), (n) => [normal([n, C]), probs([n, C])]],
  ['HuberLoss', () => new L.HuberLoss({ rho: 0.7 }), (n) => [normal([n, C]), normal([n, C])]],
  ['HingeLoss', () => new L.HingeLoss(), (n) => [normal([n, C]), signs([n, C])]],
  ['SquaredHingeLoss', () => new L.SquaredHingeLoss({ margin: 2 }), (n) => [normal([n, C]), signs([n, C])]],
  ['LogisticLoss (binary)', () => new L.LogisticLoss({ labelFormat: 'binary' }), (n) => [normal([n, C]), bits([n, C])]],
  ['TripletLoss', () => new L.TripletLoss({ margin: 1 }), (n) => [normal([n, C]), normal([n, C]), normal([n, C])]],
  ['PoissonNLLLoss (rates, computeFull)', () => new L.PoissonNLLLoss({ fromLogits: false, computeFull: true }), (n) => [uniform(0.1, 3, [n, C]), counts([n, C])]],
  ['CosineEmbeddingLoss', () => new L.CosineEmbeddingLoss({ margin: 0.1 }), (n) => [normal([n, C]), normal([n, C]), signs([n])]],
];

describe('exportOnnx: the losses', () => {
  LOSSES.forEach(([name, make, inputs], k) => {
    it(name, async () => {
      nd.random.seed(100 + k);
      await expectOnnxMatches(name, make(), inputs);
    });
  });
});

/** Every op with an ONNX form that a forward can reach, int32 values and batch-sized attributes included. */
class EveryOp extends gluon.HybridBlock<[Tensor, Tensor], Tensor[]> {
  override hybridForward(F: F, x: Tensor, y: Tensor): Tensor[] {
    const n = x.shape[0];
    const arith = F.add(F.mul(x, 2), F.div(y, F.add(F.abs(y), 1)));
    const powers = F.sub(F.pow(F.abs(x), 1.5), F.neg(F.sqrt(F.add(F.square(y), 1))));
    const extremes = F.maximum(F.exp(F.clip(x, -3, 3)), F.minimum(F.log(F.add(F.abs(y), 0.5)), F.pow(y, 3)));
    const compared = F.add(F.add(F.greater(x, y), F.lesserEqual(x, 0)), F.add(F.add(F.greaterEqual(y, 0.5), F.lesser(y, -0.5)),
      F.add(F.equal(F.sign(x), 1), F.notEqual(F.sign(y), 1))));
    const chosen = F.where(F.greater(x, 0), F.sigmoid(x), F.tanh(F.mul(y, 0.1)));
    const masked = F.add(F.inRange(x, -0.5, 0.5), F.isNonFinite(x));
    const ints = F.astype(F.clip(F.add(F.astype(F.mul(x, 3), 'int32'), F.astype(F.abs(F.mul(y, 2)), 'int32')), -Infinity, 2), 'float32');
    const wide = F.concat([arith, powers, extremes, compared, chosen, masked, ints, F.relu(y)], 1); // (n, 32)
    const windowed = F.slice(wide, [null, 2], [null, -3]); // (n, 27)
    const cube = F.reshape(F.transpose(F.expandDims(arith, 2), [0, 2, 1]), [-1, 2, 2]); // (n, 2, 2)
    const gram = F.flatten(F.dot(cube, cube, { transposeB: true })); // (n, 4)
    const doubled = F.reshape(wide, [2 * n, -1]); // the batch size inside a shape
    const halves = F.reshape(F.sum(doubled, 1), [n, 2]);
    const stats = F.concat([
      F.mean(powers, 1, true), F.max(extremes, 1, true), F.min(extremes, 1, true), F.sum(F.softmax(chosen), 1, true),
      F.argmax(extremes, 1, true), F.argmin(extremes, { axis: 1, keepdims: true }), F.pick(extremes, F.argmax(chosen, 1), { axis: 1, keepdims: true }),
      F.reshape(F.squeeze(F.expandDims(F.sum(cube, [1, 2]), 1), 1), [-1, 1]),
    ], 1); // (n, 8)
    const spread = F.broadcastTo(F.mean(powers, 1, true), [n, 3]);
    const padded = F.slicePad(F.slice(x, [0, 1], [n, 4]), [0, 1], [n, 6]);
    const hot = F.oneHot(F.argmin(extremes, 1), 6);
    const out = F.concat([windowed, gram, halves, stats, spread, padded, hot, F.logSoftmax(powers)], 1);
    return [out, F.sum(F.log1p(F.abs(extremes))), F.concat([x, y], 0)];
  }
}

describe('exportOnnx: every op with an ONNX form', () => {
  it('one block using all of them; three outputs: (N, 60), a scalar, (2N, 4)', async () => {
    nd.random.seed(300);
    const session = await expectOnnxMatches('EveryOp (elementwise, comparisons, reductions, layout, dot)', new EveryOp(), (n) => [normal([n, 4]), normal([n, 4])]);
    expect(session.outputMetadata.map((m) => (m.isTensor ? m.shape : null))).toEqual([['N', 60], [], [expect.anything(), 4]]);
  });

  it('EveryOp and the layers above reach every op that has an ONNX form (identity never survives simplification)', () => {
    const layers = initialized(new nn.HybridSequential().add(new nn.Conv2D(2, 3, { inChannels: 1 }), new nn.MaxPool2D(), new nn.AvgPool2D()), 301);
    const reached = new Set([
      ...exportGraph(new EveryOp() as AnyHybridBlock as HybridBlock, [{ shape: [3, 4], dtype: 'float32' }, { shape: [3, 4], dtype: 'float32' }]).graph.nodes,
      ...exportGraph(layers, [{ shape: [3, 1, 8, 8], dtype: 'float32' }]).graph.nodes,
    ].map((n) => n.op));
    const mapped = allOps().filter((op) => op.onnx).map((op) => op.name).filter((name) => name !== 'identity');
    expect(mapped.filter((name) => !reached.has(name))).toEqual([]);
    // What has none: the random sources, and backward ops, which no predict-mode graph contains.
    // Composites never reach the IR (they are traced as their parts).
    expect(allOps().filter((op) => !op.onnx && op.kind !== 'composite').map((op) => op.name).sort())
      .toEqual(['conv2dBackwardData', 'conv2dBackwardWeight', 'pool2dBackward', 'randomNormal', 'randomUniform']);
  });
});

class Noisy extends gluon.HybridBlock {
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.add(x, F.randomUniform({ shape: [...x.shape], seed: 3 }));
  }
}

class FourRows extends gluon.HybridBlock {
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.reshape(x, [4, -1]);
  }
}

class PerBatchMean extends gluon.HybridBlock {
  override hybridForward(F: F, x: Tensor): Tensor {
    return F.add(x, F.div(F.sum(x, 0), x.shape[0]));
  }
}

describe('exportOnnx: what it refuses, and fixed shapes', () => {
  it('an op without an ONNX form is refused, naming the op and the Block path', async () => {
    const net = initialized(new nn.HybridSequential().add(new nn.Dense(3, { inUnits: 4 }), new Noisy()), 400);
    net.forward(normal([2, 4]));
    const attempt = exportOnnx(net, join(dir, 'noisy'));
    await expect(attempt).rejects.toThrow(GraphError);
    await expect(attempt).rejects.toThrow(/`randomUniform` \(made by HybridSequential → noisy\d+\(Noisy\)\) has no ONNX form, so HybridSequential cannot be exported to ONNX/);
  });

  it('a constant computed from the batch size cannot follow N: refused, then exported with {dynamicBatch: false}', async () => {
    const block = new PerBatchMean();
    await expect(exportOnnx(block, join(dir, 'per-batch'), { inputs: [{ shape: [4, 3], dtype: 'float32' }] }))
      .rejects.toThrow(/graph at batch size 11 differs from the one at 7 .*\{dynamicBatch: false\}/);
    nd.random.seed(401);
    const session = await expectOnnxMatches('PerBatchMean (fixed batch 4)', block, (n) => [normal([n, 3])], { dynamicBatch: false }, [4]);
    expect(session.inputMetadata[0]).toMatchObject({ shape: [4, 3] });
    await expect(session.run({ data: new ort.Tensor('float32', new Float32Array(15), [5, 3]) })).rejects.toThrow();
  });

  it('a forward that only works at one batch size is refused with a dynamic batch, naming the batch size it fails at', async () => {
    await expect(exportOnnx(new FourRows(), join(dir, 'four-rows'), { inputs: [{ shape: [4, 6], dtype: 'float32' }] }))
      .rejects.toThrow(/FourRows to ONNX with a dynamic batch: its forward fails at batch size 7 \(cannot reshape 42 elements to \(4, -1\)[\s\S]*\{dynamicBatch: false\}/);
  });
});

describe('the protobuf writer', () => {
  it('writes INT (negative), INTS, FLOAT and STRING attributes and int64 initializers that ONNX Runtime reads back', async () => {
    // y = concat(pad(transpose(leakyRelu(x, 0.5)), reflect), itself, axis -1) for x (2, 3)
    const node = (opType: string, inputs: string[], output: string, attrs = {}) => ({ opType, inputs, outputs: [output], name: output, attrs });
    const bytes = encodeModel({
      irVersion: 8, opsetVersion: 18, producerName: 'test', producerVersion: '0',
      graph: {
        name: 'g',
        nodes: [
          node('LeakyRelu', ['x'], 'a', { alpha: { float: 0.5 } }),
          node('Transpose', ['a'], 'b', { perm: [1, 0] }),
          node('Pad', ['b', 'pads'], 'c', { mode: 'reflect' }),
          node('Concat', ['c', 'c'], 'y', { axis: -1 }),
        ],
        initializers: [{ name: 'pads', dtype: 'int64', dims: [4], raw: rawData([0, 1, 0, 0], 'int64') }],
        inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3] }],
        outputs: [{ name: 'y', dtype: 'float32', dims: [3, null] }],
      },
    });
    const session = await ort.InferenceSession.create(bytes);
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2, 3, -4, 5, -6]), [2, 3]) });
    // leakyRelu: [[1, -1, 3], [-2, 5, -3]]; transposed: [[1, -2], [-1, 5], [3, -3]]; reflect-padded on the left: [[-2, 1, -2], ...]
    expect(y.dims).toEqual([3, 6]);
    expect(Array.from(y.data as Float32Array)).toEqual([-2, 1, -2, -2, 1, -2, 5, -1, 5, 5, -1, 5, -3, 3, -3, -3, 3, -3]);
  });
});

/** Reads the few top-level fields the tests check from the protobuf bytes (field numbers of onnx.proto). */
function readModel(bytes: Uint8Array): { opset: number; producer: string; ops: string[]; initializers: string[] } {
  const fields = (b: Uint8Array) => {
    const out: [number, number | Uint8Array][] = [];
    let at = 0;
    const varint = () => {
      let v = 0;
      let scale = 1;
      for (;;) {
        const byte = b[at++];
        v += (byte & 0x7f) * scale;
        scale *= 128;
        if (byte < 0x80) return v;
      }
    };
    while (at < b.length) {
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) out.push([tag >>> 3, varint()]);
      else if (wire === 2) {
        const len = varint();
        out.push([tag >>> 3, b.subarray(at, at + len)]);
        at += len;
      } else if (wire === 5) at += 4;
      else throw new Error(`wire type ${wire}`);
    }
    return out;
  };
  const text = (v: number | Uint8Array) => new TextDecoder().decode(v as Uint8Array);
  const top = fields(bytes);
  const graph = fields(top.find(([f]) => f === 7)![1] as Uint8Array);
  const opset = fields(top.find(([f]) => f === 8)![1] as Uint8Array).find(([f]) => f === 2)![1] as number;
  return {
    opset,
    producer: text(top.find(([f]) => f === 2)![1]),
    ops: graph.filter(([f]) => f === 1).map(([, v]) => text(fields(v as Uint8Array).find(([f]) => f === 4)![1])),
    initializers: graph.filter(([f]) => f === 5).map(([, v]) => text(fields(v as Uint8Array).find(([f]) => f === 8)![1])),
  };
}
