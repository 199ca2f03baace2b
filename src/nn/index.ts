// The nn layer's exports: what src/gluon.ts makes the `gluon` namespace (MXNet's mxnet.gluon),
// `init` (mxnet.init), and the pieces the compiler glue and export use.
import './hybridize.js';

export { Block } from './block.js';
export { HybridBlock } from './hybrid_block.js';
export { SymbolBlock } from './symbol_block.js';
export { Parameter, ParameterDict } from './parameter.js';
export { Trainer } from './trainer.js';
export type { AnyBlock, BlockOptions, HybridizeOptions, LoadParametersOptions } from './block.js';
export type { AnyHybridBlock, F, TracedFunction, HybridCompiler } from './hybrid_block.js';
export type { InitializeOptions, ParameterOptions } from './parameter.js';
export type { TrainerOptions } from './trainer.js';
export { registerHybridCompiler, CallInput, callInput, auxUpdate, withAuxUpdates } from './hybrid_block.js';
export type { AuxUpdate } from './hybrid_block.js';
export type { ExportOptions, InputSpec } from './hybrid_block.js';
export type { SymbolBlockOptions, ImportsOptions } from './symbol_block.js';
export { exportGraph, defaultInputNames } from './export.js';
export { graphToJSON, graphFromJSON, formatGraphJSON } from '../graph/serialize.js';
export type { GraphJSON, NodeJSON } from '../graph/serialize.js';
export { withParamValues } from './parameter.js';
export * as init from './init.js';
export { exportOnnx, onnxOutputNames } from './export_onnx.js';
export type { OnnxExportOptions, OnnxExportResult } from './export_onnx.js';
