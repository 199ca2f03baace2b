// block.export(path) → `path-symbol.json` + `path.safetensors`, and gluon.SymbolBlock.imports()
// running the graph without the original class: eagerly (the JSON interpreted op by op through nd),
// hybridized (the graph compiled), and on the CPU reference. Also the graph ↔ JSON round trip
// and the errors for bad files and wrong input shapes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContrastiveLoss, Siamese } from '../examples/siamese/model.js';
import { HostTensor, host } from '../src/cpu/host_namespace.js';
import { printGraph } from '../src/graph/ir.js';
import { graphFromJSON, graphToJSON } from '../src/graph/serialize.js';
import { trace, type TraceFn } from '../src/graph/trace.js';
import { autograd, gluon, init, nd, type F, type Tensor } from '../src/index.js';
import { decodeSafetensors, readParameterMetadata } from '../src/nn/serialization.js';
import { expectClose } from './op_harness.js';

const dir = mkdtempSync(join(tmpdir(), 'webgluon-export-'));
// Outputs: rtol 1e-5 / atol 1e-6 (the same kernels run; only fusion may reorder float math).
const RTOL = 1e-5;
const ATOL = 1e-6;

function tower(): InstanceType<typeof gluon.nn.HybridSequential> {
  return new gluon.nn.HybridSequential().add(
    new gluon.nn.Conv2D(64, 5, { activation: 'relu' }),
    new gluon.nn.MaxPool2D({ poolSize: 2 }),
    new gluon.nn.Conv2D(64, 5, { activation: 'relu' }),
    new gluon.nn.MaxPool2D({ poolSize: 2 }),
    new gluon.nn.Dense(256, { activation: 'relu' }),
    new gluon.nn.Dense(2, { activation: 'softrelu' }),
  );
}

const data = async (t: Tensor | Tensor[] | unknown) => Array.from(await (t as Tensor).data());

