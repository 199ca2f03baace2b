// The tutorial's pairs data set: an ImageFolderDataset whose items are random pairs of images
// with label 0 (same character) or 1 (different), half of each, from one or more alphabets.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HostArray, ImageFolderDataset } from '../../src/data/index.js';
import { seededRandom, type SeededRandom } from '../../src/data/sampler.js';
import { toChw as resampleToChw } from '../../src/data/resample.js';
import type { Transform } from '../../src/data/transforms.js';

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

/** How a pair's second image is drawn when the pair is negative. */
export type NegativeSampling = 'random' | 'same-alphabet';

export interface ImagePairsOptions {
  seed?: number;
  pairsPerEpoch?: number;
  /** 'random' (default): any other character; 'same-alphabet': another character of the first's alphabet (harder pairs). */
  negatives?: NegativeSampling;
  /**
   * 'pairs' (default): half same-character pairs (label 0), half different (label 1).
   * 'episode': every pair is same-character and each run of `episodeSize` consecutive pairs has
   * distinct characters, so the other rows of a batch are its negatives (for SDMLLoss).
   */
  mode?: 'pairs' | 'episode';
  episodeSize?: number;
  /** Applied to each image (HxWx1 uint8) with a seed drawn per image before any await: deterministic with workers. */
  augment?: Transform;
}

export class ImagePairs extends ImageFolderDataset<Pair> {
  private readonly random: SeededRandom;
  private readonly byClass: number[][] = [];
  /** The alphabet (index into the roots) of each class, and each alphabet's classes. */
  readonly alphabetOf: number[] = [];
  private readonly classesOfAlphabet: number[][] = [];
  readonly negatives: NegativeSampling;
  readonly mode: 'pairs' | 'episode';
  readonly episodeSize: number;
  private readonly augment: Transform | undefined;
  /** Pairs drawn so far (episode mode starts a new permutation of characters every episodeSize). */
  private drawn = 0;
  private episode: number[] = [];

  /**
   * `roots`: alphabet folders; their characters together are the classes. A character folder
   * reached twice (the same alphabet given twice, or an alphabet and its parent) counts once.
   */
  constructor(roots: readonly string[], opts: ImagePairsOptions = {}) {
    super(roots[0], { flag: 0 });
    const seen = new Set<string>();
    this.synsets.forEach((s) => characterKeys(join(roots[0], s)).forEach((k) => seen.add(k)));
    this.synsets.forEach(() => this.alphabetOf.push(0));
    roots.slice(1).forEach((root, r) => {
      const other = new ImageFolderDataset(root, { flag: 0 });
      const offsets = new Map<number, number>();
      other.synsets.forEach((s, l) => {
        const keys = characterKeys(join(root, s));
        if (keys.some((k) => seen.has(k))) return;
        keys.forEach((k) => seen.add(k));
        offsets.set(l, this.synsets.length);
        this.synsets.push(`${root}/${s}`);
        this.alphabetOf.push(r + 1);
      });
      this.items.push(...other.items.filter(([, l]) => offsets.has(l)).map(([p, l]) => [p, offsets.get(l)!] as [string, number]));
    });
    this.items.forEach(([, label], i) => (this.byClass[label] ??= []).push(i));
    this.alphabetOf.forEach((a, c) => (this.classesOfAlphabet[a] ??= []).push(c));
    this.random = seededRandom(opts.seed ?? 1);
    this.pairsPerEpoch = opts.pairsPerEpoch ?? this.items.length;
    this.negatives = opts.negatives ?? 'random';
    if (this.negatives !== 'random' && this.negatives !== 'same-alphabet') throw new Error(`webgluon: negatives must be 'random' or 'same-alphabet', got '${String(this.negatives)}'`);
    this.mode = opts.mode ?? 'pairs';
    this.episodeSize = opts.episodeSize ?? 16;
    if (this.mode === 'episode' && this.episodeSize > this.synsets.length) {
      throw new Error(`webgluon: an episode of ${this.episodeSize} distinct characters needs that many; the training data has ${this.synsets.length}`);
    }
    this.augment = opts.augment;
  }

  readonly pairsPerEpoch: number;

  override get length(): number {
    return this.pairsPerEpoch;
  }

