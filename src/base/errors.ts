// The error classes every layer throws, exported by the package (`e instanceof ShapeError`), and
// the origin stack (the Block path being run) that their messages name. Imports nothing above it.
import { formatShape, type Shape } from './types.js';

export class WebgluonError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`webgluon: ${message}`, options);
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

/** A dtype an op or a layer cannot take (int32 where float32 is needed, an unknown dtype name). */
export class DTypeError extends WebgluonError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DTypeError';
  }
}

/** A graph that cannot be traced, differentiated or compiled as written. */
export class GraphError extends WebgluonError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GraphError';
  }
}

/** The GPU refused something: no adapter, a kernel that failed to compile, out of memory, a lost device. */
export class DeviceError extends WebgluonError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeviceError';
  }
}

/** A file or data set that cannot be read as asked: a corrupt image, a parameter file of another model. */
export class DataError extends WebgluonError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DataError';
  }
}

/** A NaN or Inf found by autograd.detectAnomaly(), naming the op and the Block that made it. */
export class AnomalyError extends WebgluonError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AnomalyError';
  }
}

/** An argument or option a call cannot take: an unknown option name, a NaN learning rate, a pool size of 0. */
export class ArgumentError extends WebgluonError {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** A tensor used after dispose(), or after the library replaced it (a parameter after trainer.step()). */
export class DisposedError extends WebgluonError {
  constructor(message: string) {
    super(message);
    this.name = 'DisposedError';
  }
}

/** backward() reached an op that has no gradient rule. */
export class NoGradientError extends GraphError {
  constructor(op: string, where: string) {
    super(`\`${op}\` has no gradient, but a value computed by it${where ? ` (${where})` : ''} was used under ` +
      'autograd.record() on the way to the loss. Wrap it in autograd.pause(), use blockGrad(), or detach() its input.');
    this.name = 'NoGradientError';
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
