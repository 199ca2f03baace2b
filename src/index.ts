// The package entry for Node: `import { nd, sym, autograd, gluon, init, runtime } from 'webgluon'`.
// It installs the Node environment (src/node.ts: Dawn, the GPU-memory collector, async autograd
// scopes) before anything else runs; the API itself is src/api.ts, shared with the browser entry.
import './node.js';

export * from './api.js';
/** gluon: Block, HybridBlock, Parameter, Trainer, nn, loss, data, … (a namespace: its members are types too). */
export * as gluon from './gluon.js';
