// PNG decoding/encoding against PNGs built byte by byte from the spec (tests/data_fixtures.ts) and
// against real 1-bit Omniglot files read by an independent decoder.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostArray } from '../src/data/host_array.js';
import { decodePng, encodePng, readPng } from '../src/data/png.js';
import { CHANNELS_OF_COLOR_TYPE, OMNIGLOT_DIR, hashInt, makeTempDir, readGrayPng, writeRawPng } from './data_fixtures.js';

const W = 7; // odd widths exercise the bit packing of 1/2/4-bit rows
const H = 5;

/** Raw samples of one test image, and the 8-bit RGB each pixel should decode to. */
function testImage(colorType: 0 | 2 | 3 | 4 | 6, depth: 1 | 2 | 4 | 8 | 16) {
  const channels = CHANNELS_OF_COLOR_TYPE[colorType];
  const max = 2 ** depth - 1;
  const palette: [number, number, number][] = Array.from({ length: 16 }, (_, i) => [hashInt(1, i, 256), hashInt(2, i, 256), hashInt(3, i, 256)]);
  const samples: number[][] = [];
  const rgb: number[][] = [];
  for (let y = 0; y < H; y++) {
    const row: number[] = [];
    for (let x = 0; x < W; x++) {
      const values = Array.from({ length: channels }, (_, c) => hashInt(depth * 10 + colorType, (y * W + x) * 4 + c, colorType === 3 ? 16 : max + 1));
      row.push(...values);
      // Expected 8-bit colour, by the conventions png.ts documents: high byte of 16-bit, n-bit stretched.
      const to8 = (v: number) => (depth === 16 ? v >> 8 : depth < 8 ? (v * 255) / max : v);
      if (colorType === 3) rgb.push(palette[values[0]]);
      else if (colorType === 0 || colorType === 4) rgb.push([to8(values[0]), to8(values[0]), to8(values[0])]);
      else rgb.push(values.slice(0, 3).map(to8));
    }
    samples.push(row);
  }
  const bytes = writeRawPng({ width: W, height: H, colorType, depth, samples, palette: colorType === 3 ? palette : undefined });
  return { bytes, rgb };
}

const CASES: [string, 0 | 2 | 3 | 4 | 6, 1 | 2 | 4 | 8 | 16][] = [
  ['gray 1-bit', 0, 1],
  ['gray 2-bit', 0, 2],
  ['gray 4-bit', 0, 4],
  ['gray 8-bit', 0, 8],
  ['gray 16-bit', 0, 16],
  ['gray+alpha 8-bit', 4, 8],
  ['gray+alpha 16-bit', 4, 16],
  ['RGB 8-bit', 2, 8],
  ['RGB 16-bit', 2, 16],
  ['RGBA 8-bit', 6, 8],
  ['RGBA 16-bit', 6, 16],
  ['palette 4-bit', 3, 4],
  ['palette 8-bit', 3, 8],
];

describe('decodePng', () => {
  for (const [name, colorType, depth] of CASES) {
    it(`decodes ${name} to HxWx3 (flag 1) and HxWx1 (flag 0)`, () => {
      const { bytes, rgb } = testImage(colorType, depth);
      const color = decodePng(bytes, `${name}.png`, 1);
      expect(color.shape).toEqual([H, W, 3]);
      expect(color.dtype).toBe('uint8');
      expect(Array.from(color.data)).toEqual(rgb.flat());
      const gray = decodePng(bytes, `${name}.png`, 0);
      expect(gray.shape).toEqual([H, W, 1]);
      expect(Array.from(gray.data)).toEqual(rgb.map(([r, g, b]) => Math.round(0.299 * r + 0.587 * g + 0.114 * b)));
    });
  }

  it('keeps 1-bit gray as exactly 0 and 255', () => {
    const { bytes } = testImage(0, 1);
    expect(new Set(decodePng(bytes, 'x.png', 0).data)).toEqual(new Set([0, 255]));
  });
});

