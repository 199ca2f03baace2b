// Node only: a garbage collector for runtime/memory_pressure.ts that leaves no trace in the process.
// V8 hands out `gc` only under --expose-gc: the flag is set for the instant it takes to make one
// private context, then set back, so user code and later contexts never see a `gc` global.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setGarbageCollector } from './memory_pressure.js';

let gc: (() => void) | null | undefined;

/** Made at the first memory pressure, not at import: importing webgluon changes no V8 flag. */
function collect(): void {
  if (gc === undefined) {
    const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
    try {
      if (!exposed) setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    } finally {
      if (!exposed) setFlagsFromString('--no-expose-gc');
    }
  }
  gc?.();
}

setGarbageCollector(collect);
