// The DataLoader's order state (for checkpoints): getState() between epochs, setState() on a new
// loader, and the next epochs repeat — shuffled, and with 'rollover' carrying indices over. A
// state taken mid-epoch, or a bad one, is refused; so is a bad PRNG state.
import { describe, expect, it } from 'vitest';
import { stackSamples } from '../src/data/batchify.js';
import { DataLoader } from '../src/data/dataloader.js';
import { ArrayDataset } from '../src/data/dataset.js';
import type { HostArray } from '../src/data/host_array.js';
import { seededRandom } from '../src/data/sampler.js';

const range = (n: number) => [...Array(n).keys()];

async function epochIndices(loader: DataLoader<number, HostArray>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const batch of loader) out.push(Array.from(batch.data));
  return out;
}

function indexLoader(n: number, options: { batchSize: number; lastBatch?: 'keep' | 'discard' | 'rollover'; shuffle?: boolean; seed?: number }) {
  return new DataLoader(new ArrayDataset(range(n)), { ...options, batchify: (s: number[]) => stackSamples(s) });
}

describe('DataLoader state', () => {
  it('a new loader given the state after an epoch yields the same next epochs (shuffled, rollover)', async () => {
    const a = indexLoader(10, { batchSize: 4, shuffle: true, lastBatch: 'rollover', seed: 7 });
    await epochIndices(a);
    const state = a.getState();
    expect(state.carried).toHaveLength(2);
    const next = [await epochIndices(a), await epochIndices(a)];
    const b = indexLoader(10, { batchSize: 4, shuffle: true, lastBatch: 'rollover', seed: 99 });
    b.setState(state);
    expect(b.length).toBe(3);
    expect([await epochIndices(b), await epochIndices(b)]).toEqual(next);
  });

  it('is refused mid-epoch, and a bad state changes nothing', async () => {
    const a = indexLoader(10, { batchSize: 4, shuffle: true, seed: 7 });
    const good = a.getState();
    for await (const _ of a) {
      expect(() => a.getState()).toThrow(/called while an epoch is being iterated/);
      break;
    }
    // After a break the epoch is over.
    expect(a.getState()).toEqual({ random: expect.any(Number), carried: [] });
    const b = indexLoader(10, { batchSize: 4, shuffle: true, seed: 7 });
    expect(() => b.setState({ random: -1, carried: [] })).toThrow(/must be a 32-bit unsigned integer/);
    expect(() => b.setState({ random: 5, carried: [1, 2, 3, 4] })).toThrow(/carried indices must be fewer than the batch size 4/);
    expect(() => b.setState({ random: 5, carried: [10] })).toThrow(/each an index of the 10 samples/);
    expect(b.getState()).toEqual(good);
  });

  it('seededRandom: the state continues the sequence', () => {
    const r = seededRandom(3);
    r();
    const s = r.getState();
    const next = [r(), r(), r()];
    const q = seededRandom(0);
    q.setState(s);
    expect([q(), q(), q()]).toEqual(next);
    expect(() => q.setState(2 ** 32)).toThrow(/32-bit unsigned integer/);
  });
});
