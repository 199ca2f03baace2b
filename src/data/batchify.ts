// Batching on the host (gluon.data.batchify.Stack): a list of samples becomes one HostArray per
// tuple position. The DataLoader then turns each into a tensor; a custom batchify replaces this.
import { HostArray, formatShape, sameShape } from './host_array.js';

/** The host batch of samples of type T: numbers and HostArrays stack into one HostArray, tuples stack per position. */
export type HostBatch<T> = T extends HostArray | number
  ? HostArray
  : T extends readonly unknown[]
    ? { -readonly [K in keyof T]: HostBatch<T[K]> }
    : never;

function kindOf(value: unknown): string {
  if (value instanceof HostArray) return `HostArray ${formatShape(value.shape)}`;
  if (Array.isArray(value)) return `tuple of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function stackColumn(values: readonly unknown[], indices: readonly number[], where: string): unknown {
  const first = values[0];
  const differs = (test: (v: unknown) => boolean) => values.findIndex((v) => !test(v));
  const mismatch = (k: number, why: string) =>
    new Error(
      `webgluon: cannot batch${where}: sample ${indices[0]} is a ${kindOf(first)} but sample ${indices[k]} is a ${kindOf(values[k])}${why}`,
    );
  if (typeof first === 'number') {
    const k = differs((v) => typeof v === 'number');
    if (k >= 0) throw mismatch(k, '');
    return new HostArray(Float32Array.from(values as number[]), [values.length]);
  }
  if (first instanceof HostArray) {
    const k = differs((v) => v instanceof HostArray && sameShape(v.shape, first.shape));
    if (k >= 0) {
      const hint = values[k] instanceof HostArray ? '; the shapes differ: resize the images to one size, or pass a batchify' : '';
      throw mismatch(k, hint);
    }
    return HostArray.stack(values as HostArray[]);
  }
  if (Array.isArray(first)) {
    const k = differs((v) => Array.isArray(v) && v.length === first.length);
    if (k >= 0) throw mismatch(k, '');
    return first.map((_, position) =>
      stackColumn(
        values.map((v) => (v as unknown[])[position]),
        indices,
        `${where} element ${position} of the samples`,
      ),
    );
  }
  throw new Error(
    `webgluon: the default batchify cannot batch${where} a ${kindOf(first)} (sample ${indices[0]}); ` +
      'datasets should return numbers, HostArrays, or tuples of them (keep GPU tensors out of datasets), or pass a batchify',
  );
}

/**
 * Stacks samples into a host batch; `indices` are the samples' dataset indices, used by the errors.
 * Numbers become a 1-D float32 array; HostArrays of one shape gain a leading batch axis.
 */
export function stackSamples<T>(samples: readonly T[], indices: readonly number[] = samples.map((_, i) => i)): HostBatch<T> {
  if (samples.length === 0) throw new Error('webgluon: cannot batch an empty list of samples');
  return stackColumn(samples, indices, '') as HostBatch<T>;
}
