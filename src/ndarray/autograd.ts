// Recording state for autograd (MXNet's autograd.record / pause / is_recording / is_training)
// and anomaly detection. The tape itself lives in tape.ts.

let recording = false;
let training = false;
let anomaly = false;

function scoped<T>(rec: boolean, train: boolean, fn: () => T): T {
  const saved = [recording, training] as const;
  recording = rec;
  training = train;
  const restore = () => {
    [recording, training] = saved;
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

/** Runs fn while recording operations for backward(); returns what fn returns. */
export function record<T>(fn: () => T, opts: { trainMode?: boolean } = {}): T {
  return scoped(true, opts.trainMode ?? true, fn);
}

/** Runs fn without recording (e.g. metrics computed inside a record scope). */
export function pause<T>(fn: () => T, opts: { trainMode?: boolean } = {}): T {
  return scoped(false, opts.trainMode ?? false, fn);
}

export function trainMode<T>(fn: () => T): T {
  return scoped(recording, true, fn);
}
export function predictMode<T>(fn: () => T): T {
  return scoped(recording, false, fn);
}

export function isRecording(): boolean {
  return recording;
}
export function isTraining(): boolean {
  return training;
}

/** When on, every op's output is checked for NaN/Inf, naming the op and the Block. */
export function detectAnomaly(on = true): void {
  anomaly = on;
}
export function anomalyDetection(): boolean {
  return anomaly;
}
