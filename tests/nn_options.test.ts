// Options of Blocks, Parameters, losses and initializers: a key we do not know is refused with an
// ArgumentError naming it and the option meant (MXNet's snake_case spelling gets the camelCase
// name, never a silent alias), instead of being ignored.
import { describe, expect, it } from 'vitest';
import { ArgumentError, gluon, init } from '../src/index.js';

const L = gluon.loss;
/** An options object as a user might mistype it (the compiler would refuse it; JavaScript would not). */
const o = (v: unknown) => v as never;

const CASES: [string, () => unknown, string, string][] = [
  // what, the call, the key given, the option meant
  ['Block prefix', () => new gluon.nn.Sequential(o({ prefx: 'body_' })), 'prefx', 'prefix'],
  ['Dense', () => new gluon.nn.Dense(2, o({ use_bias: false })), 'use_bias', 'useBias'],
  ['Conv2D', () => new gluon.nn.Conv2D(2, 3, o({ in_channels: 1 })), 'in_channels', 'inChannels'],
  ['MaxPool2D', () => new gluon.nn.MaxPool2D(o({ pool_size: 2 })), 'pool_size', 'poolSize'],
  ['BatchNorm', () => new gluon.nn.BatchNorm(o({ momentun: 0.9 })), 'momentun', 'momentum'],
  ['hybridize', () => new gluon.nn.Dense(2).hybridize(o({ static_alloc: true })), 'static_alloc', 'staticAlloc'],
  ['hybridize (second argument)', () => new gluon.nn.HybridSequential().hybridize(true, o({ staticShap: true })), 'staticShap', 'staticShape'],
  ['initialize', () => new gluon.nn.Dense(2).initialize(null, o({ force_reinit: true })), 'force_reinit', 'forceReinit'],
  ['ParameterDict.initialize', () => new gluon.nn.Dense(2).collectParams().initialize(null, o({ forceReInit: true })), 'forceReInit', 'forceReinit'],
  ['Parameter', () => new gluon.Parameter('w', o({ grad_req: 'null' })), 'grad_req', 'gradReq'],
  ['Parameter lrMult', () => new gluon.Parameter('w', o({ lr_mult: 0.1 })), 'lr_mult', 'lrMult'],
  ['SoftmaxCrossEntropyLoss sparseLabel', () => new L.SoftmaxCrossEntropyLoss(o({ sparse_label: false })), 'sparse_label', 'sparseLabel'],
  ['SoftmaxCrossEntropyLoss fromLogits', () => new L.SoftmaxCrossEntropyLoss(o({ from_logits: true })), 'from_logits', 'fromLogits'],
  ['SoftmaxCrossEntropyLoss axis', () => new L.SoftmaxCrossEntropyLoss(o({ axes: 1 })), 'axes', 'axis'],
  ['SoftmaxCrossEntropyLoss batchAxis', () => new L.SoftmaxCrossEntropyLoss(o({ batch_axis: 0 })), 'batch_axis', 'batchAxis'],
  ['SoftmaxCrossEntropyLoss weight', () => new L.SoftmaxCrossEntropyLoss(o({ weights: 2 })), 'weights', 'weight'],
  ['SigmoidBinaryCrossEntropyLoss', () => new L.SigmoidBinaryCrossEntropyLoss(o({ from_sigmoid: true })), 'from_sigmoid', 'fromSigmoid'],
  ['KLDivLoss', () => new L.KLDivLoss(o({ fromLogit: false })), 'fromLogit', 'fromLogits'],
  ['HuberLoss', () => new L.HuberLoss(o({ rh: 2 })), 'rh', 'rho'],
  ['HingeLoss', () => new L.HingeLoss(o({ margn: 2 })), 'margn', 'margin'],
  ['SquaredHingeLoss', () => new L.SquaredHingeLoss(o({ Margin: 2 })), 'Margin', 'margin'],
  ['LogisticLoss', () => new L.LogisticLoss(o({ label_format: 'binary' })), 'label_format', 'labelFormat'],
  ['TripletLoss', () => new L.TripletLoss(o({ margine: 1 })), 'margine', 'margin'],
  ['PoissonNLLLoss', () => new L.PoissonNLLLoss(o({ compute_full: true })), 'compute_full', 'computeFull'],
  ['CosineEmbeddingLoss', () => new L.CosineEmbeddingLoss(o({ batchaxis: 0 })), 'batchaxis', 'batchAxis'],
  ['init.Xavier rndType', () => new init.Xavier(o({ rnd_type: 'gaussian' })), 'rnd_type', 'rndType'],
  ['init.Xavier factorType', () => new init.Xavier(o({ factor_type: 'in' })), 'factor_type', 'factorType'],
  ['init.Xavier magnitude', () => new init.Xavier(o({ magnitute: 2 })), 'magnitute', 'magnitude'],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('an unknown option is refused, naming it and the option meant', () => {
  for (const [what, call, given, meant] of CASES) {
    it(what, () => {
      expect(call).toThrow(ArgumentError);
      expect(call).toThrow(new RegExp(`no option \`${escape(given)}\` \\(did you mean \`${meant}\`\\?\\)`));
    });
  }

  it('export() and loadParameters() check theirs before touching any file', async () => {
    const net = new gluon.nn.Dense(2);
    await expect(net.export('/nonexistent/net', o({ epochs: 1 }))).rejects.toThrow(/no option `epochs` \(did you mean `epoch`\?\)/);
    await expect(net.loadParameters('/nonexistent/net.safetensors', o({ allow_missing: true })))
      .rejects.toThrow(/no option `allow_missing` \(did you mean `allowMissing`\?\)/);
  });
});

describe('values of the wrong kind are refused with the name meant', () => {
  it('activation and initializer names', () => {
    expect(() => new gluon.nn.Activation(o('Relu'))).toThrow(/unknown activation "Relu" \(did you mean 'relu'\?\)/);
    expect(() => new gluon.nn.Dense(2, { activation: o('sigmod') })).toThrow(/Dense: unknown activation "sigmod" \(did you mean 'sigmoid'\?\)/);
    expect(() => new gluon.nn.Dense(2).initialize(o('Xavier'))).toThrow(/unknown initializer "Xavier" \(did you mean 'xavier'\?\)/);
    // MXNet's initialize(force_reinit=True) as the first argument
    expect(() => new gluon.nn.Dense(2).initialize(o({ forceReinit: true }))).toThrow(/options come second/);
  });

  it('numbers, flags and option objects', () => {
    expect(() => new L.L2Loss(o({ weight: 2 }))).toThrow(/L2Loss weight must be a finite number/);
    expect(() => new L.L1Loss(null, 0.5)).toThrow(/L1Loss batchAxis must be an integer/);
    expect(() => new L.SoftmaxCrossEntropyLoss(o({ sparseLabel: 'no' }))).toThrow(/`sparseLabel` must be true or false/);
    expect(() => new L.HuberLoss({ rho: 0 })).toThrow(/HuberLoss rho must be a finite number > 0/);
    expect(() => new init.Xavier({ magnitude: -1 })).toThrow(/init.Xavier magnitude must be a finite number > 0/);
    expect(() => new init.Normal(Number.NaN)).toThrow(/init.Normal sigma must be a finite number/);
    expect(() => new gluon.Parameter('w', o({ gradReq: 'always' }))).toThrow(/gradReq must be 'write', 'add' or 'null'/);
    expect(() => new gluon.Parameter('w', { lrMult: -1 })).toThrow(/lrMult must be a finite number ≥ 0/);
    expect(() => new gluon.nn.Dense(2).hybridize(o('yes'))).toThrow(/hybridize takes true\/false or options/);
    expect(() => new gluon.nn.Dense(2).hybridize(o({ staticAlloc: 1 }))).toThrow(/`staticAlloc` must be true or false/);
  });

  it('correct options still work, and MXNet defaults stay', () => {
    const sce = new L.SoftmaxCrossEntropyLoss({ axis: -1, sparseLabel: true, fromLogits: false, weight: null, batchAxis: 0 });
    expect([sce.axis, sce.sparseLabel, sce.fromLogits, sce.weight, sce.batchAxis]).toEqual([-1, true, false, null, 0]);
    expect(new L.L2Loss().weight).toBe(1);
    const x = new init.Xavier({ rndType: 'gaussian', factorType: 'in', magnitude: 2 });
    expect([x.rndType, x.factorType, x.magnitude]).toEqual(['gaussian', 'in', 2]);
    const net = new gluon.nn.Dense(2, { inUnits: 3 });
    net.hybridize({ staticAlloc: true, staticShape: true });
    expect(net.isHybridized).toBe(true);
    net.hybridize(false);
    expect(net.isHybridized).toBe(false);
  });
});

describe('data options', () => {
  it('DataLoader and ImageFolderDataset refuse misspelt options', async () => {
    const { gluon: g } = await import('../src/index.js');
    const ds = new g.data.ArrayDataset([1, 2, 3]);
    expect(() => new g.data.DataLoader(ds, { batchSize: 2, batch_size: 2 } as never)).toThrow(/DataLoader has no option `batch_size` \(did you mean `batchSize`\?\)/);
    expect(() => new g.data.vision.ImageFolderDataset('.', { maxPixel: 10 } as never)).toThrow(/did you mean `maxPixels`/);
  });
});
