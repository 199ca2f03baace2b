// Where image files get decoded: on the main thread, or in the DataLoader's pool of worker threads
// (decode_worker.ts). The loader runs dataset.get() inside `withDecoder(pool, ...)`, and
// ImageFolderDataset's reads follow that async context, so even user subclasses decode in workers.
import { DataError } from '../base/errors.js';
import { setDecodeWorkers } from './dataloader.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './decode_worker.js';
import { HostArray } from './host_array.js';
import { readPng, resolveImageLimits, type ImageFlag, type ImageLimits } from './png.js';

export interface ImageDecoder {
  decode(path: string, flag: ImageFlag, limits?: ImageLimits): Promise<HostArray>;
}

const activeDecoder = new AsyncLocalStorage<ImageDecoder>();

/** Counts decodes by where they ran; tests use it to check that workers really did the work. */
export const decodeCounts = { worker: 0, mainThread: 0 };

/** Runs fn (and every async continuation it starts) with `decoder` handling decodeImageFile. */
export function withDecoder<R>(decoder: ImageDecoder | undefined, fn: () => R): R {
  return decoder ? activeDecoder.run(decoder, fn) : fn();
}

/** Reads and decodes an image file with the decoder of the current context, else on this thread. */
export function decodeImageFile(path: string, flag: ImageFlag, limits?: ImageLimits): Promise<HostArray> {
  const decoder = activeDecoder.getStore();
  if (decoder) return decoder.decode(path, flag, limits);
  decodeCounts.mainThread++;
  return readPng(path, flag, limits);
}

// Startup failure (e.g. no TypeScript loader for the worker file) means fall back, not fail.
const STARTUP_TIMEOUT_MS = 60_000;

interface Task {
  path: string;
  /** The task's readTimeoutMs: a worker silent for twice the longest one in hand is stuck. */
  readTimeoutMs: number;
  resolve: (image: HostArray) => void;
  reject: (error: Error) => void;
}

/** How to start a decode thread: a module URL, or (`eval`) a script that loads it. */
export interface WorkerEntry {
  source: URL | string;
  eval?: boolean;
}

/**
 * The compiled build starts decode_worker.js directly. Run from source (tsx, vitest), the worker
 * must register tsx itself: Node 20 loads a worker's entry before `--import` hooks apply to it.
 */
function workerEntry(): WorkerEntry {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { source: new URL('./decode_worker.js', here) };
  const tsxRoot = dirname(createRequire(here).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const worker = new URL('./decode_worker.ts', here).href;
  return { source: `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`, eval: true };
}

/** One worker thread. It holds the process open only while it has work (or is starting up). */
class DecodeThread {
  readonly ready: Promise<boolean>;
  private readonly worker: Worker;
  private readonly tasks = new Map<number, Task>();
  private nextId = 0;
  private started = false;
  private closing = false;
  startupError: Error | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private watchdogMs = 0;

  constructor(
    entry: WorkerEntry,
    private readonly onCrash: (error: Error, what?: string) => void,
  ) {
    this.worker = new Worker(entry.source, { eval: entry.eval ?? false });
    this.ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.startupError = new Error(`no answer within ${STARTUP_TIMEOUT_MS / 1000} s`);
        resolve(false);
      }, STARTUP_TIMEOUT_MS);
      timer.unref();
      this.worker.on('message', (reply: DecodeReply) => {
        if (reply.type === 'ready') {
          this.started = true;
          clearTimeout(timer);
          this.updateRef();
          resolve(true);
        } else this.settle(reply);
      });
      const fail = (error: Error) => {
        clearTimeout(timer);
        if (!this.started) {
          this.startupError ??= error;
          resolve(false);
        } else if (!this.closing) this.crash(error);
      };
      this.worker.on('error', fail);
      this.worker.on('messageerror', fail);
      this.worker.on('exit', (code) => fail(new Error(`the worker exited with code ${code}`)));
    });
  }

  get load(): number {
    return this.tasks.size;
  }

  decode(path: string, flag: ImageFlag, limits?: ImageLimits): Promise<HostArray> {
    // A stopped worker would never answer: fail now rather than wait forever.
    if (this.closing) return Promise.reject(new DataError(`the DataLoader's decode workers were stopped before ${path} was decoded`));
    const { readTimeoutMs } = resolveImageLimits(limits, `DataLoader decode of ${path}:`);
    const id = this.nextId++;
    return new Promise<HostArray>((resolve, reject) => {
      this.tasks.set(id, { path, readTimeoutMs, resolve, reject });
      this.updateRef();
      // Answers restart the clock, new tasks do not (a steady stream must not hide a stuck worker),
      // unless one allows longer than the clock running.
      if (!this.watchdog || 2 * readTimeoutMs > this.watchdogMs) this.armWatchdog();
      const request: DecodeRequest = { id, path, flag, limits };
      this.worker.postMessage(request);
    });
  }

  /** Rejects every task in flight; the pool calls it on a crash and on close. */
  rejectAll(error: (paths: string[]) => Error): void {
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    const failure = error(tasks.map((t) => t.path));
    for (const task of tasks) task.reject(failure);
    this.updateRef();
    this.armWatchdog();
  }

  terminate(): Promise<number> {
    this.closing = true;
    this.armWatchdog();
    return this.worker.terminate();
  }

  /**
   * (Re)starts the clock on a worker with tasks in hand: every answer restarts it. The worker times
   * out its own reads after readTimeoutMs and answers, so one silent for twice that long is stuck
   * (in a decode, say): it is stopped, and its tasks fail naming their files rather than hang.
   */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    if (this.closing || this.tasks.size === 0) return;
    const silentMs = 2 * Math.max(...[...this.tasks.values()].map((t) => t.readTimeoutMs));
    if (!(silentMs <= 2 ** 31 - 1)) return; // Infinity (no limit), or too long for a timer
    this.watchdogMs = silentMs;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (this.closing || this.tasks.size === 0) return;
      const files = [...this.tasks.values()].map((t) => t.path);
      this.crash(
        new Error(`no answer for ${silentMs / 1000} s (twice readTimeoutMs) with ${files.length} image(s) in hand`),
        `was stopped: it gave no answer for ${silentMs / 1000} s, twice readTimeoutMs = ${silentMs / 2} ms`,
      );
    }, silentMs);
    // The worker itself is ref'd while it has tasks; the clock alone must not hold the process.
    this.watchdog.unref();
  }

  private settle(reply: Exclude<DecodeReply, { type: 'ready' }>): void {
    const task = this.tasks.get(reply.id);
    if (!task) return;
    this.tasks.delete(reply.id);
    this.updateRef();
    this.armWatchdog();
    if (reply.type === 'failed') task.reject(new Error(reply.message));
    else {
      decodeCounts.worker++;
      task.resolve(new HostArray(reply.data, reply.shape));
    }
  }

  private crash(error: Error, what?: string): void {
    this.closing = true;
    this.armWatchdog();
    this.onCrash(error, what);
  }

  // A pending decode must keep Node alive (an unref'd worker would let the process exit under an
  // awaited promise); an idle worker must not, so a finished loader never holds the process open.
  private updateRef(): void {
    if (this.tasks.size > 0 || !this.started) this.worker.ref();
    else this.worker.unref();
  }
}

