// What both `gluon` namespaces share (gluon.ts for Node, browser_gluon.ts for browsers): all of
// mxnet.gluon but `data`, whose browser part leaves out image files, PNG codecs and decode workers.
export { Block, HybridBlock, Parameter, ParameterDict, SymbolBlock, Trainer } from './nn/index.js';
export type {
  AnyBlock, AnyHybridBlock, BlockOptions, HybridizeOptions, LoadParametersOptions, ExportOptions, InputSpec,
  InitializeOptions, ParameterOptions, SymbolBlockOptions, ImportsOptions, TrainerOptions, F,
} from './nn/index.js';
export * as nn from './nn/layers/index.js';
export * as loss from './nn/loss.js';
export * as optimizer from './nn/optimizers.js';
export * as lrScheduler from './nn/lr_scheduler.js';
