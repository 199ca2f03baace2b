// Dataset (Gluon's gluon.data.Dataset): indexed samples, lazily transformed; ArrayDataset zips arrays.
// Samples are host values (numbers, HostArrays, tuples of them); the DataLoader batches them.
import { HostArray, formatShape } from './host_array.js';

/** A transform's arguments: a tuple item is spread into separate arguments, as Gluon does. */
export type TransformArgs<T> = T extends readonly unknown[] ? T : [T];
/** The first element of a tuple item, or the item itself when it is not a tuple. */
export type FirstOf<T> = T extends readonly [infer F, ...unknown[]] ? F : T;
/** A tuple item with its first element replaced by U, or U when the item is not a tuple. */
export type ReplaceFirst<T, U> = T extends readonly [unknown, ...infer Rest] ? [U, ...Rest] : U;

export abstract class Dataset<T> {
  abstract get length(): number;

  /** Sample `i`; may return a promise (image folders read files asynchronously). */
  abstract get(i: number): T | Promise<T>;

  /**
   * A dataset applying `fn` to every sample when it is read. A tuple sample is passed as separate
   * arguments: `ds.transform((img0, img1, label) => [f(img0), f(img1), label])`.
   */
  transform<U>(fn: (...args: TransformArgs<T>) => U | Promise<U>): Dataset<U> {
    return new TransformedDataset(this, (item: T) => fn(...((Array.isArray(item) ? item : [item]) as TransformArgs<T>)));
  }

  /** Applies `fn` to the first element of each tuple sample (the image of [image, label]). */
  transformFirst<U>(fn: (first: FirstOf<T>) => U | Promise<U>): Dataset<ReplaceFirst<T, U>> {
    return new TransformedDataset(this, (item: T) => {
      if (!Array.isArray(item)) return fn(item as FirstOf<T>) as ReplaceFirst<T, U> | Promise<ReplaceFirst<T, U>>;
      const [first, ...rest] = item as unknown[];
      const mapped = fn(first as FirstOf<T>);
      const rebuild = (value: U) => [value, ...rest] as ReplaceFirst<T, U>;
      return isPromise(mapped) ? mapped.then(rebuild) : rebuild(mapped);
    });
  }

  /** Where sample `i` comes from (a file), for error messages; null when the dataset cannot say. */
  source(_i: number): string | null {
    return null;
  }

  /** Throws a RangeError naming the dataset and its length unless 0 <= i < length. */
  protected checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`webgluon: index ${i} is out of range for ${this.constructor.name} of length ${this.length}`);
    }
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

class TransformedDataset<T, U> extends Dataset<U> {
  constructor(
    private readonly base: Dataset<T>,
    private readonly map: (item: T) => U | Promise<U>,
  ) {
    super();
  }

  get length(): number {
    return this.base.length;
  }

  override source(i: number): string | null {
    return this.base.source(i);
  }

  get(i: number): U | Promise<U> {
    const item = this.base.get(i);
    // Stay synchronous when the base is, so transformed in-memory datasets need no await.
    return isPromise(item) ? item.then(this.map) : this.map(item);
  }
}

/** What ArrayDataset accepts per column: a list of samples, or a HostArray split along axis 0. */
export type Column = HostArray | readonly unknown[];
type SampleOf<C> = C extends HostArray ? HostArray : C extends readonly (infer E)[] ? E : never;
/** One column gives its samples directly; several give tuples, as Gluon's ArrayDataset does. */
export type ArrayItem<Cs extends readonly Column[]> = Cs extends readonly [infer Only]
  ? SampleOf<Only>
  : { -readonly [K in keyof Cs]: SampleOf<Cs[K]> };

function columnLength(column: Column): number {
  if (column instanceof HostArray) {
    if (column.ndim === 0) throw new Error('webgluon: ArrayDataset cannot split a 0-d HostArray into samples');
    return column.shape[0];
  }
  return column.length;
}

/**
 * Zips columns of equal length: `new ArrayDataset(images, labels).get(i)` is `[images[i], labels[i]]`.
 * A HostArray column yields rows; a 1-D one yields 0-d HostArrays (which batch like numbers).
 */
export class ArrayDataset<Cs extends Column[]> extends Dataset<ArrayItem<Cs>> {
  private readonly columns: Cs;

  constructor(...columns: Cs) {
    super();
    if (columns.length === 0) throw new Error('webgluon: ArrayDataset needs at least one array');
    const lengths = columns.map(columnLength);
    const mismatch = lengths.findIndex((n) => n !== lengths[0]);
    if (mismatch >= 0) {
      const describe = (c: Column, n: number) => (c instanceof HostArray ? `a HostArray of shape ${formatShape(c.shape)}` : `${n} items`);
      throw new Error(
        `webgluon: ArrayDataset arrays must have the same length: array 0 has ${describe(columns[0], lengths[0])}, ` +
          `array ${mismatch} has ${describe(columns[mismatch], lengths[mismatch])}`,
      );
    }
    this.columns = columns;
  }

  get length(): number {
    return columnLength(this.columns[0]);
  }

  get(i: number): ArrayItem<Cs> {
    this.checkIndex(i);
    const samples = this.columns.map((c) => (c instanceof HostArray ? c.row(i) : c[i]));
    return (samples.length === 1 ? samples[0] : samples) as ArrayItem<Cs>;
  }
}
