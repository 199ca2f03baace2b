// DataLoader with decode worker threads: same batches as the main thread, crashes surface as errors,
// failed startup falls back, and a finished loader does not keep the process alive.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stackSamples } from '../src/data/batchify.js';
import { DataLoader } from '../src/data/dataloader.js';
import { DecodePool, decodeCounts } from '../src/data/decode_pool.js';
import { HostArray } from '../src/data/host_array.js';
import { ImageFolderDataset } from '../src/data/image_folder.js';
import { encodePng } from '../src/data/png.js';
import { hashInt, makeTempDir } from './data_fixtures.js';

const temp = makeTempDir('workers');
afterAll(temp.remove);
const root = join(temp.dir, 'images');
const CLASSES = 3;
const PER_CLASS = 8;
for (let c = 0; c < CLASSES; c++) {
  mkdirSync(join(root, `class${c}`), { recursive: true });
  for (let k = 0; k < PER_CLASS; k++) {
    const rgb = Uint8Array.from({ length: 9 * 9 * 3 }, (_, i) => hashInt(c * 100 + k, i, 256));
    writeFileSync(join(root, `class${c}`, `${k}.png`), encodePng(new HostArray(rgb, [9, 9, 3])));
  }
}
const IMAGES = CLASSES * PER_CLASS;

type Sample = [HostArray, number];
async function allBatches(loader: AsyncIterable<[HostArray, HostArray]>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const [x, y] of loader) out.push([...x.shape, ...Array.from(x.data), -1, ...Array.from(y.data)]);
  return out;
}

function loader(numWorkers: number, dataset = new ImageFolderDataset(root, { flag: 0 })) {
  return new DataLoader<Sample, [HostArray, HostArray]>(dataset, {
    batchSize: 5,
    shuffle: true,
    seed: 7,
    numWorkers,
    batchify: (samples) => stackSamples(samples),
  });
}

describe('DataLoader workers', () => {
  it('decode in worker threads and give the same batches as the main thread', async () => {
    const reference = await allBatches(loader(0));
    const before = { ...decodeCounts };
    const withWorkers = loader(2);
    const batches = await allBatches(withWorkers);
    const again = await allBatches(withWorkers); // second epoch reuses the pool
    await withWorkers.close();
    expect(decodeCounts.worker - before.worker).toBe(2 * IMAGES);
    expect(decodeCounts.mainThread - before.mainThread).toBe(0);
    expect(batches).toEqual(reference);
    expect(again.flat().length).toBe(reference.flat().length);
    expect(reference.length).toBe(5);
  });

  it('route a subclass that calls super.get (and its transform) through the workers', async () => {
    class Pairs extends ImageFolderDataset<[HostArray, HostArray, number]> {
      override async get(i: number): Promise<[HostArray, HostArray, number]> {
        const j = (i * 7 + 3) % this.items.length;
        const [[a, la], [b, lb]] = await Promise.all([super.get(i), super.get(j)] as unknown as Promise<Sample>[]);
        return [a, b, Number(la !== lb)];
      }
    }
    const pairs = new Pairs(root, { flag: 0 }).transform((a, b, label) => [a.astype('float32').transpose([2, 0, 1]).div(255), b, label] as [HostArray, HostArray, number]);
    const before = decodeCounts.worker;
    const l = new DataLoader(pairs, { batchSize: 4, numWorkers: 2, batchify: (s) => stackSamples(s) });
    const shapes: number[][] = [];
    for await (const [a, b, label] of l) shapes.push([...a.shape, ...b.shape, ...label.shape]);
    await l.close();
    expect(decodeCounts.worker - before).toBe(2 * IMAGES);
    expect(shapes).toEqual(Array(6).fill([4, 1, 9, 9, 4, 9, 9, 1, 4]));
  });

  it('name the file in a decode error, which does not take the worker down', async () => {
    const bad = join(temp.dir, 'bad');
    mkdirSync(join(bad, 'c'), { recursive: true });
    writeFileSync(join(bad, 'c', 'a.png'), encodePng(HostArray.zeros([4, 4, 1], 'uint8')));
    writeFileSync(join(bad, 'c', 'b.png'), Buffer.from('not a png'));
    const l = loader(1, new ImageFolderDataset(bad, { flag: 0 }));
    const message = `cannot decode ${join(bad, 'c', 'b.png')}: not a PNG file`;
    await expect(allBatches(l)).rejects.toThrow(message);
    await expect(allBatches(l)).rejects.toThrow(message); // same pool, not "crashed"
    await l.close();
  });
});

