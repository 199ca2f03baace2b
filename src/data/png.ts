// PNG files ↔ HostArray with pngjs, following MXNet's image.imread (OpenCV) conventions: flag 0 gives
// HxWx1 grayscale, flag 1 gives HxWx3 RGB, both uint8. Used by ImageFolderDataset and the decode workers.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { PNG, type ColorType } from 'pngjs';
import { HostArray, formatShape } from './host_array.js';

/** MXNet's imread flag: 0 → grayscale (HxWx1), 1 → colour (HxWx3). */
export type ImageFlag = 0 | 1;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return bytes.length >= signature.length && signature.every((b, i) => bytes[i] === b);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** pngjs's messages, said in terms of the file (a cut file shows up as a stream still waiting). */
function pngjsReason(error: unknown, length: number): string {
  const why = reason(error);
  if (/read requests waitng|unexpected end|Unexpected end/i.test(why)) return `the file ends early after ${length} bytes (truncated or partly written?)`;
  if (/crc/i.test(why)) return `a chunk's checksum does not match (the file is corrupt: ${why})`;
  if (/unrecognised content|invalid (stored|distance|code|block)|incorrect header|unexpected end of file/i.test(why)) {
    return `its compressed pixel data is corrupt (zlib: ${why})`;
  }
  return why;
}

function checkFlag(flag: number, path: string): asserts flag is ImageFlag {
  if (flag !== 0 && flag !== 1) throw new Error(`webgluon: image flag must be 0 (grayscale) or 1 (colour), got ${flag} for ${path}`);
}

/**
 * pngjs expands every PNG to RGBA; with `skipRescale` it leaves samples at their bit depth, so the
 * scaling to 8 bits is done here the way libpng does for OpenCV: 16-bit keeps the high byte
 * (png_set_strip_16), 1/2/4-bit gray is stretched to 0..255 (1-bit Omniglot ink becomes 0/255).
 */
function eightBitSampler(png: { depth: number; palette: boolean }, data: ArrayLike<number>): (i: number) => number {
  if (png.palette || png.depth === 8) return (i) => data[i]; // palette entries are already 8-bit
  if (png.depth === 16) return (i) => data[i] >> 8;
  const scale = 255 / (2 ** png.depth - 1);
  return (i) => data[i] * scale;
}

/**
 * Decodes PNG bytes into a HxWx1 (flag 0) or HxWx3 (flag 1) uint8 HostArray. Alpha is dropped, as
 * OpenCV's IMREAD_COLOR / IMREAD_GRAYSCALE do (not composited). `path` only serves error messages.
 * Known difference: pngjs turns pixels matching a gray/RGB tRNS colour to 0; OpenCV keeps them.
 */
export function decodePng(bytes: Uint8Array, path: string, flag: ImageFlag = 1): HostArray {
  checkFlag(flag, path);
  if (startsWith(bytes, JPEG_SIGNATURE)) throw new Error(`webgluon: cannot decode ${path}: it is a JPEG file; only PNG is supported`);
  if (!startsWith(bytes, PNG_SIGNATURE)) throw new Error(`webgluon: cannot decode ${path}: not a PNG file (bad signature)`);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    png = PNG.sync.read(buffer, { skipRescale: true });
  } catch (error) {
    throw new Error(`webgluon: cannot decode PNG ${path}: ${pngjsReason(error, bytes.length)}`, { cause: error });
  }
  const { width, height } = png;
  // 16-bit images come back as a Uint16Array despite the Buffer type in @types/pngjs.
  const rgba = png.data as unknown as ArrayLike<number>;
  if (rgba.length !== width * height * 4) {
    throw new Error(`webgluon: cannot decode PNG ${path}: expected ${width * height * 4} RGBA samples, pngjs returned ${rgba.length}`);
  }
  const sample = eightBitSampler(png, rgba);
  const pixels = width * height;
  if (flag === 1) {
    const out = new Uint8Array(pixels * 3);
    for (let p = 0; p < pixels; p++) {
      out[3 * p] = sample(4 * p);
      out[3 * p + 1] = sample(4 * p + 1);
      out[3 * p + 2] = sample(4 * p + 2);
    }
    return new HostArray(out, [height, width, 3]);
  }
  const out = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    // OpenCV's RGB→gray weights (ITU-R BT.601); gray sources have R = G = B and come back unchanged.
    out[p] = Math.round(0.299 * sample(4 * p) + 0.587 * sample(4 * p + 1) + 0.114 * sample(4 * p + 2));
  }
  return new HostArray(out, [height, width, 1]);
}

/** Reads and decodes one image file; errors name the path. Only PNG can be decoded. */
export async function readPng(path: string, flag: ImageFlag = 1): Promise<HostArray> {
  checkFlag(flag, path);
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') {
    throw new Error(`webgluon: cannot decode ${path}: only PNG is supported (this is a ${ext} file); convert the images to PNG`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`webgluon: cannot read image ${path}: ${reason(error)}`, { cause: error });
  }
  return decodePng(bytes, path, flag);
}

const COLOR_TYPE_OF_CHANNELS: Record<number, ColorType | undefined> = { 1: 0, 3: 2, 4: 6 };

/** Encodes a HxWxC (or HxW) uint8 HostArray, C in 1 | 3 | 4, as an 8-bit gray / RGB / RGBA PNG. */
export function encodePng(image: HostArray): Buffer {
  if (image.dtype !== 'uint8') {
    throw new Error(`webgluon: encodePng needs a uint8 image, got ${image.dtype} ${formatShape(image.shape)}; scale to 0..255 and call .astype('uint8')`);
  }
  const [height, width, channels = 1] = image.shape;
  const colorType = COLOR_TYPE_OF_CHANNELS[channels];
  if ((image.ndim !== 2 && image.ndim !== 3) || colorType === undefined) {
    throw new Error(`webgluon: encodePng needs an image of shape (H, W) or (H, W, C) with C in 1, 3, 4; got ${formatShape(image.shape)}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  // Same input and output colour type at 8 bits: pngjs writes the bytes through unchanged.
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 });
}