describe('export → SymbolBlock.imports', () => {
  it('the Siamese tower on 1x28x28: files, names, and the same outputs eager, hybridized and on the CPU', async () => {
    nd.random.seed(11);
    const net = tower();
    net.initialize(new init.Xavier());
    const x = nd.random.uniform(0, 1, [2, 1, 28, 28]);
    const want = await data(net.forward(x));
    const { symbolFile, paramsFile } = await net.export(join(dir, 'tower'));
    expect(symbolFile).toBe(join(dir, 'tower-symbol.json'));
    expect(paramsFile).toBe(join(dir, 'tower.safetensors'));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const json = JSON.parse(readFileSync(symbolFile, 'utf8'));
    expect(json.format).toBe('webgluon-graph');
    const nodeNames = (op: string) => json.nodes.filter((n: { op: string }) => n.op === op).map((n: { name: string }) => n.name);
    expect(nodeNames('input')).toEqual(['data']);
    expect(nodeNames('param')).toEqual([...net.collectParams().keys()]);
    expect(json.nodes.find((n: { name?: string }) => n.name === 'data').shape).toEqual([2, 1, 28, 28]);
    const ops = new Set(json.nodes.map((n: { op: string }) => n.op));
    expect(ops.has('conv2d') || ops.has('convolution')).toBe(true);
    expect([...decodeSafetensors(new Uint8Array(readFileSync(paramsFile))).keys()]).toEqual([...net.collectParams().keys()]);
    expect(await readParameterMetadata(paramsFile)).toMatchObject({
      format: 'webgluon-params/1', model: 'HybridSequential', inputShapes: '[[2,1,28,28]]', inputNames: '["data"]',
    });

    const imported = await gluon.SymbolBlock.imports(symbolFile, ['data'], paramsFile);
    expect([...imported.collectParams().keys()]).toEqual([...net.collectParams().keys()]);
    expectClose(await data(imported.forward(x)), want, RTOL, ATOL, 'imported eager');
    imported.hybridize();
    expectClose(await data(imported.forward(x)), want, RTOL, ATOL, 'imported hybridized');

    // The same graph runs on the CPU reference (F = the host namespace), parameters as inputs.
    const traced = imported.tracedFunction();
    const h = async (t: Tensor) => new HostTensor(await t.data(), t.shape, 'float32');
    const onCpu = traced.fn(host as unknown as F, await h(x), ...(await Promise.all(traced.params.map(([, p]) => h(p.data()))))) as unknown as HostTensor;
    expectClose(onCpu.data, want, 1e-4, 1e-5, 'imported on the CPU reference');
  });

  it('a small MLP: outputs and gradients of the imported model equal the original, hybridized too', async () => {
    nd.random.seed(12);
    const mlp = new gluon.nn.HybridSequential().add(new gluon.nn.Dense(8, { activation: 'tanh' }), new gluon.nn.Dense(3));
    mlp.initialize(new init.Xavier());
    mlp.hybridize();
    const x = nd.random.normal(0, 1, [4, 5]);
    const want = await data(mlp.forward(x));
    await mlp.export(join(dir, 'mlp'), 3);
    expect(existsSync(join(dir, 'mlp-0003.safetensors'))).toBe(true);
    expect((await readParameterMetadata(join(dir, 'mlp-0003.safetensors'))).epoch).toBe('3');
    const imported = await gluon.SymbolBlock.imports(join(dir, 'mlp-symbol.json'), 'data', join(dir, 'mlp-0003.safetensors'));
    expect(String(imported)).toMatch(/SymbolBlock\(data -> 1 output/);
    const grads = async (b: InstanceType<typeof gluon.HybridBlock>) => {
      const out = autograd.record(() => nd.sum(nd.square(b.forward(x) as Tensor)));
      out.backward();
      return Promise.all([...b.collectParams().values()].map(async (p) => Array.from(await p.grad().data())));
    };
    const wantGrads = await grads(mlp);
    for (const mode of ['eager', 'hybridized']) {
      if (mode === 'hybridized') imported.hybridize();
      expectClose(await data(imported.forward(x)), want, RTOL, ATOL, `${mode} output`);
      (await grads(imported)).forEach((g, i) => expectClose(g, wantGrads[i], 1e-4, 1e-5, `${mode} grad ${i}`));
    }
    // An imported model trains like any block.
    const trainer = new gluon.Trainer(imported.collectParams(), 'sgd', { learningRate: 0.1 });
    const before = await data(imported.forward(x));
    autograd.record(() => nd.sum(nd.square(imported.forward(x) as Tensor))).backward();
    trainer.step(4);
    expect(await data(imported.forward(x))).not.toEqual(before);
  });

  it('two inputs and two outputs (the tutorial Siamese): data0/data1, a list back, same distances', async () => {
    nd.random.seed(13);
    const net = new Siamese();
    net.initialize(new init.Xavier());
    const a = nd.random.uniform(0, 1, [2, 1, 28, 28]);
    const b = nd.random.uniform(0, 1, [2, 1, 28, 28]);
    const [o1, o2] = net.forward(a, b) as [Tensor, Tensor];
    const { symbolFile, paramsFile } = await net.export(join(dir, 'siamese'));
    const imported = await gluon.SymbolBlock.imports(symbolFile, ['data0', 'data1'], paramsFile);
    const [i1, i2] = imported.forward(a, b) as [Tensor, Tensor];
    expectClose(await data(i1), await data(o1), RTOL, ATOL, 'tower 1');
    expectClose(await data(i2), await data(o2), RTOL, ATOL, 'tower 2');
    const loss = new ContrastiveLoss();
    const y = nd.array([0, 1], { shape: [2, 1] });
    expectClose(await data(loss.forward(i1, i2, y)), await data(loss.forward(o1, o2, y)), RTOL, ATOL, 'contrastive loss');
  });

  it('Dropout and BatchNorm export in predict mode', async () => {
    nd.random.seed(14);
    const net = new gluon.nn.HybridSequential().add(new gluon.nn.Dense(6), new gluon.nn.BatchNorm(), new gluon.nn.Dropout(0.5), new gluon.nn.Dense(2));
    net.initialize(new init.Xavier());
    const x = nd.random.normal(0, 1, [3, 4]);
    autograd.record(() => net.forward(x)); // moves BatchNorm's running statistics
    const want = await data(net.forward(x));
    const { symbolFile, paramsFile } = await net.export(join(dir, 'bn'));
    const json = JSON.parse(readFileSync(symbolFile, 'utf8'));
    expect(json.nodes.some((n: { op: string }) => n.op.startsWith('random'))).toBe(false);
    expect(json.nodes.filter((n: { op: string }) => n.op === 'param').map((n: { name: string }) => n.name))
      .toEqual(expect.arrayContaining(['1.runningMean', '1.runningVar']));
    const imported = await gluon.SymbolBlock.imports(symbolFile, 'data', paramsFile);
    expectClose(await data(imported.forward(x)), want, RTOL, ATOL, 'predict-mode output');
  });

  it('errors: no forward before export, a wrong input shape, bad names, truncated or foreign files', async () => {
    const fresh = new gluon.nn.Dense(2, { inUnits: 3 });
    fresh.initialize();
    await expect(fresh.export(join(dir, 'never'))).rejects.toThrow(/run forward\(\) once first/);
    const deferred = new gluon.nn.Dense(2);
    deferred.initialize();
    await expect(deferred.export(join(dir, 'deferred'), { inputs: [{ shape: [1, 3], dtype: 'float32' }] })).rejects.toThrow(/not initialized/);
    // explicit input shapes work without a forward call
    const { symbolFile, paramsFile } = await fresh.export(join(dir, 'dense'), { inputs: [{ shape: [4, 3], dtype: 'float32' }] });
    const imported = await gluon.SymbolBlock.imports(symbolFile, ['data'], paramsFile);
    expect(() => imported.forward(nd.ones([5, 3]))).toThrow(/exported as float32\(4, 3\) but got float32\(5, 3\)/);
    await expect(gluon.SymbolBlock.imports(symbolFile, ['x'], paramsFile)).rejects.toThrow(/no input 'x' \(its inputs: 'data', 'weight', 'bias'\)/);
    await expect(gluon.SymbolBlock.imports(symbolFile, ['data'], join(dir, 'tower.safetensors'))).rejects.toThrow(/not in the file/);
    const text = readFileSync(symbolFile, 'utf8');
    writeFileSync(join(dir, 'cut-symbol.json'), text.slice(0, text.length >> 1));
    await expect(gluon.SymbolBlock.imports(join(dir, 'cut-symbol.json'), 'data')).rejects.toThrow(/not valid JSON.*truncated/);
    const j = JSON.parse(text);
    const fc = j.nodes.findIndex((n: { op: string }) => n.op !== 'input' && n.op !== 'param' && n.op !== 'constant');
    j.nodes[fc].op = 'noSuchOp';
    writeFileSync(join(dir, 'bad-symbol.json'), JSON.stringify(j));
    await expect(gluon.SymbolBlock.imports(join(dir, 'bad-symbol.json'), 'data')).rejects.toThrow(new RegExp(`node ${fc} \\(noSuchOp\\): unknown op`));
    const k = JSON.parse(text);
    k.nodes[fc].shape = [9, 9];
    expect(() => graphFromJSON(k)).toThrow(/registry infers shape .* the file says \(9, 9\)/);
    expect(() => graphFromJSON({ format: 'mxnet' })).toThrow(/"format"/);
  });
});

describe('graph ↔ JSON', () => {
  it('round-trips ops, attributes, shapes, paths and non-finite numbers', () => {
    const fn = ((F: F, x: Tensor, y: Tensor) => {
      const a = F.clip(F.mul(x, -0), -Infinity, 3);
      const s = F.sum(F.add(F.transpose(a, [1, 0]), 0.5), 1, true);
      return [F.concat([s, F.slice(y, [0, 0], [3, 1])], 1), F.maximum(x, NaN)];
    }) as unknown as TraceFn;
    const g = trace(fn, [{ shape: [2, 3], dtype: 'float32', name: 'x' }, { shape: [3, 4], dtype: 'float32', name: 'y' }]);
    const json = graphToJSON(g, { params: 1 });
    const text = JSON.stringify(json);
    expect(text).toContain('{"$f":"-Infinity"}');
    expect(text).toContain('{"$f":"NaN"}');
    const back = graphFromJSON(text);
    const norm = (s: string) => s.replace(/%\d+/g, '%').split('\n').filter((l) => !l.includes("= param 'y'")).join('\n');
    // y was written as a param
    expect(back.inputs.map((n) => `${n.op} ${n.name}`)).toEqual(['input x', 'param y']);
    expect(norm(printGraph(back))).toEqual(norm(printGraph(g)));
    expect(Object.is(back.nodes.find((n) => n.op === 'mul')!.inputs[1].value, -0)).toBe(true);
    expect(JSON.stringify(graphToJSON(back, { params: 1 }))).toEqual(text);
    expect(back.nodes.find((n) => n.op === 'clip')!.attrs).toEqual(g.nodes.find((n) => n.op === 'clip')!.attrs);
  });
});
