// Checks of what users pass to constructors and calls: option objects whose keys must all be
// known (a misspelt key is refused with the name meant, never ignored) and numbers in range.
import { ArgumentError } from './errors.js';

/** snake_case → camelCase: MXNet's spelling of an option mapped to ours. */
const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The known name a misspelt key most likely meant, if one is close. */
export function suggestName(key: string, known: readonly string[]): string | null {
  const c = camel(key);
  const exact = known.find((k) => k.toLowerCase() === c.toLowerCase());
  if (exact) return exact;
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(c.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Refuses keys of `given` that are not in `known`, suggesting the name meant. */
export function checkOptions(where: string, given: object | null | undefined, known: readonly string[]): void {
  if (given === null || given === undefined) return;
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new ArgumentError(`${where} takes an options object, got ${Array.isArray(given) ? 'an array' : typeof given}`);
  }
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const meant = suggestName(key, known);
    throw new ArgumentError(`${where} has no option \`${key}\`${meant ? ` (did you mean \`${meant}\`?)` : ''}; ` +
      `it takes: ${known.join(', ')}`);
  }
}

export interface NumberRule {
  /** Smallest allowed value, and whether it is allowed itself. */
  min?: number;
  minOpen?: boolean;
  max?: number;
  maxOpen?: boolean;
  integer?: boolean;
}

/** Returns `v` if it is a finite number within the rule, else throws naming `what` and the value. */
export function checkNumber(what: string, v: unknown, rule: NumberRule = {}): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (!rule.integer || Number.isInteger(v)) &&
    (rule.min === undefined || (rule.minOpen ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || (rule.maxOpen ? v < rule.max : v <= rule.max));
  if (ok) return v as number;
  const positive = rule.integer && rule.min === 1 && !rule.minOpen;
  const natural = rule.integer && rule.min === 0 && !rule.minOpen;
  const kind = positive ? 'a positive integer' : natural ? 'a non-negative integer' : rule.integer ? 'an integer' : 'a finite number';
  const lo = rule.min === undefined || positive || natural ? '' : `${rule.minOpen ? '>' : '≥'} ${rule.min}`;
  const hi = rule.max === undefined ? '' : `${rule.maxOpen ? '<' : '≤'} ${rule.max}`;
  const range = [lo, hi].filter(Boolean).join(' and ');
  throw new ArgumentError(`${what} must be ${kind}${range ? ` ${range}` : ''}, got ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v)}`);
}
