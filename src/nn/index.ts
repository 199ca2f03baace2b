// The `gluon` namespace (MXNet's mxnet.gluon) and `init` (mxnet.init).
import { Block } from './block.js';
import { HybridBlock } from './hybrid_block.js';
import { SymbolBlock } from './symbol_block.js';
import * as layers from './layers/index.js';
import * as lossModule from './loss.js';
import { Parameter, ParameterDict } from './parameter.js';
import { Trainer } from './trainer.js';
import * as optimizer from './optimizers.js';
import './hybridize.js';

export { Block, HybridBlock, Parameter, ParameterDict, SymbolBlock, Trainer };
export type { HybridizeOptions } from './block.js';
export type { F, TracedFunction, HybridCompiler } from './hybrid_block.js';
export { registerHybridCompiler, CallInput, callInput, auxUpdate, withAuxUpdates } from './hybrid_block.js';
export type { AuxUpdate } from './hybrid_block.js';
export type { ExportOptions, InputSpec } from './hybrid_block.js';
export type { SymbolBlockOptions, ImportsOptions } from './symbol_block.js';
export { exportGraph, defaultInputNames } from './export.js';
export { graphToJSON, graphFromJSON, formatGraphJSON } from '../graph/serialize.js';
export type { GraphJSON, NodeJSON } from '../graph/serialize.js';
export { withParamValues } from './parameter.js';
export * as init from './init.js';
import { CosineScheduler, FactorScheduler, LRScheduler } from './lr_scheduler.js';

const { Loss, L1Loss, L2Loss, SigmoidBinaryCrossEntropyLoss, SigmoidBCELoss, SoftmaxCrossEntropyLoss, SoftmaxCELoss,
  KLDivLoss, HuberLoss, HingeLoss, SquaredHingeLoss, LogisticLoss, TripletLoss, PoissonNLLLoss, CosineEmbeddingLoss } = lossModule;

export const loss = {
  Loss, L1Loss, L2Loss, SigmoidBinaryCrossEntropyLoss, SigmoidBCELoss, SoftmaxCrossEntropyLoss, SoftmaxCELoss,
  KLDivLoss, HuberLoss, HingeLoss, SquaredHingeLoss, LogisticLoss, TripletLoss, PoissonNLLLoss, CosineEmbeddingLoss,
};
export const nn = { ...layers };

/** Learning-rate schedules, as mx.lr_scheduler. */
export const lrScheduler = { LRScheduler, FactorScheduler, CosineScheduler };

export const gluon = { Block, HybridBlock, Parameter, ParameterDict, SymbolBlock, Trainer, nn, loss, optimizer, lrScheduler };
