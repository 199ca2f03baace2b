// What running in Node adds to the environment-free layers: Dawn as the source of GPU adapters,
// a collector for GPU memory held by garbage, an AsyncLocalStorage for autograd's scopes, so
// `autograd.record(async () => …)` records its own awaits and nothing run meanwhile elsewhere,
// and a file in the cache folder for the kernel tuner's results.
// The package's Node entry (index.ts) imports it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setRecordingContext, type AutogradState } from './ndarray/autograd.js';
import { setTuningStore } from './compiler/tune.js';
import { fileTuningStore } from './node_tune_cache.js';
import './runtime/dawn.js';
import './runtime/node_gc.js';

setRecordingContext(new AsyncLocalStorage<AutogradState>());
setTuningStore(fileTuningStore());
