// The `gluon` namespace (MXNet's mxnet.gluon) as an ES module, so that every member is a type as
// well as a value: `new gluon.nn.Dense(2)`, `let d: gluon.nn.Dense`, `extends gluon.HybridBlock<[Tensor], Tensor>`.
export { Block, HybridBlock, Parameter, ParameterDict, SymbolBlock, Trainer } from './nn/index.js';
export type {
  AnyBlock, AnyHybridBlock, BlockOptions, HybridizeOptions, LoadParametersOptions, ExportOptions, InputSpec,
  InitializeOptions, ParameterOptions, SymbolBlockOptions, ImportsOptions, TrainerOptions, F,
} from './nn/index.js';
export * as nn from './nn/layers/index.js';
export * as loss from './nn/loss.js';
export * as optimizer from './nn/optimizers.js';
export * as lrScheduler from './nn/lr_scheduler.js';
export * as data from './data/index.js';
