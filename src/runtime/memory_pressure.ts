// GPU memory that garbage holds: tensors nobody references free their buffers only when V8 collects
// them, and V8 cannot see GPU bytes. After enough buffers were handed out since the last collection,
// the environment's collector (runtime/node_gc.ts in Node; none in a browser) is asked for one.
import { counters } from './stats.js';

let collect: (() => void) | null = null;

/** Installs the function that forces a collection; null turns pressure relief off. */
export function setGarbageCollector(f: (() => void) | null): void {
  collect = f;
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
  counters.collections++;
  collect();
}
