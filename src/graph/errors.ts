// User-facing errors: every message names the op, where it came from and the shapes involved,
// in the format DESIGN.md shows, so that a mistake is reported at the point it was made.
import { formatShape, type Shape } from './types.js';

export class WebgluonError extends Error {
  constructor(message: string) {
    super(`webgluon: ${message}`);
    this.name = 'WebgluonError';
  }
}

/** Thrown when an op's inputs do not fit its shape rule. */
export class ShapeError extends WebgluonError {
  constructor(op: string, where: string, detail: string, shapes: readonly Shape[], labels?: readonly string[]) {
    const parts = shapes.map((s, i) => `${labels?.[i] ?? `input ${i}`} ${formatShape(s)}`).join(', ');
    super(`${detail} in \`${op}\`${where ? ` (${where})` : ''}:\n  ${parts}`);
    this.name = 'ShapeError';
  }
}

/** The Block path (or user function) currently being run, maintained by Blocks and the tracer. */
const originStack: string[] = [];

export function pushOrigin(path: string): void {
  originStack.push(path);
}
export function popOrigin(): void {
  originStack.pop();
}
export function currentOrigin(): string {
  return originStack.join(' → ');
}

/** Runs fn with `path` as the current origin, restoring it even when fn throws. */
export function withOrigin<T>(path: string, fn: () => T): T {
  pushOrigin(path);
  try {
    return fn();
  } finally {
    popOrigin();
  }
}
