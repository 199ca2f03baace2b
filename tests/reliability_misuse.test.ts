// Misuse refused at the call, with a typed error, instead of computing garbage later: disposed
// tensors, shapes and dtypes the GPU cannot take, hyper-parameters that would poison the weights.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, autograd, DisposedError, DTypeError, gluon, nd, ShapeError, type Tensor,
} from '../src/index.js';

describe('a disposed tensor', () => {
  it('used as an op input throws naming the op, eagerly and compiled', async () => {
    const x = nd.array([1, 2, 3]);
    x.dispose();
    expect(() => x.add(1)).toThrow(DisposedError);
    expect(() => x.add(1)).toThrow(/`add` got a float32 tensor of shape \(3,\) that was disposed/);
    expect(() => nd.reshape(x, [3, 1])).toThrow(/`reshape`/);
    expect(() => x.detach()).toThrow(DisposedError);
    await expect(x.data()).rejects.toThrow(/data\(\) got a float32 tensor of shape \(3,\) that was disposed/);
    const net = new gluon.nn.Dense(2, { inUnits: 3 });
    net.initialize();
    net.hybridize();
    const y = nd.ones([1, 3]);
    await (net.forward(y) as Tensor).data();
    y.dispose();
    expect(() => net.forward(y)).toThrow(DisposedError);
  });

  it('a parameter value held across trainer.step() throws, naming why; the current value works', async () => {
    const net = new gluon.nn.Dense(2, { inUnits: 3 });
    net.initialize();
    const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: 0.1 });
    const held = net.weight.data();
    const before = Array.from(await held.data());
    autograd.record(() => nd.sum(net.forward(nd.ones([4, 3])) as Tensor)).backward();
    trainer.step(4);
    expect(() => held.add(0)).toThrow(/`add` got a float32 tensor of shape \(2, 3\) that was disposed: the library replaced it with a newer value .*read param.data\(\) or param.grad\(\) again/);
    await expect(held.data()).rejects.toThrow(DisposedError);
    const now = Array.from(await net.weight.data().data());
    // SGD moved every weight by -lr·(sum over the batch of 1)/batch = -0.1.
    now.forEach((v, i) => expect(v).toBeCloseTo(before[i] - 0.1, 5));
  });
});

