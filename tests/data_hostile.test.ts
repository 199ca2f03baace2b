// Hostile image folders (issue #19): a symlink to /dev/zero, a FIFO, a PNG bomb (a small file whose
// header claims 20000x20000) and an oversized file are each refused quickly, naming the file and the
// limit, on the main thread and in the DataLoader's decode workers, without the memory ballooning;
// a stuck read times out, and a worker that answers nothing is stopped.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInflate, deflateRawSync, constants as zlibConstants } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { stackSamples } from '../src/data/batchify.js';
import { DataLoader } from '../src/data/dataloader.js';
import { Dataset } from '../src/data/dataset.js';
import { DecodePool, decodeCounts } from '../src/data/decode_pool.js';
import { HostArray } from '../src/data/host_array.js';
import { ImageFolderDataset } from '../src/data/image_folder.js';
import { DEFAULT_IMAGE_LIMITS, decodePng, encodePng, readPng } from '../src/data/png.js';
import { hashInt, makeTempDir, pngChunk } from './data_fixtures.js';

const temp = makeTempDir('hostile');
afterAll(temp.remove);

// ---- PNG bytes built by hand (the bomb must not be made by encoding 400 MB of pixels) ----

function ihdr(width: number, height: number, colorType: number, depth: number, interlace: 0 | 1): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = depth;
  data[9] = colorType;
  data[12] = interlace;
  return pngChunk('IHDR', data);
}

/**
 * A zlib stream of `n` zero bytes, without ever holding them: one flushed deflate block of 1 MiB of
 * zeros (which refers to nothing before it) repeated, then a final empty block and the Adler-32,
 * which for n zeros is (n mod 65521) << 16 | 1. 400 MB of zeros come to about 400 KB.
 */
function zerosZlib(n: number): Buffer {
  const CHUNK = 1 << 20;
  const flushed = (length: number) => deflateRawSync(Buffer.alloc(length), { finishFlush: zlibConstants.Z_FULL_FLUSH });
  const whole = flushed(CHUNK);
  const parts: Buffer[] = [Buffer.from([0x78, 0x01])];
  for (let k = 0; k < Math.floor(n / CHUNK); k++) parts.push(whole);
  if (n % CHUNK) parts.push(flushed(n % CHUNK));
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final (empty) block
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((n % 65521) << 16) | 1) >>> 0);
  parts.push(adler);
  return Buffer.concat(parts);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An all-zero (black) 8-bit gray PNG of any size: each row is a filter byte and `width` zeros. */
