// The package entry: `import { nd, sym, autograd, gluon, init, runtime } from 'webgluon'`.
import * as data from './data/index.js';
import { gluon as nnGluon } from './nn/index.js';
import { flush } from './runtime/executor.js';
import { resetStats, stats } from './runtime/stats.js';

export { nd, autograd, Tensor } from './ndarray/index.js';
export { sym } from './graph/symbol.js';
export { init } from './nn/index.js';
export type { RuntimeStats } from './runtime/stats.js';
export type { Ops } from './graph/registry.js';
/** The type of `F` in hybridForward when it runs eagerly: `hybridForward(F: F, x: Tensor)`. */
export type F = import('./graph/registry.js').Ops<import('./ndarray/tensor.js').Tensor>;

/** gluon: Block, HybridBlock, Parameter, Trainer, nn, loss, data. */
export const gluon = { ...nnGluon, data };

/** runtime.stats() / resetStats() count kernels and memory; flush() waits for queued GPU work. */
export const runtime = { stats, resetStats, flush };
