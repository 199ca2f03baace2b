// The built-in glyph data set in memory, for browsers and for callers that want no files: the
// alphabets, characters and drawers that glyphs.ts writes as PNG files, here as HostArrays of the
// same pixels (HxWx1 uint8, 255 paper and 0 ink: what decoding those files with flag 0 gives).
// Strokes and rasterisation: glyph_strokes.ts; the seeds are glyphs.ts's, so the two agree image for image.
import { Dataset } from './dataset.js';
import { deriveSeed, drawSample, makeAlphabetStyle, makeCharacter, makeRng, rasterizeStrokes, type AlphabetStyle, type Character } from './glyph_strokes.js';
import { HostArray } from './host_array.js';

export interface GlyphImagesOptions {
  alphabets?: number;
  charactersPerAlphabet?: number;
  drawers?: number;
  /** Image side in pixels (the strokes are drawn at this size, as glyphs.ts draws its files). */
  size?: number;
  seed?: number;
}

/** glyphs.ts's defaults: 6 alphabets × 20 characters × 20 drawers, 105×105, seed 1. */
export const GLYPH_DEFAULTS: Required<GlyphImagesOptions> = { alphabets: 6, charactersPerAlphabet: 20, drawers: 20, size: 105, seed: 1 };

/** The number of alphabets glyphs.ts's builtinDataset holds out for testing (the last ones). */
export const GLYPH_HELD_OUT_ALPHABETS = 2;

function resolve(options: GlyphImagesOptions): Required<GlyphImagesOptions> {
  const o = { ...GLYPH_DEFAULTS, ...options };
  for (const [name, min] of [['alphabets', 1], ['charactersPerAlphabet', 1], ['drawers', 1], ['size', 8], ['seed', 0]] as const) {
    if (!Number.isInteger(o[name]) || o[name] < min) throw new Error(`webgluon: glyph images: ${name} must be an integer >= ${min}, got ${o[name]}`);
  }
  return o;
}

/** The inked pixels as an image: 255 where there is paper, 0 where there is ink, HxWx1. */
function inkToImage(ink: Uint8Array, size: number): HostArray {
  const pixels = new Uint8Array(size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ink[i] ? 0 : 255;
  return new HostArray(pixels, [size, size, 1]);
}

/**
 * The characters of a set of synthetic alphabets, drawn on demand and kept: `image(a, c, d)` is
 * drawer d's copy of character c of alphabet a, equal to glyphs.ts's file
 * `Alphabet_a/character_c/…_d.png` decoded with flag 0.
 */
export class GlyphImages {
  readonly options: Required<GlyphImagesOptions>;
  private readonly styles = new Map<number, AlphabetStyle>();
  private readonly characters = new Map<string, Character>();
  private readonly images = new Map<string, HostArray>();

  constructor(options: GlyphImagesOptions = {}) {
    this.options = resolve(options);
  }

  get size(): number {
    return this.options.size;
  }

  /** Drawer `drawer`'s copy of character `character` of alphabet `alphabet` (all from 0). */
  image(alphabet: number, character: number, drawer: number): HostArray {
    const { alphabets, charactersPerAlphabet, drawers, size, seed } = this.options;
    for (const [name, v, n] of [['alphabet', alphabet, alphabets], ['character', character, charactersPerAlphabet], ['drawer', drawer, drawers]] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new RangeError(`webgluon: glyph ${name} ${v} is out of range 0..${n - 1}`);
    }
    const key = `${alphabet}/${character}/${drawer}`;
    let image = this.images.get(key);
    if (!image) {
      const sample = drawSample(this.character(alphabet, character), this.style(alphabet), makeRng(deriveSeed(seed, 3, alphabet, character, drawer)));
      image = inkToImage(rasterizeStrokes(sample.strokes, sample.penRadius, size), size);
      this.images.set(key, image);
    }
    return image;
  }

  private style(alphabet: number): AlphabetStyle {
    let style = this.styles.get(alphabet);
    if (!style) this.styles.set(alphabet, (style = makeAlphabetStyle(makeRng(deriveSeed(this.options.seed, 1, alphabet)))));
    return style;
  }

  private character(alphabet: number, character: number): Character {
    const key = `${alphabet}/${character}`;
    let c = this.characters.get(key);
    if (!c) this.characters.set(key, (c = makeCharacter(this.style(alphabet), makeRng(deriveSeed(this.options.seed, 2, alphabet, character)))));
    return c;
  }
}

/**
 * ImageFolderDataset's items for a list of alphabets, in memory: every drawer's copy of every
 * character, `[image HxWx1 uint8, label]`, where the classes are the characters of the alphabets
 * taken together (`synsets[label]` is `Alphabet_NN/characterMM`, 1-based as glyphs.ts names folders).
 */
export class GlyphDataset extends Dataset<[HostArray, number]> {
  readonly glyphs: GlyphImages;
  readonly synsets: string[] = [];
  /** [alphabet, character, drawer, label] of each sample. */
  readonly items: [number, number, number, number][] = [];

  constructor(glyphs: GlyphImages, alphabets: readonly number[]) {
    super();
    this.glyphs = glyphs;
    const { charactersPerAlphabet, drawers } = glyphs.options;
    for (const a of alphabets) {
      for (let c = 0; c < charactersPerAlphabet; c++) {
        const label = this.synsets.length;
        this.synsets.push(`Alphabet_${String(a + 1).padStart(2, '0')}/character${String(c + 1).padStart(2, '0')}`);
        for (let d = 0; d < drawers; d++) this.items.push([a, c, d, label]);
      }
    }
  }

  get length(): number {
    return this.items.length;
  }

  get(i: number): [HostArray, number] {
    this.checkIndex(i);
    const [a, c, d, label] = this.items[i];
    return [this.glyphs.image(a, c, d), label];
  }

  override source(i: number): string | null {
    const [a, c, d] = this.items[i] ?? [];
    return a === undefined ? null : `glyph alphabet ${a}, character ${c}, drawer ${d}`;
  }
}
