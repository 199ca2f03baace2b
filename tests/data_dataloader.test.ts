// DataLoader on the main thread: batch counts and contents per lastBatch mode, seeded shuffling,
// prefetching, error surfacing, and the default conversion to tensors (when src/ndarray exists).
import { describe, expect, it } from 'vitest';
import { stackSamples } from '../src/data/batchify.js';
import { DataLoader } from '../src/data/dataloader.js';
import { ArrayDataset, Dataset } from '../src/data/dataset.js';
import { HostArray } from '../src/data/host_array.js';

const range = (n: number) => [...Array(n).keys()];

/** Every batch of one epoch, as the dataset indices it holds (samples are their own index). */
async function epochIndices(loader: DataLoader<number, HostArray>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const batch of loader) out.push(Array.from(batch.data));
  return out;
}

function indexLoader(n: number, options: { batchSize: number; lastBatch?: 'keep' | 'discard' | 'rollover'; shuffle?: boolean; seed?: number }) {
  return new DataLoader(new ArrayDataset(range(n)), { ...options, batchify: (s: number[]) => stackSamples(s) });
}

describe('DataLoader batching', () => {
  it("'keep' yields the short last batch", async () => {
    const loader = indexLoader(10, { batchSize: 3, lastBatch: 'keep' });
    expect(loader.length).toBe(4);
    expect(await epochIndices(loader)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  });

  it("'discard' drops it", async () => {
    const loader = indexLoader(10, { batchSize: 3, lastBatch: 'discard' });
    expect(loader.length).toBe(3);
    expect(await epochIndices(loader)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  });

  it("'rollover' opens the next epoch with the remainder (MXNet's BatchSampler)", async () => {
    const loader = indexLoader(10, { batchSize: 4, lastBatch: 'rollover' });
    expect(loader.length).toBe(2);
    expect(await epochIndices(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(loader.length).toBe(3); // (2 carried + 10) / 4
    expect(await epochIndices(loader)).toEqual([[8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]);
    expect(loader.length).toBe(2);
  });

  it('stacks tuples per position and names sample indices when shapes differ', async () => {
    const images = [HostArray.zeros([2, 2, 1]), HostArray.zeros([2, 2, 1]), HostArray.zeros([3, 2, 1])];
    const ok = new DataLoader(new ArrayDataset(images.slice(0, 2), [5, 6]), { batchSize: 2, batchify: stackSamples });
    for await (const [x, y] of ok) {
      expect(x.shape).toEqual([2, 2, 2, 1]);
      expect(y.dtype).toBe('float32');
      expect(Array.from(y.data)).toEqual([5, 6]);
    }
    const bad = new DataLoader(new ArrayDataset(images, [1, 2, 3]), { batchSize: 3, batchify: stackSamples });
    await expect(epochIndices(bad as never)).rejects.toThrow(
      'cannot batch element 0 of the samples: sample 0 is a HostArray (2, 2, 1) but sample 2 is a HostArray (3, 2, 1)',
    );
  });

  it('validates its options', () => {
    const ds = new ArrayDataset([1]);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow('batchSize must be an integer >= 1, got 0');
    expect(() => new DataLoader(ds, { batchSize: 1, lastBatch: 'drop' as 'keep' })).toThrow(/lastBatch must be/);
    expect(() => new DataLoader(ds, { batchSize: 1, numWorkers: -1 })).toThrow(/numWorkers/);
  });
});

describe('DataLoader shuffling', () => {
  it('is reproducible with a seed, a new permutation each epoch', async () => {
    const a = indexLoader(20, { batchSize: 5, shuffle: true, seed: 42 });
    const b = indexLoader(20, { batchSize: 5, shuffle: true, seed: 42 });
    const a1 = (await epochIndices(a)).flat();
    const a2 = (await epochIndices(a)).flat();
    expect((await epochIndices(b)).flat()).toEqual(a1);
    expect((await epochIndices(b)).flat()).toEqual(a2);
    expect([...a1].sort((x, y) => x - y)).toEqual(range(20));
    expect([...a2].sort((x, y) => x - y)).toEqual(range(20));
    expect(a2).not.toEqual(a1);
    expect(a1).not.toEqual(range(20));
    const c = indexLoader(20, { batchSize: 5, shuffle: true, seed: 43 });
    expect((await epochIndices(c)).flat()).not.toEqual(a1);
  });

  it('shuffles evenly: each index lands in each position about equally often', async () => {
    const loader = indexLoader(4, { batchSize: 4, shuffle: true, seed: 1 });
    const counts = range(4).map(() => [0, 0, 0, 0]);
    for (let epoch = 0; epoch < 4000; epoch++) (await epochIndices(loader))[0].forEach((v, pos) => counts[v][pos]++);
    for (const row of counts) for (const c of row) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });
});

/** Records when each sample is read, and can fail on one index. */
class Recording extends Dataset<number> {
  readonly reads: number[] = [];
  constructor(private readonly n: number, private readonly failAt = -1) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number): number {
    this.reads.push(i);
    if (i === this.failAt) throw new Error(`sample ${i} is broken`);
    return i;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DataLoader prefetching', () => {
  it('prepares the next `prefetch` batches while the consumer works', async () => {
    const ds = new Recording(12);
    const loader = new DataLoader(ds, { batchSize: 2, prefetch: 2, batchify: stackSamples });
    let k = 0;
    for await (const batch of loader) {
      expect(Array.from(batch.data)).toEqual([2 * k, 2 * k + 1]);
      await sleep(20); // the consumer's GPU step
      expect(Math.max(...ds.reads)).toBe(Math.min(11, 2 * k + 5)); // batches k+1 and k+2 are read
      k++;
    }
    expect(k).toBe(6);
  });

  it('reads nothing ahead with prefetch 0', async () => {
    const ds = new Recording(6);
    const loader = new DataLoader(ds, { batchSize: 2, prefetch: 0, batchify: stackSamples });
    let k = 0;
    for await (const _ of loader) {
      await sleep(10);
      expect(Math.max(...ds.reads)).toBe(2 * k + 1);
      k++;
    }
  });

  it('surfaces a failing sample at its batch, even when it failed while prefetched', async () => {
    const loader = new DataLoader(new Recording(10, 7), { batchSize: 2, prefetch: 3, batchify: stackSamples });
    const seen: number[][] = [];
    await expect(
      (async () => {
        for await (const batch of loader) {
          await sleep(30); // batch 3 (samples 6, 7) fails meanwhile, unobserved
          seen.push(Array.from(batch.data));
        }
      })(),
    ).rejects.toThrow('sample 7 is broken');
    expect(seen).toEqual([[0, 1], [2, 3], [4, 5]]);
  });

  it('stops reading when the consumer breaks out', async () => {
    const ds = new Recording(100);
    const loader = new DataLoader(ds, { batchSize: 2, prefetch: 2, batchify: stackSamples });
    for await (const _ of loader) break;
    await sleep(20);
    expect(Math.max(...ds.reads)).toBeLessThanOrEqual(5);
  });
});

// The default batchify makes tensors through src/ndarray, which may not exist yet in this checkout.
const ndarray = await import('../src/ndarray/index.js' as string).catch(() => undefined);

describe('DataLoader default batchify (tensors)', () => {
  it.skipIf(!ndarray)('stacks uint8 images into float32 tensors with the same values, numbers into a 1-D tensor', async () => {
    const images = range(3).map((k) => new HostArray(Uint8Array.from([k, 100 + k, 255 - k, 7]), [2, 2, 1]));
    const loader = new DataLoader(new ArrayDataset(images, [0, 1, 1]), { batchSize: 3 });
    let batches = 0;
    for await (const [x, y] of loader) {
      batches++;
      expect(x.shape).toEqual([3, 2, 2, 1]);
      expect(x.dtype).toBe('float32');
      expect(Array.from(await x.data())).toEqual(images.flatMap((im) => Array.from(im.data)));
      expect(y.shape).toEqual([3]);
      expect(Array.from(await y.data())).toEqual([0, 1, 1]);
    }
    expect(batches).toBe(1);
  });
});
