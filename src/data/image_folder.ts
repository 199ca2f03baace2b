// ImageFolderDataset (gluon.data.vision.ImageFolderDataset): root/<class>/<image> folders as
// [HostArray, label] samples. Files are decoded when read, in the DataLoader's workers when it has some.
import { checkOptions } from '../base/options.js';
import { DataError } from '../base/errors.js';
import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { extname, join } from 'node:path';
import { decodeImageFile } from './decode_pool.js';
import { Dataset } from './dataset.js';
import { HostArray } from './host_array.js';
import { describeFileType, resolveImageLimits, type FileTypeInfo, type ImageFlag, type ImageLimits } from './png.js';

/** What ImageFolderDataset itself returns: the decoded image and the index of its folder in `synsets`. */
export type ImageSample = [HostArray, number];

/**
 * Options of ImageFolderDataset. The limits (from {@link ImageLimits}) guard against hostile or
 * broken folders; a file over one fails when its sample is read, with an error naming the file
 * and the limit. `Infinity` turns a limit off.
 */
export interface ImageFolderOptions extends ImageLimits {
  /** 0: HxWx1 grayscale, 1 (default): HxWx3 RGB, as MXNet's imread flag. */
  flag?: ImageFlag;
  /** Applied to each decoded sample, as MXNet's `transform=lambda data, label: ...`. */
  transform?: (image: HostArray, label: number) => ImageSample;
  /** Largest image file read, in bytes. Default 64 MiB (67_108_864). */
  maxFileBytes?: number;
  /** Largest image decoded, width x height from the PNG header, checked before decoding. Default 50_000_000. */
  maxPixels?: number;
  /** Milliseconds one file's read may take before it fails naming the file. Default 30_000. */
  readTimeoutMs?: number;
}

// MXNet lists these; only PNG can be decoded here, and a JPEG says so when it is read.
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

/**
 * Lists `root` like MXNet: `synsets` are the sorted sub-folder names, `items` the [path, label] of
 * each image file, sorted within its folder. Entries named like images that are not regular files
 * (FIFOs, devices, sockets, folders, broken symlinks; symlinks to regular files are fine) are left
 * out with a warning, as MXNet warns about the entries it ignores; a file that turns into one after
 * the listing is refused when read. Subclass it to return other samples:
 *
 *   class Pairs extends ImageFolderDataset<[HostArray, HostArray, number]> {
 *     override async get(i: number) { const [a] = await this.getImage(j); ... return [a, b, label]; }
 *   }
 *
 * The type parameter is the item type of the subclass; `getImage(j)` (same as the base `get`,
 * also reachable as `super.get(j)`) is typed as the folder's own [image, label].
 */
export class ImageFolderDataset<T = ImageSample> extends Dataset<T> {
  readonly root: string;
  readonly flag: ImageFlag;
  /** maxFileBytes, maxPixels and readTimeoutMs, with the defaults filled in. */
  readonly limits: Readonly<Required<ImageLimits>>;
  readonly synsets: string[] = [];
  readonly items: [string, number][] = [];
  private readonly sampleTransform: ImageFolderOptions['transform'];

  constructor(root: string, options: ImageFolderOptions = {}) {
    super();
    checkOptions('ImageFolderDataset', options, ['flag', 'transform', 'maxFileBytes', 'maxPixels', 'readTimeoutMs']);
    this.root = root;
    this.flag = options.flag ?? 1;
    if (this.flag !== 0 && this.flag !== 1) throw new DataError(`ImageFolderDataset flag must be 0 or 1, got ${String(this.flag)}`);
    this.limits = resolveImageLimits(options, 'ImageFolderDataset');
    this.sampleTransform = options.transform;
    this.listImages();
  }

  get length(): number {
    return this.items.length;
  }

  /** The folder's own sample i, whatever `get` a subclass defines. */
  async getImage(i: number): Promise<ImageSample> {
    if (!Number.isInteger(i) || i < 0 || i >= this.items.length) {
      throw new RangeError(`webgluon: index ${i} is out of range for the ${this.items.length} images of ImageFolderDataset ${this.root}`);
    }
    const [path, label] = this.items[i];
    const image = await decodeImageFile(path, this.flag, this.limits);
    return this.sampleTransform ? this.sampleTransform(image, label) : [image, label];
  }

  // The cast is exact for ImageFolderDataset itself (T = ImageSample); subclasses that change T
  // override get, and whoever calls super.get gets the folder's [image, label] at run time.
  get(i: number): T | Promise<T> {
    return this.getImage(i) as Promise<unknown> as Promise<T>;
  }

  /** The image file of sample `i`, unless a subclass's `get` makes samples of something else. */
  override source(i: number): string | null {
    return this.get === ImageFolderDataset.prototype.get ? this.items[i]?.[0] ?? null : null;
  }

  private listImages(): void {
    if (!existsSync(this.root)) throw new DataError(`ImageFolderDataset root ${this.root} does not exist`);
    if (!statSync(this.root).isDirectory()) throw new DataError(`ImageFolderDataset root ${this.root} is not a folder`);
    const skipped: string[] = [];
    for (const folder of sortedEntries(this.root)) {
      const dir = join(this.root, folder.name);
      if (!followedStat(folder, dir)?.isDirectory()) continue; // MXNet ignores (with a warning) files beside the class folders
      const label = this.synsets.length;
      this.synsets.push(folder.name);
      for (const file of sortedEntries(dir)) {
        if (!IMAGE_EXTENSIONS.has(extname(file.name).toLowerCase())) continue;
        const path = join(dir, file.name);
        const st = followedStat(file, path);
        if (st?.isFile()) this.items.push([path, label]);
        else skipped.push(`${path} (${st ? describeFileType(st) : 'a broken symlink'})`);
      }
    }
    if (skipped.length > 0) {
      const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, ... (${skipped.length - 5} more)` : '');
      process.emitWarning(`webgluon: ImageFolderDataset ${this.root} leaves out ${skipped.length} image name(s) that are not regular files: ${shown}`);
    }
    if (this.synsets.length === 0) {
      throw new DataError(`ImageFolderDataset root ${this.root} has no sub-folders; expected root/<class>/<image>.png`);
    }
    if (this.items.length === 0) {
      throw new Error(
        `webgluon: ImageFolderDataset root ${this.root} has no images (.png, .jpg, .jpeg) in its ${this.synsets.length} sub-folders (${this.synsets.slice(0, 3).join(', ')}${this.synsets.length > 3 ? ', ...' : ''})`,
      );
    }
  }
}

/** A folder's entries in plain code-point order, as Python's sorted() that MXNet uses (not locale order). */
function sortedEntries(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * What an entry is once symlinks are followed, without opening it (opening a FIFO blocks). The
 * listing's own type serves for plain entries; only symlinks cost a stat. Undefined when a symlink
 * leads nowhere (or cannot be followed).
 */
function followedStat(entry: Dirent, path: string): FileTypeInfo | undefined {
  if (!entry.isSymbolicLink()) return entry;
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // a symlink loop, or no permission to follow it
  }
}
