// Test fixtures for the data pipeline: a PNG writer and reader written from the PNG spec, independent
// of pngjs, so the tests compare src/data/png.ts against bytes they built (or parsed) themselves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, inflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

export const CHANNELS_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * A PNG with unfiltered rows. `samples[y][x*channels + c]` are raw sample values at `depth` bits
 * (palette indices for colour type 3); `palette` is a list of [r, g, b].
 */
export function writeRawPng(opts: {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  samples: number[][];
  palette?: [number, number, number][];
}): Buffer {
  const { width, height, colorType, depth, samples } = opts;
  const channels = CHANNELS_OF_COLOR_TYPE[colorType];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1)); // filter byte 0 (None) per row
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    samples[y].forEach((v, i) => {
      if (depth === 16) row.writeUInt16BE(v, 2 * i);
      else if (depth === 8) row[i] = v;
      else {
        const bit = i * depth;
        row[bit >> 3] |= v << (8 - depth - (bit & 7)); // most significant bits first
      }
    });
  }
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr)];
  if (opts.palette) parts.push(pngChunk('PLTE', Buffer.from(opts.palette.flat())));
  parts.push(pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reads a non-interlaced 1/2/4/8-bit grayscale PNG into 8-bit values (scaled like libpng). */
export function readGrayPng(bytes: Buffer): { width: number; height: number; pixels: number[] } {
  let offset = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  const idat: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      if (data[9] !== 0 || data[12] !== 0 || depth > 8) throw new Error('fixture reader: only non-interlaced gray <= 8 bits');
    } else if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rowBytes = Math.ceil((width * depth) / 8);
  const previous = new Uint8Array(rowBytes);
  const pixels: number[] = [];
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)];
    const line = Uint8Array.from(raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1)));
    for (let i = 0; i < rowBytes; i++) {
      const a = i > 0 ? line[i - 1] : 0; // filters work on bytes; bpp rounds up to 1 byte
      const b = previous[i];
      const c = i > 0 ? previous[i - 1] : 0;
      const add = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      line[i] = (line[i] + add) & 0xff;
    }
    previous.set(line);
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const value = (line[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
      pixels.push((value * 255) / ((1 << depth) - 1));
    }
  }
  return { width, height, pixels };
}

/** A fresh temp folder, and its removal. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `webgluon-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A deterministic pseudo-random integer in [0, n) from (seed, i): test images without Math.random. */
export function hashInt(seed: number, i: number, n: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return (h >>> 0) % n;
}

export const OMNIGLOT_DIR = fileURLToPath(new URL('../../shared/data/omniglot', import.meta.url));
