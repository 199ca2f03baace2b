// The tutorial's pairs data set in memory: random pairs of glyph images, label 0 (same character)
// or 1 (different), half of each, as examples/siamese/pairs.ts draws them from image folders.
import { gluon } from '../../src/browser.js';
import { seededRandom, type SeededRandom } from '../../src/data/sampler.js';

type HostArray = gluon.data.HostArray;
export type Pair = [HostArray, HostArray, HostArray];

export class GlyphPairs extends gluon.data.Dataset<Pair> {
  private readonly random: SeededRandom;
  private readonly byClass: number[][] = [];

  constructor(readonly images: gluon.data.GlyphDataset, readonly pairsPerEpoch: number, seed = 1) {
    super();
    images.items.forEach(([, , , label], i) => (this.byClass[label] ??= []).push(i));
    this.random = seededRandom(seed);
  }

  get length(): number {
    return this.pairsPerEpoch;
  }

  /** Ignores the index, like the tutorial: every read draws a fresh random pair. */
  get(): Pair {
    const pick = (n: number) => Math.floor(this.random() * n);
    const first = pick(this.images.length);
    const sameClass = this.random() < 0.5;
    const [a, la] = this.images.get(first);
    const second = sameClass ? this.byClass[la][pick(this.byClass[la].length)] : pick(this.images.length);
    const [b, lb] = this.images.get(second);
    return [a, b, new gluon.data.HostArray(Float32Array.of(la === lb ? 0 : 1), [1])];
  }
}
