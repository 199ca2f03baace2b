// PNG files ↔ HostArray with pngjs, following MXNet's image.imread (OpenCV) conventions: flag 0 gives
// HxWx1 grayscale, flag 1 gives HxWx3 RGB, both uint8. Used by ImageFolderDataset and the decode workers.
import { DataError } from '../base/errors.js';
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { inflateSync } from 'node:zlib';
import { PNG, type ColorType } from 'pngjs';
import { HostArray, formatShape } from './host_array.js';

/** MXNet's imread flag: 0 → grayscale (HxWx1), 1 → colour (HxWx3). */
export type ImageFlag = 0 | 1;

/**
 * Limits on the image files read, so that a hostile or broken image folder fails with an error
 * naming the file and the limit instead of exhausting memory or hanging the loader. Each limit is a
 * positive number; `Infinity` turns it off. Only regular files (or symlinks to regular files) are
 * ever read: FIFOs, devices, sockets and folders are refused from `stat`, before they are opened.
 */
export interface ImageLimits {
  /**
   * Largest image file read, in bytes. Default 64 MiB (67_108_864). Checked with `stat` before
   * the file is opened, with `fstat` once it is, and while reading (a file that grows is cut off).
   */
  maxFileBytes?: number;
  /**
   * Largest image decoded, in pixels (width x height from the PNG header). Default 50_000_000
   * (about 7071 x 7071; 150 MB as HxWx3 uint8). Checked on the header before anything is
   * decompressed, so a small file claiming a huge image (a "PNG bomb") is refused without
   * allocating it. An interlaced PNG's pixel data is also refused if it inflates past what its
   * header implies.
   */
  maxPixels?: number;
  /**
   * Milliseconds reading one file (stat, open, read) may take before it fails naming the file,
   * e.g. on a stuck network file system. Default 30_000. In the DataLoader's decode workers, a worker
   * that answers nothing at all for twice this long (stuck decoding) is stopped, and the images it
   * had in hand fail naming their files.
   */
  readTimeoutMs?: number;
}

/** The defaults of {@link ImageLimits}: 64 MiB files, 50 million pixels, 30 s per read. */
export const DEFAULT_IMAGE_LIMITS: Readonly<Required<ImageLimits>> = Object.freeze({
  maxFileBytes: 64 * 1024 * 1024,
  maxPixels: 50_000_000,
  readTimeoutMs: 30_000,
});

const LIMIT_NAMES = Object.keys(DEFAULT_IMAGE_LIMITS) as (keyof ImageLimits)[];

/** Fills in the defaults and checks that each limit given is a positive number (Infinity allowed). */
export function resolveImageLimits(limits: ImageLimits = {}, where = 'image'): Required<ImageLimits> {
  const out: Required<ImageLimits> = { ...DEFAULT_IMAGE_LIMITS };
  for (const key of LIMIT_NAMES) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0)) {
      throw new DataError(`${where} ${key} must be a positive number (or Infinity for no limit), got ${String(value)}`);
    }
    out[key] = value;
  }
  return out;
}

/** The file-type questions that both fs.Stats and fs.Dirent answer. */
export type FileTypeInfo = Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'>;

/** What a non-regular file is, for messages: "a FIFO (named pipe)", "a character device", ... */
export function describeFileType(st: FileTypeInfo): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  if (st.isFile()) return 'a regular file';
  return 'not a regular file';
}

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
  if (flag !== 0 && flag !== 1) throw new DataError(`image flag must be 0 (grayscale) or 1 (colour), got ${flag} for ${path}`);
}

const CHUNK_IHDR = 0x49484452;
const CHUNK_IDAT = 0x49444154;
const CHUNK_IEND = 0x49454e44;
const CHANNELS_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7 passes: first column, first row, column step, row step.
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** Bytes of filtered scanlines (a filter byte per row) an interlaced image inflates to. */
function interlacedBytes(width: number, height: number, bitsPerPixel: number): number {
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) total += h * (Math.ceil((w * bitsPerPixel) / 8) + 1);
  }
  return total;
}

/**
 * Walks the chunk list (without decompressing anything) and refuses what would make pngjs allocate
 * more than `maxPixels` allows: a header over the limit, a second IHDR (pngjs would take its size),
 * and interlaced pixel data that inflates past its header (pngjs inflates those without a bound;
 * non-interlaced data it cuts at the header's size). Anything else odd is left to pngjs to report.
 */
