// The tutorial's pairs data set: an ImageFolderDataset whose items are random pairs of images
// with label 0 (same character) or 1 (different), half of each, from one or more alphabets.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HostArray, ImageFolderDataset } from '../../src/data/index.js';
import { seededRandom, type SeededRandom } from '../../src/data/sampler.js';

export type Pair = [HostArray, HostArray, HostArray];

/** An alphabet folder holds character folders of PNGs; a folder of alphabets holds those. */
export function alphabetDirs(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`webgluon: the data folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`webgluon: the data folder ${dir} is a file, not a folder`);
  const subdirs = readdirSync(dir).sort().map((d) => join(dir, d)).filter((d) => statSync(d).isDirectory());
  if (subdirs.length === 0) {
    throw new Error(`webgluon: the data folder ${dir} has no sub-folders; expected an alphabet (${dir}/<character>/<image>.png) ` +
      `or a folder of alphabets (${dir}/<alphabet>/<character>/<image>.png)`);
  }
  const isAlphabet = subdirs.some((d) => readdirSync(d).some((f) => f.toLowerCase().endsWith('.png')));
  return isAlphabet ? [dir] : subdirs;
}

export class ImagePairs extends ImageFolderDataset<Pair> {
  private readonly random: SeededRandom;
  private readonly byClass: number[][] = [];

  /** `roots`: alphabet folders; their characters together are the classes. */
  constructor(roots: readonly string[], opts: { seed?: number; pairsPerEpoch?: number } = {}) {
    super(roots[0], { flag: 0 });
    for (const root of roots.slice(1)) {
      const other = new ImageFolderDataset(root, { flag: 0 });
      const offset = this.synsets.length;
      this.synsets.push(...other.synsets.map((s) => `${root}/${s}`));
      this.items.push(...other.items.map(([p, l]) => [p, l + offset] as [string, number]));
    }
    this.items.forEach(([, label], i) => (this.byClass[label] ??= []).push(i));
    this.random = seededRandom(opts.seed ?? 1);
    this.pairsPerEpoch = opts.pairsPerEpoch ?? this.items.length;
  }

  readonly pairsPerEpoch: number;

  override get length(): number {
    return this.pairsPerEpoch;
  }

  /**
   * The pair generator's PRNG state, for checkpoints: a data set given it with setRandomState()
   * draws the same pairs next. Every pair is drawn by get() before it awaits anything, so the
   * pairs follow the order of the get() calls whether images decode here or in workers.
   */
  getRandomState(): number {
    return this.random.getState();
  }
  setRandomState(state: number): void {
    this.random.setState(state);
  }

  /** Ignores the index, like the tutorial: every read draws a fresh random pair. */
  override async get(): Promise<Pair> {
    const pick = (n: number) => Math.floor(this.random() * n);
    const first = pick(this.items.length);
    const sameClass = this.random() < 0.5;
    const classmates = this.byClass[this.items[first][1]];
    const second = sameClass ? classmates[pick(classmates.length)] : pick(this.items.length);
    const [a, la] = await this.getImage(first);
    const [b, lb] = await this.getImage(second);
    // A (1,) label per pair, as the tutorial's mx.nd.array([…]): batches are (N, 1) like the loss.
    return [a, b, new HostArray(Float32Array.of(la === lb ? 0 : 1), [1])];
  }
}

/**
 * HxWx1 uint8 → 1xSxS float32 in [0, 1], as the tutorial's transform; S < H averages blocks of
 * pixels (area resampling) so that thin strokes survive a smaller image.
 */
export function toChw(image: HostArray, size = image.shape[0]): HostArray {
  const [h, w] = image.shape;
  const src = image.data;
  if (size === h && size === w) return image.astype('float32').transpose([2, 0, 1]).div(255);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const y0 = (y * h) / size;
    const y1 = ((y + 1) * h) / size;
    for (let x = 0; x < size; x++) {
      const x0 = (x * w) / size;
      const x1 = ((x + 1) * w) / size;
      let sum = 0;
      let area = 0;
      for (let sy = Math.floor(y0); sy < Math.ceil(y1); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.ceil(x1); sx++) {
          const wx = Math.min(x1, sx + 1) - Math.max(x0, sx);
          sum += wy * wx * src[sy * w + sx];
          area += wy * wx;
        }
      }
      out[y * size + x] = sum / area / 255;
    }
  }
  return new HostArray(out, [1, size, size]);
}
