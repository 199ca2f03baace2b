// The `gluon` namespace (MXNet's mxnet.gluon) as an ES module, so that every member is a type as
// well as a value: `new gluon.nn.Dense(2)`, `let d: gluon.nn.Dense`, `extends gluon.HybridBlock<[Tensor], Tensor>`.
export * from './gluon_core.js';
export * as data from './data/index.js';
