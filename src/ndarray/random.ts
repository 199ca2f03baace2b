// nd.random: a global seed and a counter feed the counter-based random ops, so that
// nd.random.seed(n) makes a whole run (initializers, dropout, shuffles) repeatable.
import { hash32 } from '../ops/random.js';

// Web Crypto is global in Node 20 and in browsers (a process id exists in Node only).
let base = crypto.getRandomValues(new Uint32Array(1))[0];
let counter = 0;

export function seed(n: number): void {
  base = n >>> 0;
  counter = 0;
}

/** A fresh 32-bit seed for the next random op. */
export function nextSeed(): number {
  return hash32((base + Math.imul(++counter, 0x9e3779b9)) >>> 0);
}