function checkPngSize(bytes: Uint8Array, path: string, maxPixels: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: { width: number; height: number; bitsPerPixel: number; interlaced: boolean } | undefined;
  const idat: Uint8Array[] = [];
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = view.getUint32(offset + 4);
    const data = offset + 8;
    if (data + length > bytes.length || type === CHUNK_IEND) break;
    if (type === CHUNK_IHDR) {
      if (header) throw new DataError(`cannot decode PNG ${path}: it has a second IHDR (header) chunk; the file is corrupt or crafted`);
      if (length !== 13) break;
      const width = view.getUint32(data);
      const height = view.getUint32(data + 4);
      if (width * height > maxPixels) {
        throw new Error(
          `webgluon: cannot decode PNG ${path}: its header says ${width}x${height} = ${width * height} pixels, over maxPixels = ${maxPixels}; ` +
            'pass a larger maxPixels (an ImageFolderDataset / readPng option) if the image is genuine',
        );
      }
      const bitsPerPixel = (CHANNELS_OF_COLOR_TYPE[bytes[data + 9]] ?? 4) * bytes[data + 8];
      header = { width, height, bitsPerPixel, interlaced: bytes[data + 12] === 1 };
    } else if (type === CHUNK_IDAT) {
      idat.push(bytes.subarray(data, data + length));
    }
    offset = data + length + 4;
  }
  if (!header?.interlaced || idat.length === 0) return;
  const expected = interlacedBytes(header.width, header.height, header.bitsPerPixel);
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: Math.max(expected, 1) });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') return; // corrupt data: pngjs says how
    throw new Error(
      `webgluon: cannot decode PNG ${path}: its interlaced pixel data inflates past the ${expected} bytes its ${header.width}x${header.height} header implies ` +
        `(a decompression bomb?); refused to keep within maxPixels = ${maxPixels}`,
    );
  }
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
 * `limits.maxPixels` (default 50_000_000, see {@link ImageLimits}) is checked on the header first.
 * Known difference: pngjs turns pixels matching a gray/RGB tRNS colour to 0; OpenCV keeps them.
 */
export function decodePng(bytes: Uint8Array, path: string, flag: ImageFlag = 1, limits: Pick<ImageLimits, 'maxPixels'> = {}): HostArray {
  checkFlag(flag, path);
  const { maxPixels } = resolveImageLimits({ maxPixels: limits.maxPixels }, `decodePng(${path})`);
  if (startsWith(bytes, JPEG_SIGNATURE)) throw new DataError(`cannot decode ${path}: it is a JPEG file; only PNG is supported`);
  if (!startsWith(bytes, PNG_SIGNATURE)) throw new DataError(`cannot decode ${path}: not a PNG file (bad signature)`);
  checkPngSize(bytes, path, maxPixels);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    png = PNG.sync.read(buffer, { skipRescale: true });
  } catch (error) {
    throw new DataError(`cannot decode PNG ${path}: ${pngjsReason(error, bytes.length)}`, { cause: error });
  }
  const { width, height } = png;
  // 16-bit images come back as a Uint16Array despite the Buffer type in @types/pngjs.
  const rgba = png.data as unknown as ArrayLike<number>;
  if (rgba.length !== width * height * 4) {
    throw new DataError(`cannot decode PNG ${path}: expected ${width * height * 4} RGBA samples, pngjs returned ${rgba.length}`);
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

// Opening never blocks (a FIFO swapped in after the stat) nor takes a terminal as controlling tty.
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOCTTY ?? 0);

/** An error already worded for the user (it names the file); others get "cannot read image". */
class Refusal extends Error {}

async function notRegular(path: string, st: Stats): Promise<Refusal> {
  let through = '';
  try {
    if ((await lstat(path)).isSymbolicLink()) through = ` (a symlink to ${await realpath(path)})`;
  } catch {
    // the message is still right without the target
  }
  return new Refusal(
    `webgluon: cannot read image ${path}: it is ${describeFileType(st)}${through}, not a regular file; only regular files (or symlinks to them) are read`,
  );
}

