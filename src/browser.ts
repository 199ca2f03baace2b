// The package entry for browsers: the same API as index.ts (nd, sym, autograd, gluon, init, runtime,
// tidy, keep, the errors) with nothing from Node. The device comes from navigator.gpu (or
// runtime.init({ device })); autograd scopes are the synchronous default, so `autograd.record`
// takes a synchronous function here; gluon.data has in-memory datasets and a DataLoader without
// workers (browser_gluon.ts). Parameters go to and from bytes with src/nn/param_bytes.ts; the
// functions that take a file path (readParameterMetadata, exportOnnx, saveParameters) need Node.
// tests/browser.test.ts checks that this file exports the names index.ts does.
// The op families: their declarations add nd.sum, x.add, … to the op namespace's type.
import './ops/index.js';
import { init as initDevice } from './runtime/device.js';
import { flush } from './runtime/executor.js';
import { resetStats, stats } from './runtime/stats.js';

export { nd, autograd, Tensor, tidy, keep } from './ndarray/index.js';
export { sym } from './graph/symbol.js';
export { readParameterMetadata } from './nn/serialization.js';
export { exportOnnx } from './nn/export_onnx.js';
export type { OnnxExportOptions, OnnxExportResult } from './nn/export_onnx.js';
export { init } from './nn/index.js';
export {
  WebgluonError, ShapeError, DTypeError, GraphError, DeviceError, DataError, AnomalyError, NoGradientError, DisposedError, ArgumentError,
} from './base/errors.js';
export type { RuntimeStats } from './runtime/stats.js';
export type { DType, Shape } from './base/types.js';
export type { NestedArray } from './ndarray/tensor.js';
export type { DeviceInfo, InitOptions } from './runtime/device.js';
export type { Ops } from './graph/registry.js';
/** The type of `F` in hybridForward when it runs eagerly: `hybridForward(F: F, x: Tensor)`. */
export type F = import('./graph/registry.js').Ops<import('./ndarray/tensor.js').Tensor>;

/** gluon: Block, HybridBlock, Parameter, Trainer, nn, loss, data, … (data without files or workers). */
export * as gluon from './browser_gluon.js';

/**
 * runtime.init({ device }) runs webgluon on a GPUDevice of the caller's (default: navigator.gpu's
 * adapter); stats() / resetStats() count kernels and memory; flush() waits for queued GPU work.
 */
export const runtime = { init: initDevice, stats, resetStats, flush };
