// Node only: the kernel tuner's results (compiler/tune.ts) kept across runs in one JSON file of
// the cache folder, keyed by adapter and then by kernel signature. src/node.ts installs it.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from './data/atomic_write.js';
import type { TuningRecord, TuningStore } from './compiler/tune.js';

type Adapters = Record<string, Record<string, TuningRecord>>;
interface TuningFile {
  version: 1;
  adapters: Adapters;
}

/** The same folder as the example's data caches: WEBGLUON_CACHE, else ~/.cache/webgluon. */
export function defaultTuningFile(): string {
  return join(process.env.WEBGLUON_CACHE ?? join(homedir(), '.cache', 'webgluon'), 'tuning-v1.json');
}

function readAdapters(path: string): Adapters {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<TuningFile>;
    return parsed.version === 1 && parsed.adapters && typeof parsed.adapters === 'object' ? parsed.adapters : {};
  } catch {
    // Missing or damaged: searched again, and written whole at the next result.
    return {};
  }
}

/**
 * A store read once, at first use, and written whole after each new result: the file is read
 * again and merged first (another process may have added its results), then replaced atomically
 * (temp file, rename), so a reader never sees half a file. A write that fails warns once and
 * the results stay in memory.
 */
export function fileTuningStore(path: string = defaultTuningFile()): TuningStore {
  let adapters: Adapters | null = null;
  let warned = false;
  return {
    get(adapter, signature) {
      adapters ??= readAdapters(path);
      return adapters[adapter]?.[signature];
    },
    set(adapter, signature, record) {
      adapters ??= readAdapters(path);
      (adapters[adapter] ??= {})[signature] = record;
      const merged = readAdapters(path);
      for (const [a, sigs] of Object.entries(adapters)) merged[a] = { ...merged[a], ...sigs };
      adapters = merged;
      try {
        mkdirSync(dirname(path), { recursive: true });
        writeFileAtomicSync(path, `${JSON.stringify({ version: 1, adapters } satisfies TuningFile, null, 1)}\n`);
      } catch (e) {
        if (!warned) console.warn(`webgluon: kernel tuning results stay in memory: ${(e as Error).message}`);
        warned = true;
      }
    },
  };
}