function blackPng(width: number, height: number, extraHeader?: Buffer): Buffer {
  const idat = zerosZlib(height * (width + 1));
  return Buffer.concat([SIGNATURE, ihdr(width, height, 0, 8, 0), ...(extraHeader ? [extraHeader] : []), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Bytes of all Adam7 passes' scanlines, counted pixel by pixel (independently of png.ts). */
function adam7Bytes(width: number, height: number, bitsPerPixel: number): number {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    let w = 0;
    let h = 0;
    for (let x = x0; x < width; x += dx) w++;
    for (let y = y0; y < height; y += dy) h++;
    if (w && h) total += h * (1 + Math.ceil((w * bitsPerPixel) / 8));
  }
  return total;
}

function interlacedPng(width: number, height: number, colorType: number, depth: number, zeros: number): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(width, height, colorType, depth, 1), pngChunk('IDAT', zerosZlib(zeros)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Counts the bytes a zlib stream inflates to, streaming (never holding them). */
function inflatedLength(bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let total = 0;
    const inflate = createInflate();
    inflate.on('data', (piece: Buffer) => (total += piece.length));
    inflate.on('end', () => resolve(total));
    inflate.on('error', reject);
    inflate.end(bytes);
  });
}

// ---- the hostile folder ----

let hasFifo = true;
function mkfifo(path: string): void {
  try {
    execFileSync('mkfifo', [path], { stdio: 'ignore' });
  } catch {
    hasFifo = false;
  }
}

const root = join(temp.dir, 'hostile');
const dir = join(root, 'c');
mkdirSync(dir, { recursive: true });
const good = join(dir, 'good.png');
writeFileSync(good, encodePng(new HostArray(Uint8Array.from({ length: 64 }, (_, i) => hashInt(5, i, 256)), [8, 8, 1])));
const zero = join(dir, 'x.png');
symlinkSync('/dev/zero', zero);
const fifo = join(dir, 'y.png');
mkfifo(fifo);
const bomb = join(dir, 'bomb.png');
const bombBytes = blackPng(20000, 20000);
writeFileSync(bomb, bombBytes);
const big = join(dir, 'big.png'); // a genuine 48x48 RGB noise image of ~7 KB, over a 4 KiB cap
writeFileSync(big, encodePng(new HostArray(Uint8Array.from({ length: 48 * 48 * 3 }, (_, i) => hashInt(9, i, 256)), [48, 48, 3])));
const SMALL_CAP = 4096;
symlinkSync(join(dir, 'no-such-file.png'), join(dir, 'z.png')); // broken symlink
mkdirSync(join(dir, 'folder.png'));

const MB = 2 ** 20;

/** The message of the rejection of `work`, which must come within `ms`. */
async function refusal(work: Promise<unknown>, ms: number): Promise<string> {
  const start = performance.now();
  const result = await work.then(
    () => undefined,
    (error: unknown) => error,
  );
  const elapsed = performance.now() - start;
  expect(result, 'expected a refusal').toBeInstanceOf(Error);
  expect(elapsed).toBeLessThan(ms);
  return (result as Error).message;
}

describe('hostile files, read directly', () => {
  it('the crafted files are what they claim: a ~400 KB PNG that would inflate to 400 MB', async () => {
    expect(bombBytes.length).toBeLessThan(500_000);
    expect(await inflatedLength(bombBytes.subarray(8 + 25 + 8, bombBytes.length - 12 - 4))).toBe(20000 * 20001);
    // The same construction at a small size is a valid PNG that decodes to black.
    const small = decodePng(blackPng(300, 200), 'black.png', 0);
    expect(small.shape).toEqual([200, 300, 1]);
    expect(small.data.every((v) => v === 0)).toBe(true);
  });

  it('refuses each quickly with an error naming the file and the limit, and the memory stays put', async () => {
    const rss = process.memoryUsage().rss;
    expect(await refusal(readPng(zero, 1), 2000)).toBe(
      `webgluon: cannot read image ${zero}: it is a character device (a symlink to /dev/zero), not a regular file; only regular files (or symlinks to them) are read`,
    );
    if (hasFifo) expect(await refusal(readPng(fifo, 1), 2000)).toMatch(`cannot read image ${fifo}: it is a FIFO (named pipe), not a regular file`);
    // The bomb is refused with the default limits, from its header.
    const bombMessage = `cannot decode PNG ${bomb}: its header says 20000x20000 = 400000000 pixels, over maxPixels = 50000000`;
    expect(await refusal(readPng(bomb, 1), 2000)).toMatch(bombMessage);
    expect(await refusal(readPng(bomb, 0, { maxPixels: 60_000_000 }), 2000)).toMatch('over maxPixels = 60000000');
    expect(() => decodePng(bombBytes, 'bomb.png')).toThrow('bomb.png: its header says 20000x20000 = 400000000 pixels, over maxPixels = 50000000');
    const bigSize = statSync(big).size;
    expect(await refusal(readPng(big, 1, { maxFileBytes: SMALL_CAP }), 2000)).toMatch(
      `cannot read image ${big}: the file is ${bigSize} bytes, over maxFileBytes = ${SMALL_CAP}; pass a larger maxFileBytes`,
    );
    expect((await readPng(big, 1)).shape).toEqual([48, 48, 3]); // under the default cap
    expect(await refusal(readPng(join(dir, 'folder.png'), 1), 2000)).toMatch(`folder.png: it is a folder, not a regular file`);
    expect(await refusal(readPng(join(dir, 'z.png'), 1), 2000)).toMatch(/z\.png: ENOENT/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(500 * MB);
  });

  it('refuses a second IHDR (which pngjs would obey) and an interlaced PNG whose data inflates past its header', () => {
    const twoHeaders = blackPng(10, 10, ihdr(20000, 20000, 0, 8, 0));
    expect(() => decodePng(twoHeaders, 'two.png', 0)).toThrow('two.png: it has a second IHDR (header) chunk');
    const rss = process.memoryUsage().rss;
    const start = performance.now();
    // 64x64 pixels whose data inflates to 1 GB: pngjs inflates interlaced data without a bound.
    expect(() => decodePng(interlacedPng(64, 64, 0, 8, 1024 * MB), 'interlaced.png', 0)).toThrow(
      /interlaced\.png: its interlaced pixel data inflates past the \d+ bytes its 64x64 header implies .*maxPixels = 50000000/,
    );
    expect(performance.now() - start).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(500 * MB);
  });

  it('still decodes genuine interlaced PNGs of every shape and depth', () => {
    for (const [width, height] of [[1, 1], [7, 5], [9, 3], [17, 33]]) {
      for (const [colorType, depth, channels] of [[0, 1, 1], [0, 8, 1], [2, 16, 3], [4, 8, 2], [6, 16, 4]]) {
        const image = decodePng(interlacedPng(width, height, colorType, depth, adam7Bytes(width, height, channels * depth)), 'i.png', 1);
        expect(image.shape).toEqual([height, width, 3]);
      }
    }
  });

  it('checks the limit options', () => {
    expect(DEFAULT_IMAGE_LIMITS).toEqual({ maxFileBytes: 64 * MB, maxPixels: 50_000_000, readTimeoutMs: 30_000 });
    expect(() => new ImageFolderDataset(root, { maxPixels: 0 })).toThrow('webgluon: ImageFolderDataset maxPixels must be a positive number (or Infinity for no limit), got 0');
    expect(() => new ImageFolderDataset(root, { readTimeoutMs: Number.NaN })).toThrow('readTimeoutMs must be a positive number');
    expect(new ImageFolderDataset(root, { maxFileBytes: Infinity }).limits).toEqual({ ...DEFAULT_IMAGE_LIMITS, maxFileBytes: Infinity });
  });
});

describe('ImageFolderDataset listing', () => {
  it('leaves out image names that are not regular files, with one warning naming them', async () => {
    await new Promise((resolve) => setImmediate(resolve)); // warnings of earlier listings are out
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const ds = new ImageFolderDataset(root);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(ds.items.map(([p]) => p)).toEqual([big, bomb, good]);
    expect(warnings).toHaveLength(1);
    const skipped = [`${join(dir, 'folder.png')} (a folder)`, `${zero} (a character device)`, ...(hasFifo ? [`${fifo} (a FIFO (named pipe))`] : []), `${join(dir, 'z.png')} (a broken symlink)`];
    expect(warnings[0]).toBe(`webgluon: ImageFolderDataset ${root} leaves out ${skipped.length} image name(s) that are not regular files: ${skipped.join(', ')}`);
  });
});

type Sample = [HostArray, number];

/** One sample, chosen by `folder` and `index`, so that one loader (and its workers) serves each case. */
class Pick extends Dataset<Sample> {
  folder!: ImageFolderDataset;
  index = 0;
  get length(): number {
    return 1;
  }
  get(): Promise<Sample> {
    return this.folder.get(this.index) as Promise<Sample>;
  }
}

async function firstBatch(loader: AsyncIterable<unknown>): Promise<unknown> {
  for await (const batch of loader) return batch;
  return undefined;
}

/** Holds every libuv threadpool thread in open() on a FIFO, so that any file read queues: a stuck read. */
async function blockThreadpool(): Promise<() => Promise<void>> {
  const size = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const fifos = Array.from({ length: size }, (_, k) => join(temp.dir, `block${Math.random().toString(36).slice(2)}-${k}`));
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const opened = fifos.map((f) => open(f, 'r'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return async () => {
    // A writer arriving releases each blocked open().
    const writers = fifos.map((f) => openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    const handles: FileHandle[] = await Promise.all(opened);
    for (const w of writers) closeSync(w);
    await Promise.all(handles.map((h) => h.close()));
    for (const f of fifos) unlinkSync(f);
  };
}

describe('hostile files through a DataLoader with decode workers', () => {
  // Listed while every file was a plain PNG; then x.png becomes a symlink to /dev/zero and y.png a
  // FIFO, as an attacker (or a rsync in progress) could do between the listing and the reads.
  const swapRoot = join(temp.dir, 'swap');
  const swapDir = join(swapRoot, 'c');
  mkdirSync(swapDir, { recursive: true });
  for (const name of ['good.png', 'x.png', 'y.png']) writeFileSync(join(swapDir, name), encodePng(HostArray.zeros([4, 4, 1], 'uint8')));
  writeFileSync(join(swapDir, 'bomb.png'), bombBytes);
  writeFileSync(join(swapDir, 'big.png'), encodePng(new HostArray(Uint8Array.from({ length: 48 * 48 * 3 }, (_, i) => hashInt(9, i, 256)), [48, 48, 3])));
  const swapped = new ImageFolderDataset(swapRoot, { flag: 0 });
  const capped = new ImageFolderDataset(swapRoot, { flag: 0, maxFileBytes: SMALL_CAP });
  const timed = new ImageFolderDataset(swapRoot, { flag: 0, readTimeoutMs: 300 });
  const indexOf = (name: string) => swapped.items.findIndex(([p]) => p === join(swapDir, name));
  unlinkSync(join(swapDir, 'x.png'));
  symlinkSync('/dev/zero', join(swapDir, 'x.png'));
  unlinkSync(join(swapDir, 'y.png'));
  mkfifo(join(swapDir, 'y.png'));

  const pick = new Pick();
  const loader = new DataLoader<Sample, unknown>(pick, { batchSize: 1, numWorkers: 2, batchify: (s) => stackSamples(s) });
  afterAll(() => loader.close());
  const load = (folder: ImageFolderDataset, name: string) => {
    pick.folder = folder;
    pick.index = indexOf(name);
    return firstBatch(loader);
  };

  it('refuses each in the workers, quickly, naming the file and the limit; the workers carry on', async () => {
    expect(swapped.items).toHaveLength(5);
    await load(swapped, 'good.png'); // starts the workers
    const before = { ...decodeCounts };
    const rss = process.memoryUsage().rss;
    expect(await refusal(load(swapped, 'x.png'), 5000)).toMatch(
      `cannot read image ${join(swapDir, 'x.png')}: it is a character device (a symlink to /dev/zero), not a regular file`,
    );
    if (hasFifo) expect(await refusal(load(swapped, 'y.png'), 5000)).toMatch(`cannot read image ${join(swapDir, 'y.png')}: it is a FIFO (named pipe), not a regular file`);
    expect(await refusal(load(swapped, 'bomb.png'), 5000)).toMatch(
      `cannot decode PNG ${join(swapDir, 'bomb.png')}: its header says 20000x20000 = 400000000 pixels, over maxPixels = 50000000`,
    );
    expect(await refusal(load(capped, 'big.png'), 5000)).toMatch(
      `cannot read image ${join(swapDir, 'big.png')}: the file is ${statSync(join(swapDir, 'big.png')).size} bytes, over maxFileBytes = ${SMALL_CAP}`,
    );
    const [x] = (await load(swapped, 'big.png')) as [HostArray];
    expect(x.shape).toEqual([1, 48, 48, 1]);
    expect(decodeCounts.worker - before.worker).toBe(1);
    expect(decodeCounts.mainThread - before.mainThread).toBe(0); // all of it happened in the workers
    expect(process.memoryUsage().rss - rss).toBeLessThan(500 * MB);
  });

  it.skipIf(!hasFifo)('a stuck read fails after readTimeoutMs naming the file, in the workers and on the main thread', async () => {
    await load(timed, 'good.png'); // workers started before the threadpool is held
    const release = await blockThreadpool();
    try {
      const file = join(swapDir, 'good.png');
      const message = `cannot read image ${file}: reading it did not finish within readTimeoutMs = 300 ms`;
      expect(await refusal(load(timed, 'good.png'), 5000)).toMatch(message);
      expect(await refusal(timed.get(indexOf('good.png')) as Promise<Sample>, 5000)).toMatch(message);
    } finally {
      await release();
    }
    const [x] = (await load(timed, 'good.png')) as [HostArray];
    expect(x.shape).toEqual([1, 4, 4, 1]);
  });
});

describe('DecodePool watchdog', () => {
  it('stops a worker that answers nothing for twice readTimeoutMs, naming the file', async () => {
    const script = join(temp.dir, 'silent.mjs');
    writeFileSync(script, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ type: 'ready' });\nparentPort.on('message', () => {});\n");
    const pool = new DecodePool(1, () => ({ source: pathToFileURL(script) }));
    const message = await refusal(pool.decode(good, 0, { readTimeoutMs: 150 }), 5000);
    expect(message).toMatch(`webgluon: a DataLoader decode worker was stopped: it gave no answer for 0.3 s, twice readTimeoutMs = 150 ms (while decoding ${good})`);
    expect(pool.failed).toBe(true);
    await pool.close();
  });
});
