// DataLoader (gluon.data.DataLoader): batches a Dataset for `for await`, preparing the next batches
// while the caller trains on this one; PNG decoding goes to worker threads when numWorkers > 0.
import { checkOptions } from '../base/options.js';
import { stackSamples, type HostBatch } from './batchify.js';
import type { DecodePool } from './decode_pool.js';
import type { Dataset } from './dataset.js';
import { HostArray } from './host_array.js';
import { BatchSampler, type LastBatch, type SamplerState } from './sampler.js';

type NdModule = typeof import('../ndarray/index.js');
type Tensor = ReturnType<NdModule['nd']['array']>;

/**
 * Decode worker pools: decode_pool.ts registers itself here when it is loaded (image_folder.ts
 * loads it, and only image files read through it are decoded in workers). Not an import, so
 * that the DataLoader loads where there are no worker threads (the browser build): there,
 * numWorkers > 0 reads every sample on the main thread.
 */
export interface DecodeWorkers {
  create(size: number): DecodePool;
  withDecoder<R>(pool: DecodePool | undefined, fn: () => R): R;
}
let decodeWorkers: DecodeWorkers | null = null;

export function setDecodeWorkers(workers: DecodeWorkers | null): void {
  decodeWorkers = workers;
}

/** The next macrotask: setImmediate in Node; a browser has only timers. */
const later = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate ?? ((fn: () => void) => setTimeout(fn, 0));
const nextTask = (): Promise<void> => new Promise((resolve) => later(resolve));

/** What the default batchify yields for samples of type T: a tensor per number/HostArray position. */
export type Batch<T> = T extends HostArray | number
  ? Tensor
  : T extends readonly unknown[]
    ? { -readonly [K in keyof T]: Batch<T[K]> }
    : never;

export interface DataLoaderOptions<T, B> {
  batchSize: number;
  shuffle?: boolean;
  /** What to do with a last batch smaller than batchSize: yield it, drop it, or open the next epoch with it. */
  lastBatch?: LastBatch;
  /** Worker threads decoding image files; 0 decodes on the main thread. */
  numWorkers?: number;
  /** Batches prepared ahead of the one being consumed; default 2 * max(1, numWorkers). */
  prefetch?: number;
  /** Turns a batch's samples (and their dataset indices) into the batch; default: stack into tensors. */
  batchify?: (samples: T[], indices: number[]) => B | Promise<B>;
  /** Seed of the shuffling PRNG, for reproducible epochs; random when omitted. */
  seed?: number;
}

/**
 * The one place the data pipeline creates GPU tensors. uint8 becomes float32 with the same values,
 * since tensors are float32 or int32. ndarray is loaded here, on the first batch, so that datasets
 * and host batching (and their tests) load without the GPU stack.
 */
async function toTensor(array: HostArray): Promise<Tensor> {
  const { nd } = await import('../ndarray/index.js');
  if (array.dtype === 'int32') return nd.array(array.data as Int32Array, { shape: array.shape, dtype: 'int32' });
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data);
  return nd.array(data, { shape: array.shape, dtype: 'float32' });
}

async function toTensors(batch: unknown): Promise<unknown> {
  if (batch instanceof HostArray) return toTensor(batch);
  return Promise.all((batch as unknown[]).map(toTensors));
}

