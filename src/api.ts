// What both package entries export (index.ts for Node, browser.ts for browsers): the whole API but
// `gluon`, whose data namespace differs, and the environment each entry installs before it.
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

/**
 * runtime.init({ device }) runs webgluon on a GPUDevice of the caller's (by default Dawn's in Node,
 * navigator.gpu's in a browser); stats() / resetStats()
 * count kernels and memory; flush() waits for queued GPU work and reports its errors.
 */
export const runtime = { init: initDevice, stats, resetStats, flush };