describe('shapes and dtypes refused at the call', () => {
  it('negative or fractional dimensions', () => {
    expect(() => nd.zeros([-2, 3])).toThrow(ShapeError);
    expect(() => nd.zeros([-2, 3])).toThrow(/dimension 0 of shape \[-2, 3\] is -2/);
    expect(() => nd.zeros([2.5])).toThrow(/dimension 0 of shape \[2.5\] is 2.5, not a non-negative integer/);
    expect(() => nd.array([1, 2, 3, 4, 5, 6], { shape: [-2, -3] })).toThrow(ShapeError);
    expect(() => nd.random.uniform(0, 1, [3, -1])).toThrow(ShapeError);
    expect(() => nd.oneHot(nd.array([0, 1], { dtype: 'int32' }), -1)).toThrow(/output shape \(2, -1\) has dimension 1 = -1, not a non-negative integer \(attributes depth=-1.*in `oneHot`/s);
    expect(() => nd.broadcastTo(nd.ones([1]), [4, -4])).toThrow(ShapeError);
  });

  it('the next op after a refused one still works (nothing reached the GPU)', async () => {
    expect(() => nd.zeros([-2, 3])).toThrow();
    expect(Array.from(await nd.ones([3]).add(1).data())).toEqual([2, 2, 2]);
  });

  it('dtypes webgluon does not compute in', () => {
    expect(() => nd.array([1, 2], { dtype: 'float64' as 'float32' })).toThrow(DTypeError);
    expect(() => nd.zeros([2], { dtype: 'float16' as 'float32' })).toThrow(/float16.*float32 and int32 only/);
    expect(() => nd.ones([2]).astype('float64' as 'float32')).toThrow(DTypeError);
  });

  it('options that do not exist', () => {
    expect(() => nd.array([1], { dtyp: 'int32' } as object)).toThrow(/nd.array has no option `dtyp` \(did you mean `dtype`\?\)/);
  });
});

describe('hyper-parameters that would poison the weights', () => {
  const params = () => {
    const net = new gluon.nn.Dense(2, { inUnits: 2 });
    net.initialize();
    return net.collectParams();
  };

  it('a learning rate of NaN, Infinity or below 0, and misspelt options', () => {
    expect(() => new gluon.Trainer(params(), 'adam', { learningRate: NaN })).toThrow(ArgumentError);
    expect(() => new gluon.Trainer(params(), 'adam', { learningRate: NaN })).toThrow(/Adam learningRate must be a finite number ≥ 0, got NaN/);
    expect(() => new gluon.Trainer(params(), 'sgd', { learningRate: -1 })).toThrow(ArgumentError);
    expect(() => new gluon.Trainer(params(), 'adam', { beta1: 1 })).toThrow(/beta1/);
    expect(() => new gluon.Trainer(params(), 'adam', { learning_rate: 0.1 } as object)).toThrow(/no option `learning_rate` \(did you mean `learningRate`\?\)/);
    expect(() => new gluon.Trainer(params(), 'sgd', { beta1: 0.9 } as object)).toThrow(/the SGD optimizer has no option `beta1`/);
    const t = new gluon.Trainer(params(), 'sgd');
    expect(() => t.setLearningRate(NaN)).toThrow(ArgumentError);
  });

  it('step(0) and step(NaN) are refused and leave the weights as they were', async () => {
    const net = new gluon.nn.Dense(2, { inUnits: 2 });
    net.initialize();
    const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { learningRate: 0.1 });
    autograd.record(() => nd.sum(net.forward(nd.ones([1, 2])) as Tensor)).backward();
    const before = Array.from(await net.weight.data().data());
    expect(() => trainer.step(0)).toThrow(/Trainer.step\(batchSize\) must be a finite number > 0, got 0/);
    expect(() => trainer.step(NaN)).toThrow(ArgumentError);
    expect(Array.from(await net.weight.data().data())).toEqual(before);
  });

  it('a scheduler that returns NaN stops the step', () => {
    const net = new gluon.nn.Dense(2, { inUnits: 2 });
    net.initialize();
    const trainer = new gluon.Trainer(net.collectParams(), 'sgd', { lrScheduler: () => NaN });
    expect(() => trainer.step(1)).toThrow(/the learning rate at update 1 must be a finite number/);
  });

  it('layers with sizes of 0, negative or fractional', () => {
    expect(() => new gluon.nn.MaxPool2D(0)).toThrow(/MaxPool2D poolSize must be a positive integer/);
    expect(() => new gluon.nn.MaxPool2D({ poolSize: [2, 0] })).toThrow(ArgumentError);
    expect(() => new gluon.nn.AvgPool2D(2, { strides: 0 })).toThrow(/AvgPool2D strides/);
    expect(new gluon.nn.MaxPool2D(3).poolSize).toEqual([3, 3]);
    expect(() => new gluon.nn.Conv2D(0, 3)).toThrow(/Conv2D channels/);
    expect(() => new gluon.nn.Conv2D(4, 0)).toThrow(/Conv2D kernelSize/);
    expect(() => new gluon.nn.Conv2D(4, 3, { padding: -1 })).toThrow(/Conv2D padding must be a non-negative integer/);
    expect(() => new gluon.nn.Conv2D(4, 3, { stride: 2 } as object)).toThrow(/did you mean `strides`/);
    expect(() => new gluon.nn.Dense(2.5)).toThrow(/Dense units must be a positive integer, got 2.5/);
    expect(() => new gluon.nn.Dropout(1)).toThrow(ArgumentError);
    expect(() => new gluon.nn.BatchNorm({ epsilon: 0 })).toThrow(/BatchNorm epsilon/);
  });
});