async function defaultBatchify<T>(samples: T[], indices: number[]): Promise<Batch<T>> {
  const host: HostBatch<T> = stackSamples(samples, indices);
  return (await toTensors(host)) as Batch<T>;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`webgluon: DataLoader ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

export class DataLoader<T, B = Batch<T>> implements AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly numWorkers: number;
  readonly prefetch: number;
  private readonly sampler: BatchSampler;
  private readonly batchify: (samples: T[], indices: number[]) => B | Promise<B>;
  private pool: DecodePool | undefined;
  /** Epochs being iterated now: the sampler has already drawn their order. */
  private open = 0;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B>) {
    checkOptions('DataLoader', options, ['batchSize', 'shuffle', 'lastBatch', 'numWorkers', 'prefetch', 'batchify', 'seed']);
    const { shuffle = false, lastBatch = 'keep', numWorkers = 0 } = options;
    if (!['keep', 'discard', 'rollover'].includes(lastBatch)) {
      throw new Error(`webgluon: DataLoader lastBatch must be 'keep', 'discard' or 'rollover', got '${lastBatch}'`);
    }
    this.dataset = dataset;
    this.batchSize = checkCount('batchSize', options.batchSize, 1);
    this.numWorkers = checkCount('numWorkers', numWorkers, 0);
    this.prefetch = checkCount('prefetch', options.prefetch ?? 2 * Math.max(1, numWorkers), 0);
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.sampler = new BatchSampler(dataset.length, this.batchSize, shuffle, lastBatch, seed);
    // Without a batchify, B is its default Batch<T>, which is what defaultBatchify returns.
    this.batchify = options.batchify ?? (defaultBatchify as unknown as (samples: T[], indices: number[]) => Promise<B>);
  }

  /** Batches in the next epoch. */
  get length(): number {
    return this.sampler.length;
  }

  /**
   * The order state between epochs (the shuffling PRNG, the indices 'rollover' carries): a loader
   * given it with setState() yields the same next epochs. The dataset's own state (a random pair
   * generator, say) is the dataset's to save.
   */
  getState(): SamplerState {
    this.checkBetweenEpochs('getState');
    return this.sampler.getState();
  }

  /** Restores a state from getState(), checked first: a bad one throws and changes nothing. */
  setState(state: SamplerState): void {
    this.checkBetweenEpochs('setState');
    this.sampler.setState(state);
  }

  private checkBetweenEpochs(what: string): void {
    if (this.open > 0) {
      throw new Error(`webgluon: DataLoader.${what}() was called while an epoch is being iterated; its order is already drawn, ` +
        'so call it between epochs (after the for-await loop ends)');
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<B, void, undefined> {
    const batches = this.sampler.epoch();
    this.open++;
    try {
      yield* this.iterate(batches);
    } finally {
      this.open--;
    }
  }

  private async *iterate(batches: number[][]): AsyncGenerator<B, void, undefined> {
    const pool = this.decodePool();
    const pending: Promise<B>[] = [];
    let next = 0;
    const schedule = (limit: number) => {
      while (pending.length < limit && next < batches.length) {
        const batch = this.loadBatch(batches[next++], pool);
        // Marked handled now: a prefetched batch may fail before it is awaited, which must not
        // crash the process as an unhandled rejection; awaiting it below still throws.
        batch.catch(() => {});
        pending.push(batch);
      }
    };
    while (next < batches.length || pending.length > 0) {
      schedule(this.prefetch + 1);
      const batch = await pending.shift()!;
      schedule(this.prefetch);
      yield batch;
    }
  }

  /** Stops the decode workers now rather than when the process exits (idle workers never hold it open). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  private decodePool(): DecodePool | undefined {
    if (this.numWorkers === 0 || !decodeWorkers) return undefined;
    if (!this.pool || this.pool.failed) this.pool = decodeWorkers.create(this.numWorkers);
    return this.pool;
  }

  private async loadBatch(indices: number[], pool: DecodePool | undefined): Promise<B> {
    // Start after the consumer got the previous batch: it can queue its GPU work before we decode.
    await nextTask();
    const get = (i: number) => this.dataset.get(i);
    const samples = await Promise.all(indices.map((i) => (pool && decodeWorkers ? decodeWorkers.withDecoder(pool, () => get(i)) : get(i))));
    try {
      return await this.batchify(samples, indices);
    } catch (error) {
      // Sample numbers alone do not say which images are odd: name their files when we know them.
      const files = indices.map((i) => this.dataset.source(i));
      if (files.every((f) => f === null) || !(error instanceof Error)) throw error;
      const shown = indices.slice(0, 8).map((i, k) => `sample ${i}: ${files[k] ?? '?'}`);
      throw new Error(`${error.message}\n  ${shown.join('\n  ')}${indices.length > 8 ? `\n  … (${indices.length - 8} more)` : ''}`, { cause: error });
    }
  }
}
