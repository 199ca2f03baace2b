// Which samples go in which batch, epoch after epoch (gluon.data.sampler): sequential or shuffled
// by a seedable PRNG, cut with MXNet's lastBatch rules. The DataLoader asks it for each epoch.

export type LastBatch = 'keep' | 'discard' | 'rollover';

/**
 * A seeded PRNG: call it for the next number in [0, 1). Its whole state is one 32-bit integer,
 * which `getState()` reads and `setState()` restores, so a checkpoint can continue the sequence.
 */
export interface SeededRandom {
  (): number;
  getState(): number;
  setState(state: number): void;
}

/** Checks a saved PRNG or sampler state read back from a file: a 32-bit unsigned integer. */
export function checkRandomState(where: string, state: unknown): number {
  if (typeof state !== 'number' || !Number.isInteger(state) || state < 0 || state > 0xffffffff) {
    throw new Error(`webgluon: ${where} must be a 32-bit unsigned integer (a PRNG state), got ${JSON.stringify(state)}`);
  }
  return state;
}

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same epochs on every machine. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, {
    getState: () => state,
    setState: (s: number) => {
      state = checkRandomState('the PRNG state', s);
    },
  });
}

/** Where a BatchSampler stands between epochs: its PRNG and the indices 'rollover' carries over. */
export interface SamplerState {
  random: number;
  carried: number[];
}

export class BatchSampler {
  private readonly random: SeededRandom;
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

  /** The state between epochs, for a checkpoint: restoring it with setState() repeats the next epochs. */
  getState(): SamplerState {
    return { random: this.random.getState(), carried: [...this.carried] };
  }

  /** Restores a state from getState(); checks it, so that a tampered or foreign one changes nothing. */
  setState(state: SamplerState): void {
    if (typeof state !== 'object' || state === null) throw new Error(`webgluon: a sampler state must be {random, carried}, got ${JSON.stringify(state)}`);
    const random = checkRandomState('the sampler state\'s random', state.random);
    const carried = state.carried;
    if (!Array.isArray(carried) || carried.length >= this.batchSize ||
      !carried.every((i) => Number.isInteger(i) && i >= 0 && i < this.datasetLength)) {
      throw new Error(`webgluon: the sampler state's carried indices must be fewer than the batch size ${this.batchSize}, ` +
        `each an index of the ${this.datasetLength} samples; got ${JSON.stringify(carried)}`);
    }
    this.random.setState(random);
    this.carried = [...carried];
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
