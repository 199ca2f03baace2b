// The `gluon` namespace of the browser entry (browser.ts): gluon.ts with gluon.data replaced by its
// browser-safe part (data/browser.ts: no image files, PNG codecs or decode workers).
export { Block, HybridBlock, Parameter, ParameterDict, SymbolBlock, Trainer } from './nn/index.js';
export type {
  AnyBlock, AnyHybridBlock, BlockOptions, HybridizeOptions, LoadParametersOptions, ExportOptions, InputSpec,
  InitializeOptions, ParameterOptions, SymbolBlockOptions, ImportsOptions, TrainerOptions, F,
} from './nn/index.js';
export * as nn from './nn/layers/index.js';
export * as loss from './nn/loss.js';
export * as optimizer from './nn/optimizers.js';
export * as lrScheduler from './nn/lr_scheduler.js';
export * as data from './data/browser.js';