/** A pool of PNG decoding threads, started at the first decode; falls back to the main thread. */
export class DecodePool implements ImageDecoder {
  private threads: DecodeThread[] | undefined;
  private failure: Error | undefined;
  private fallback = false;

  constructor(
    readonly size: number,
    private readonly entry: () => WorkerEntry = workerEntry,
  ) {}

  /** True after a worker crashed: this pool rejects every decode, the loader makes a new one. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  async decode(path: string, flag: ImageFlag, limits?: ImageLimits): Promise<HostArray> {
    if (this.failure) throw this.failure;
    const thread = this.fallback ? undefined : this.pick();
    if (!thread || !(await thread.ready)) {
      if (thread) this.startFailed(thread);
      decodeCounts.mainThread++;
      return readPng(path, flag, limits);
    }
    if (this.failure) throw this.failure;
    return thread.decode(path, flag, limits);
  }

  /** Stops the threads; decodes still in flight reject. A later decode starts new threads. */
  async close(): Promise<void> {
    const threads = this.threads ?? [];
    this.threads = undefined;
    for (const t of threads) t.rejectAll(() => new DataError('the DataLoader was closed while images were being decoded'));
    await Promise.all(threads.map((t) => t.terminate()));
  }

  private pick(): DecodeThread | undefined {
    if (!this.threads) {
      let entry: WorkerEntry;
      try {
        entry = this.entry();
      } catch (error) {
        this.warnFallback(error instanceof Error ? error.message : String(error));
        return undefined;
      }
      this.threads = Array.from({ length: this.size }, () => new DecodeThread(entry, (error, what) => this.crashed(error, what)));
    }
    return this.threads.reduce((best, t) => (t.load < best.load ? t : best));
  }

  private startFailed(thread: DecodeThread): void {
    if (this.fallback) return;
    this.warnFallback(thread.startupError?.message ?? 'unknown error');
    void this.close();
  }

  private warnFallback(reason: string): void {
    this.fallback = true;
    process.emitWarning(`webgluon: DataLoader decode workers could not start (${reason}); decoding images on the main thread`);
  }

  // A crash (or a stuck worker) fails everything in flight and every later decode: surfacing the
  // error beats a hang. The loader makes a new pool for its next epoch.
  private crashed(error: Error, what = `crashed: ${error.message}`): void {
    this.failure = new DataError(`a DataLoader decode worker ${what}`, { cause: error });
    const threads = this.threads ?? [];
    this.threads = undefined;
    for (const t of threads) {
      t.rejectAll((paths) => new Error(`${this.failure!.message}${paths.length ? ` (while decoding ${paths.join(', ')})` : ''}`, { cause: error }));
      void t.terminate();
    }
  }
}

// The DataLoader does not import this module (browsers have no worker threads): it gets the pools here.
setDecodeWorkers({ create: (size) => new DecodePool(size), withDecoder });