describe('decodePng errors', () => {
  const temp = makeTempDir('png-errors');
  afterAll(temp.remove);
  const valid = testImage(2, 8).bytes;

  it('names the path of a truncated file', async () => {
    const path = join(temp.dir, 'truncated.png');
    writeFileSync(path, valid.subarray(0, valid.length - 30));
    await expect(readPng(path, 1)).rejects.toThrow(/cannot decode PNG .*truncated\.png: /);
  });

  it('names the path of a file that is not a PNG', async () => {
    const path = join(temp.dir, 'garbage.png');
    writeFileSync(path, Buffer.from('this is not an image at all'));
    await expect(readPng(path, 0)).rejects.toThrow(`cannot decode ${path}: not a PNG file`);
  });

  it('names the path of a corrupted IDAT', () => {
    const corrupt = Buffer.from(valid);
    corrupt.fill(0x55, 45, 60); // inside the deflate stream of IDAT
    expect(() => decodePng(corrupt, '/data/bad.png', 1)).toThrow(/\/data\/bad\.png/);
  });

  it('names the path of a missing file', async () => {
    const path = join(temp.dir, 'missing.png');
    await expect(readPng(path, 1)).rejects.toThrow(`cannot read image ${path}: ENOENT`);
  });

  it('says only PNG is supported for .jpg files and JPEG bytes', async () => {
    await expect(readPng(join(temp.dir, 'photo.jpg'), 1)).rejects.toThrow(/photo\.jpg: only PNG is supported/);
    const jpegBytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
    expect(() => decodePng(jpegBytes, 'renamed.png', 1)).toThrow('renamed.png: it is a JPEG file; only PNG is supported');
  });

  it('rejects flags other than 0 and 1', () => {
    expect(() => decodePng(valid, 'x.png', 2 as 0)).toThrow(/flag must be 0 .* got 2 for x\.png/);
  });
});

describe('encodePng', () => {
  for (const channels of [1, 3, 4]) {
    it(`round-trips a ${channels}-channel uint8 image and writes colour type ${{ 1: 0, 3: 2, 4: 6 }[channels]}`, () => {
      const data = Uint8Array.from({ length: H * W * channels }, (_, i) => hashInt(channels, i, 256));
      const bytes = encodePng(new HostArray(data, [H, W, channels]));
      expect(bytes[24]).toBe(8); // IHDR bit depth
      expect(bytes[25]).toBe({ 1: 0, 3: 2, 4: 6 }[channels]); // IHDR colour type
      const decoded = decodePng(bytes, 'roundtrip.png', channels === 1 ? 0 : 1);
      const expected = channels === 4 ? data.filter((_, i) => i % 4 !== 3) : data;
      expect(Array.from(decoded.data)).toEqual(Array.from(expected));
    });
  }

  it('accepts HxW as grayscale and rejects float data or 2 channels', () => {
    const gray = new HostArray(Uint8Array.from([0, 64, 128, 255]), [2, 2]);
    expect(Array.from(decodePng(encodePng(gray), 'g.png', 0).data)).toEqual([0, 64, 128, 255]);
    expect(() => encodePng(gray.astype('float32'))).toThrow(/needs a uint8 image, got float32 \(2, 2\)/);
    expect(() => encodePng(new HostArray(new Uint8Array(8), [2, 2, 2]))).toThrow(/got \(2, 2, 2\)/);
  });
});

describe.skipIf(!existsSync(OMNIGLOT_DIR))('Omniglot PNGs (1-bit gray)', () => {
  const characterDir = join(OMNIGLOT_DIR, 'images_background_small1', 'Greek', 'character01');
  const files = readdirSync(characterDir).slice(0, 5).map((f) => join(characterDir, f));

  it('decode to 105x105x1 with only 0 and 255, as an independent decoder reads them', async () => {
    for (const file of files) {
      const image = await readPng(file, 0);
      expect(image.shape).toEqual([105, 105, 1]);
      const reference = readGrayPng(readFileSync(file));
      expect(reference.width).toBe(105);
      expect(Array.from(image.data)).toEqual(reference.pixels);
      expect(new Set(image.data)).toEqual(new Set([0, 255])); // ink and paper both present
    }
  });

  it('decode with flag 1 to three equal channels', async () => {
    const gray = await readPng(files[0], 0);
    const color = await readPng(files[0], 1);
    expect(color.shape).toEqual([105, 105, 3]);
    expect(Array.from(color.data.filter((_, i) => i % 3 === 1))).toEqual(Array.from(gray.data));
  });
});
