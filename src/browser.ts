// The package entry for browsers: the same API as index.ts (nd, sym, autograd, gluon, init, runtime,
// tidy, keep, the errors) with nothing from Node. The device comes from navigator.gpu (or
// runtime.init({ device })); autograd scopes are the synchronous default, so `autograd.record`
// takes a synchronous function here; gluon.data has in-memory datasets and a DataLoader without
// workers (browser_gluon.ts). Parameters go to and from bytes with src/nn/param_bytes.ts; the
// functions that take a file path (readParameterMetadata, exportOnnx, saveParameters) need Node.
// tests/browser.test.ts checks that this file exports the names index.ts does.
export * from './api.js';
/** gluon: Block, HybridBlock, Parameter, Trainer, nn, loss, data, … (data without files or workers). */
export * as gluon from './browser_gluon.js';
