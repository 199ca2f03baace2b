// Size classes shared by the buffer pool (bytes) and the memory planner (elements), so that a
// planned slot fills its pooled buffer: four steps per power of two, at most 25% slack.

/** `n` rounded up to the next quarter of its power of two, and to at least `min` (a power of two). */
export function quarterPowerClass(n: number, min: number): number {
  const v = Math.max(min, n);
  const step = 2 ** Math.floor(Math.log2(v)) / 4;
  return Math.ceil(v / step) * step;
}