  /** Number of distinct characters (classes). */
  get numClasses(): number {
    return this.synsets.length;
  }

  /**
   * The pair generator's PRNG state, for checkpoints: a data set given it with setRandomState()
   * draws the same pairs next. Every pair is drawn by get() before it awaits anything, so the
   * pairs follow the order of the get() calls whether images decode here or in workers.
   * (Episode mode also restarts its episode there: checkpoints fall between epochs, which hold
   * whole episodes when pairsPerEpoch is a multiple of episodeSize.)
   */
  getRandomState(): number {
    return this.random.getState();
  }
  setRandomState(state: number): void {
    this.random.setState(state);
    this.drawn = 0;
    this.episode = [];
  }

  /** The item indices of the next pair and whether they show the same character: never one image twice. */
  drawPair(): [first: number, second: number] {
    const pick = (n: number) => Math.floor(this.random() * n);
    /** Another image of the class of `item`, or the item itself when its class has one image. */
    const classmate = (item: number) => {
      const mates = this.byClass[this.items[item][1]];
      if (mates.length < 2) return item;
      const k = pick(mates.length - 1);
      const at = mates.indexOf(item);
      return mates[k >= at ? k + 1 : k];
    };
    if (this.mode === 'episode') {
      const slot = this.drawn++ % this.episodeSize;
      if (slot === 0) this.episode = shuffled(this.synsets.length, pick).slice(0, this.episodeSize);
      const images = this.byClass[this.episode[slot]];
      const first = images[pick(images.length)];
      return [first, classmate(first)];
    }
    const first = pick(this.items.length);
    const sameClass = this.random() < 0.5;
    if (sameClass) return [first, classmate(first)];
    const cls = this.items[first][1];
    const pool = this.negatives === 'same-alphabet' ? this.classesOfAlphabet[this.alphabetOf[cls]] : null;
    if (pool && pool.length >= 2) {
      const k = pick(pool.length - 1);
      const at = pool.indexOf(cls);
      const other = this.byClass[pool[k >= at ? k + 1 : k]];
      return [first, other[pick(other.length)]];
    }
    if (this.synsets.length < 2) return [first, classmate(first)];
    for (;;) {
      const second = pick(this.items.length);
      if (this.items[second][1] !== cls) return [first, second];
    }
  }

  /** Ignores the index, like the tutorial: every read draws a fresh random pair. */
  override async get(): Promise<Pair> {
    const [first, second] = this.drawPair();
    const seeds = this.augment ? [Math.floor(this.random() * 2 ** 32), Math.floor(this.random() * 2 ** 32)] : null;
    let [a, la] = await this.getImage(first);
    let [b, lb] = await this.getImage(second);
    if (this.augment && seeds) {
      a = this.augment.forward(a, seeds[0]);
      b = this.augment.forward(b, seeds[1]);
    }
    // A (1,) label per pair, as the tutorial's mx.nd.array([…]): batches are (N, 1) like the loss.
    return [a, b, new HostArray(Float32Array.of(la === lb ? 0 : 1), [1])];
  }
}

/**
 * What identifies a character folder: its real path, and its images' names and sizes, so that the
 * same character reached twice counts once, whether through the same folder (an alphabet and its
 * parent both given) or a copy (Omniglot's images_background_small1 and _small2 both hold Greek and
 * Latin, file for file).
 */
function characterKeys(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  const signature = files.map((f) => `${f}:${statSync(join(dir, f)).size}`).join('|');
  return [`path:${realpathSync(dir)}`, ...(files.length > 0 ? [`files:${signature}`] : [])];
}

/** A permutation of 0..n-1 (Fisher-Yates) from `pick`. */
function shuffled(n: number, pick: (n: number) => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = pick(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * HxWx1 uint8 → 1xSxS float32 in [0, 1], as the tutorial's transform; S < H averages blocks of
 * pixels (area resampling) so that thin strokes survive a smaller image.
 */
export function toChw(image: HostArray, size = image.shape[0]): HostArray {
  const [h, w] = image.shape;
  if (size === h && size === w) return image.astype('float32').transpose([2, 0, 1]).div(255);
  return resampleToChw(image, size);
}
