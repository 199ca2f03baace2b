// Crash-safe file and folder publishing: a reader sees either the old content or the whole new one.
// Used by checkpoints, parameter files, metrics, plots, and the generated data caches (glyphs, one-shot runs).
import { randomBytes } from 'node:crypto';
import { promises as fs, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

function tempSibling(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Writes `data` to `path` through a temp file in the same folder, fsynced, then renamed over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempSibling(path);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx');
    await handle.writeFile(data);
    // Without the fsync a power loss after the rename can leave an empty file under the final name.
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new Error(`webgluon: could not write ${path}: ${describe(error)}`, { cause: error });
  }
}

/** Synchronous twin of `writeFileAtomic`, for exit handlers and other places that cannot await. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const temp = tempSibling(path);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx');
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // the temp file was never created, or is already gone
    }
    throw new Error(`webgluon: could not write ${path}: ${describe(error)}`, { cause: error });
  }
}

export interface PublishDirectoryOptions {
  /** Where the finished folder must appear. */
  finalDir: string;
  /** The file, written last inside the folder, whose content says what the folder was built from. */
  markerName: string;
  markerContent: string;
  /** Fills the temp folder; it is removed if this throws. */
  build: (tempDir: string) => Promise<void>;
}

async function readMarker(dir: string, markerName: string): Promise<string | undefined> {
  try {
    return await fs.readFile(join(dir, markerName), 'utf8');
  } catch {
    return undefined;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `<finalDir>.tmp-<pid>...` folders left by processes that died while building. */
async function removeStaleTempDirs(finalDir: string): Promise<void> {
  const parent = dirname(finalDir);
  const prefix = `${basename(finalDir)}.tmp-`;
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (Number.isFinite(pid) && pid !== process.pid && !processIsAlive(pid)) {
      await fs.rm(join(parent, name), { recursive: true, force: true });
    }
  }
}

let tempCounter = 0;

/**
 * Builds a folder in `<finalDir>.tmp-<pid>-<n>` and renames it into place, so an interrupted build never
 * looks complete. A folder whose marker already holds `markerContent` is reused ('reused'); one made
 * by an earlier build with other options (another marker) is replaced; a foreign non-empty folder is an error.
 * Two processes racing on the same `finalDir` both succeed: the loser discards its copy.
 */
export async function publishDirectory(options: PublishDirectoryOptions): Promise<'built' | 'reused'> {
  const { finalDir, markerName, markerContent, build } = options;
  if ((await readMarker(finalDir, markerName)) === markerContent) return 'reused';
  await fs.mkdir(dirname(finalDir), { recursive: true });
  await removeStaleTempDirs(finalDir);

  const tempDir = `${finalDir}.tmp-${process.pid}-${tempCounter++}`;
  await fs.rm(tempDir, { recursive: true, force: true });
  await fs.mkdir(tempDir);
  try {
    await build(tempDir);
    await writeFileAtomic(join(tempDir, markerName), markerContent);
    return await moveIntoPlace(tempDir, options);
  } catch (error) {
    await fs.rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function moveIntoPlace(tempDir: string, options: PublishDirectoryOptions): Promise<'built' | 'reused'> {
  const { finalDir, markerName, markerContent } = options;
  const existingMarker = await readMarker(finalDir, markerName);
  if (existingMarker === markerContent) {
    // Another process finished the same build first.
    await fs.rm(tempDir, { recursive: true, force: true });
    return 'reused';
  }
  if (existingMarker !== undefined) {
    const retired = `${finalDir}.old-${process.pid}-${tempCounter++}`;
    await fs.rename(finalDir, retired);
    await fs.rename(tempDir, finalDir);
    await fs.rm(retired, { recursive: true, force: true });
    return 'built';
  }
  try {
    await fs.rename(tempDir, finalDir);
    return 'built';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      if ((await readMarker(finalDir, markerName)) === markerContent) {
        await fs.rm(tempDir, { recursive: true, force: true });
        return 'reused';
      }
      throw new Error(
        `webgluon: ${finalDir} exists and was not made by this generator (no ${markerName} inside); ` +
          'remove it or choose another folder',
      );
    }
    throw new Error(`webgluon: could not move ${tempDir} to ${finalDir}: ${describe(error)}`, { cause: error });
  }
}