function tooBig(path: string, size: string, maxFileBytes: number): Refusal {
  return new Refusal(
    `webgluon: cannot read image ${path}: the file is ${size} bytes, over maxFileBytes = ${maxFileBytes}; ` +
      'pass a larger maxFileBytes (an ImageFolderDataset / readPng option) if the image is genuine',
  );
}

/**
 * Reads a regular file of at most maxFileBytes. `stat` comes first, since opening a FIFO for
 * reading blocks until a writer comes (and reading a device never ends); the opened file is checked
 * again with fstat in case the path was swapped in between.
 */
async function readRegularFile(path: string, maxFileBytes: number): Promise<Buffer> {
  const before = await stat(path);
  if (!before.isFile()) throw await notRegular(path, before);
  if (before.size > maxFileBytes) throw tooBig(path, String(before.size), maxFileBytes);
  const handle = await open(path, OPEN_FLAGS);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw await notRegular(path, st);
    if (st.size > maxFileBytes) throw tooBig(path, String(st.size), maxFileBytes);
    // One byte more than stat said, to see whether the file grew since.
    let buffer = Buffer.allocUnsafe(st.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxFileBytes) throw tooBig(path, `more than ${maxFileBytes} (it grew while being read)`, maxFileBytes);
        const larger = Buffer.allocUnsafe(Math.min(2 * length, Math.floor(maxFileBytes) + 1));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

// setTimeout takes at most a signed 32-bit delay; anything longer is no limit in practice.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `work`, or a rejection with `timeout()` after `ms`. The work is not cancelled (a read stuck in the
 * kernel cannot be); it closes its file whenever it ends, and its late result is dropped.
 */
function withTimeout<R>(work: Promise<R>, ms: number, timeout: () => Error): Promise<R> {
  if (!(ms <= MAX_TIMER_MS)) return work;
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      // A thread that was busy decoding may find the timer and the finished read due together:
      // setImmediate runs after this turn's I/O callbacks, so a read that did finish still wins.
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(timeout());
      });
    }, ms);
    const settle = (finish: () => void) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      finish();
    };
    work.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/**
 * Reads and decodes one image file; errors name the path. Only PNG can be decoded. `limits` (see
 * {@link ImageLimits}): maxFileBytes (default 64 MiB), maxPixels (default 50_000_000) and
 * readTimeoutMs (default 30_000); only regular files, or symlinks to them, are read.
 */
export async function readPng(path: string, flag: ImageFlag = 1, limits: ImageLimits = {}): Promise<HostArray> {
  checkFlag(flag, path);
  const { maxFileBytes, maxPixels, readTimeoutMs } = resolveImageLimits(limits, `readPng(${path})`);
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') {
    throw new DataError(`cannot decode ${path}: only PNG is supported (this is a ${ext} file); convert the images to PNG`);
  }
  let bytes: Buffer;
  try {
    bytes = await withTimeout(
      readRegularFile(path, maxFileBytes),
      readTimeoutMs,
      () => new Refusal(`webgluon: cannot read image ${path}: reading it did not finish within readTimeoutMs = ${readTimeoutMs} ms (a stuck network file system or device?)`),
    );
  } catch (error) {
    if (error instanceof Refusal) throw error;
    throw new DataError(`cannot read image ${path}: ${reason(error)}`, { cause: error });
  }
  return decodePng(bytes, path, flag, { maxPixels });
}

const COLOR_TYPE_OF_CHANNELS: Record<number, ColorType | undefined> = { 1: 0, 3: 2, 4: 6 };

/** Encodes a HxWxC (or HxW) uint8 HostArray, C in 1 | 3 | 4, as an 8-bit gray / RGB / RGBA PNG. */
export function encodePng(image: HostArray): Buffer {
  if (image.dtype !== 'uint8') {
    throw new DataError(`encodePng needs a uint8 image, got ${image.dtype} ${formatShape(image.shape)}; scale to 0..255 and call .astype('uint8')`);
  }
  const [height, width, channels = 1] = image.shape;
  const colorType = COLOR_TYPE_OF_CHANNELS[channels];
  if ((image.ndim !== 2 && image.ndim !== 3) || colorType === undefined) {
    throw new DataError(`encodePng needs an image of shape (H, W) or (H, W, C) with C in 1, 3, 4; got ${formatShape(image.shape)}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  // Same input and output colour type at 8 bits: pngjs writes the bytes through unchanged.
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 });
}
