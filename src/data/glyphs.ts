// The built-in data set: synthetic handwritten-like alphabets written to disk in Omniglot's layout, the
// default data of the Siamese contrastive-loss example when there is no Omniglot. Strokes: glyph_strokes.ts.
//
// Layout: `root/Alphabet_NN/characterMM/KKKK_DD.png`, like Omniglot's `Latin/character01/0683_01.png`:
// KKKK is a character id unique across the set, DD the drawer (01..drawers). Each image is a size×size
// 1-bit grayscale PNG, white background (bit 1, 255 after decoding) and black strokes (0), as Omniglot's.
// Each alphabet folder is a class-per-subfolder root for `ImageFolderDataset` (classes = characters).
// Train/test convention (`builtinDataset`): the last `HELD_OUT_ALPHABETS` alphabets are held out for
// testing and one-shot runs, the others are for training; the folders stay flat under `root`.
// The set is a cache: built in `root.tmp-<pid>-<n>`, renamed into place, and reused while `root/.complete`
// holds the same options.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { publishDirectory } from './atomic_write.js';
import {
  deriveSeed,
  drawSample,
  makeAlphabetStyle,
  makeCharacter,
  makeRng,
  rasterizeStrokes,
} from './glyph_strokes.js';

export interface GlyphDatasetOptions {
  /** Folder to create (or reuse). */
  root: string;
  alphabets?: number;
  charactersPerAlphabet?: number;
  drawers?: number;
  /** Image side in pixels. */
  size?: number;
  seed?: number;
}

export interface BuiltinDataset {
  root: string;
  /** Alphabet folders for training, each a root for `ImageFolderDataset`. */
  trainDirs: string[];
  /** Held-out alphabet folders, for testing and one-shot runs. */
  testDirs: string[];
}

export const HELD_OUT_ALPHABETS = 2;
export const COMPLETE_MARKER = '.complete';
// Bump when the drawing model changes, so caches made by an older generator are rebuilt.
const GENERATOR_VERSION = 1;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`webgluon: generateGlyphDataset: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

// zlib.crc32 only exists from Node 20.15; the PNG chunk CRC is small enough to carry here.
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), data])), 0);
  return Buffer.concat([header, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Encodes a mask (1 = ink) as a 1-bit grayscale PNG with ink black. pngjs only encodes 8 and 16 bits,
 * and Omniglot's files are 1-bit, so this writes the few chunks itself.
 */
export function encodeInkPng(ink: Uint8Array, width: number, height: number): Buffer {
  const rowBytes = Math.ceil(width / 8);
  const raw = Buffer.alloc((rowBytes + 1) * height); // each row: filter type 0, then packed bits
  for (let y = 0; y < height; y++) {
    const row = y * (rowBytes + 1) + 1;
    for (let x = 0; x < width; x++) {
      if (!ink[y * width + x]) raw[row + (x >> 3)]! |= 0x80 >> (x & 7);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function resolveOptions(options: GlyphDatasetOptions): Required<GlyphDatasetOptions> {
  const resolved = { alphabets: 6, charactersPerAlphabet: 20, drawers: 20, size: 105, seed: 1, ...options };
  checkCount('alphabets', resolved.alphabets, 1);
  checkCount('charactersPerAlphabet', resolved.charactersPerAlphabet, 1);
  checkCount('drawers', resolved.drawers, 1);
  checkCount('size', resolved.size, 8);
  checkCount('seed', resolved.seed, 0);
  return resolved;
}

export function alphabetDirName(index: number, alphabets: number): string {
  return `Alphabet_${pad(index + 1, Math.max(2, String(alphabets).length))}`;
}

/** Writes every alphabet into `dir`; pure function of the options apart from the folder name. */
async function writeAlphabets(dir: string, options: Required<GlyphDatasetOptions>): Promise<void> {
  const { alphabets, charactersPerAlphabet, drawers, size, seed } = options;
  const idWidth = Math.max(4, String(alphabets * charactersPerAlphabet).length);
  const characterWidth = Math.max(2, String(charactersPerAlphabet).length);
  const drawerWidth = Math.max(2, String(drawers).length);
  for (let a = 0; a < alphabets; a++) {
    const style = makeAlphabetStyle(makeRng(deriveSeed(seed, 1, a)));
    const alphabetDir = join(dir, alphabetDirName(a, alphabets));
    for (let c = 0; c < charactersPerAlphabet; c++) {
      const character = makeCharacter(style, makeRng(deriveSeed(seed, 2, a, c)));
      const characterDir = join(alphabetDir, `character${pad(c + 1, characterWidth)}`);
      await fs.mkdir(characterDir, { recursive: true });
      const id = pad(a * charactersPerAlphabet + c + 1, idWidth);
      const writes: Promise<void>[] = [];
      for (let d = 0; d < drawers; d++) {
        const sample = drawSample(character, style, makeRng(deriveSeed(seed, 3, a, c, d)));
        const png = encodeInkPng(rasterizeStrokes(sample.strokes, sample.penRadius, size), size, size);
        writes.push(fs.writeFile(join(characterDir, `${id}_${pad(d + 1, drawerWidth)}.png`), png));
      }
      await Promise.all(writes);
    }
  }
}

/**
 * Generates (or reuses) the synthetic alphabets under `options.root` and returns the root.
 * Deterministic: the same options give byte-identical files.
 */
export async function generateGlyphDataset(options: GlyphDatasetOptions): Promise<string> {
  const resolved = resolveOptions(options);
  const { root, ...content } = resolved;
  await publishDirectory({
    finalDir: root,
    markerName: COMPLETE_MARKER,
    markerContent: JSON.stringify({ generator: 'webgluon-glyphs', version: GENERATOR_VERSION, ...content }) + '\n',
    build: (tempDir) => writeAlphabets(tempDir, resolved),
  });
  return root;
}

/**
 * The default data set in `cacheDir/glyphs`: 6 alphabets × 20 characters × 20 drawers, 105×105, seed 1.
 * Alphabets 01..04 train, 05..06 are held out (see the opening comment).
 */
export async function builtinDataset(
  cacheDir: string,
  options: Omit<GlyphDatasetOptions, 'root'> = {},
): Promise<BuiltinDataset> {
  const alphabets = options.alphabets ?? 6;
  if (alphabets <= HELD_OUT_ALPHABETS) {
    throw new Error(
      `webgluon: builtinDataset(${cacheDir}) needs more than ${HELD_OUT_ALPHABETS} alphabets, got ${alphabets}`,
    );
  }
  const root = await generateGlyphDataset({ ...options, root: join(cacheDir, 'glyphs') });
  const dirs = Array.from({ length: alphabets }, (_, a) => join(root, alphabetDirName(a, alphabets)));
  return { root, trainDirs: dirs.slice(0, -HELD_OUT_ALPHABETS), testDirs: dirs.slice(-HELD_OUT_ALPHABETS) };
}
