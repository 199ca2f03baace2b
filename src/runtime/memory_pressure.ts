// V8 cannot see GPU memory: tensors that are garbage would wait for a collection that small JS
// objects never trigger. After enough GPU bytes were handed out since the last one, we ask for one.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { counters } from './stats.js';

let collect: (() => void) | null = null;
try {
  setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc') as () => void;
} catch {
  collect = null;
}

const FLOOR = 64 * 1024 * 1024;
let handedOut = 0;

export function noteAcquired(bytes: number): void {
  handedOut += bytes;
}

/** Called before each submit; collects garbage when buffer churn outgrows live memory. */
export function relieveMemoryPressure(): void {
  if (!collect || handedOut < Math.max(FLOOR, counters.liveBytes / 2)) return;
  handedOut = 0;
  collect();
}