describe('DecodePool failures', () => {
  const image = join(root, 'class0', '0.png');
  const script = (name: string, body: string) => {
    const path = join(temp.dir, name);
    writeFileSync(path, `import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ type: 'ready' });\n${body}\n`);
    return () => ({ source: pathToFileURL(path) });
  };

  it('a worker that throws rejects the decodes in flight and later ones, naming the file', async () => {
    const pool = new DecodePool(1, script('throws.mjs', "parentPort.on('message', () => { throw new Error('boom'); });"));
    await expect(pool.decode(image, 0)).rejects.toThrow(/decode worker crashed: boom \(while decoding .*0\.png\)/);
    await expect(pool.decode(image, 0)).rejects.toThrow(/crashed: boom/);
    expect(pool.failed).toBe(true);
    await pool.close();
  });

  it('a worker that exits rejects instead of hanging', async () => {
    const pool = new DecodePool(2, script('exits.mjs', "parentPort.on('message', () => process.exit(3));"));
    const results = await Promise.allSettled([pool.decode(image, 0), pool.decode(image, 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/exited with code 3/);
    await pool.close();
  });

  it('falls back to the main thread, with a warning, when workers cannot start', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const pool = new DecodePool(2, () => ({ source: pathToFileURL(join(temp.dir, 'no-such-worker.mjs')) }));
    const [direct, viaPool] = [await new ImageFolderDataset(root).get(0), await pool.decode(image, 1)];
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(Array.from(viaPool.data)).toEqual(Array.from(direct[0].data));
    expect(warnings.join('\n')).toMatch(/decode workers could not start .*decoding images on the main thread/);
    await pool.close();
  });
});

const repo = fileURLToPath(new URL('..', import.meta.url));

/** Runs a script with node + tsx in a child process; resolves with its exit code and output. */
function runChild(source: string, timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const path = join(temp.dir, `child-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(path, source);
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path], { cwd: repo, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

describe('process lifetime', () => {
  const dataIndex = pathToFileURL(join(repo, 'src/data/index.ts')).href;
  const decodePool = pathToFileURL(join(repo, 'src/data/decode_pool.ts')).href;
  const prelude = `import { DataLoader, ImageFolderDataset, stackSamples } from '${dataIndex}';
import { decodeCounts } from '${decodePool}';
const ds = new ImageFolderDataset(${JSON.stringify(root)}, { flag: 0 });
const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, numWorkers: 2, batchify: (s) => stackSamples(s) });
let pixels = 0;`;

  it('exits after iterating a loader with workers, without close()', async () => {
    const result = await runChild(`${prelude}
for (let epoch = 0; epoch < 2; epoch++) for await (const [x] of loader) pixels += x.size;
console.log('done', pixels, decodeCounts.worker, decodeCounts.mainThread);`, 60_000);
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull(); // not killed by the timeout
    expect(result.code).toBe(0);
    // All pixels: it did not exit early under a pending decode either; all decoded in workers.
    expect(result.stdout.trim()).toBe(`done ${2 * IMAGES * 81} ${2 * IMAGES} 0`);
  });

  it('exits after breaking out of the first batch with prefetches in flight', async () => {
    const result = await runChild(`${prelude}
for await (const [x] of loader) { pixels += x.size; break; }
console.log('done', pixels, decodeCounts.mainThread);`, 60_000);
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`done ${4 * 81} 0`);
  });
});
