// Which samples go in which batch, epoch after epoch (gluon.data.sampler): sequential or shuffled
// by a seedable PRNG, cut with MXNet's lastBatch rules. The DataLoader asks it for each epoch.

export type LastBatch = 'keep' | 'discard' | 'rollover';

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same epochs on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class BatchSampler {
  private readonly random: () => number;
  // 'rollover': the indices left over from the previous epoch, which open the next one.
  private carried: number[] = [];

  constructor(
    readonly datasetLength: number,
    readonly batchSize: number,
    readonly shuffle: boolean,
    readonly lastBatch: LastBatch,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  /** The number of batches the next epoch yields (MXNet's BatchSampler.__len__). */
  get length(): number {
    const n = this.datasetLength;
    if (this.lastBatch === 'keep') return Math.ceil(n / this.batchSize);
    if (this.lastBatch === 'discard') return Math.floor(n / this.batchSize);
    return Math.floor((this.carried.length + n) / this.batchSize);
  }

  /** The batches of one epoch, as lists of dataset indices. */
  epoch(): number[][] {
    const order = [...Array(this.datasetLength).keys()];
    if (this.shuffle) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    const indices = [...this.carried, ...order];
    this.carried = [];
    const batches: number[][] = [];
    for (let start = 0; start < indices.length; start += this.batchSize) batches.push(indices.slice(start, start + this.batchSize));
    const last = batches.at(-1);
    if (last && last.length < this.batchSize) {
      if (this.lastBatch === 'discard') batches.pop();
      else if (this.lastBatch === 'rollover') this.carried = batches.pop()!;
    }
    return batches;
  }
}
