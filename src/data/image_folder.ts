// ImageFolderDataset (gluon.data.vision.ImageFolderDataset): root/<class>/<image> folders as
// [HostArray, label] samples. Files are decoded when read, in the DataLoader's workers when it has some.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { decodeImageFile } from './decode_pool.js';
import { Dataset } from './dataset.js';
import { HostArray } from './host_array.js';
import type { ImageFlag } from './png.js';

/** What ImageFolderDataset itself returns: the decoded image and the index of its folder in `synsets`. */
export type ImageSample = [HostArray, number];

export interface ImageFolderOptions {
  /** 0: HxWx1 grayscale, 1 (default): HxWx3 RGB, as MXNet's imread flag. */
  flag?: ImageFlag;
  /** Applied to each decoded sample, as MXNet's `transform=lambda data, label: ...`. */
  transform?: (image: HostArray, label: number) => ImageSample;
}

// MXNet lists these; only PNG can be decoded here, and a JPEG says so when it is read.
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

/**
 * Lists `root` like MXNet: `synsets` are the sorted sub-folder names, `items` the [path, label] of
 * each image file, sorted within its folder. Subclass it to return other samples:
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
  readonly synsets: string[] = [];
  readonly items: [string, number][] = [];
  private readonly sampleTransform: ImageFolderOptions['transform'];

  constructor(root: string, options: ImageFolderOptions = {}) {
    super();
    this.root = root;
    this.flag = options.flag ?? 1;
    if (this.flag !== 0 && this.flag !== 1) throw new Error(`webgluon: ImageFolderDataset flag must be 0 or 1, got ${String(this.flag)}`);
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
    const image = await decodeImageFile(path, this.flag);
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
    if (!existsSync(this.root)) throw new Error(`webgluon: ImageFolderDataset root ${this.root} does not exist`);
    if (!statSync(this.root).isDirectory()) throw new Error(`webgluon: ImageFolderDataset root ${this.root} is not a folder`);
    // Plain code-point sort, as Python's sorted() that MXNet uses (not locale order).
    const folders = readdirSync(this.root).sort();
    for (const folder of folders) {
      const dir = join(this.root, folder);
      if (!statSync(dir).isDirectory()) continue; // MXNet ignores (with a warning) files beside the class folders
      const label = this.synsets.length;
      this.synsets.push(folder);
      for (const file of readdirSync(dir).sort()) {
        if (IMAGE_EXTENSIONS.has(extname(file).toLowerCase())) this.items.push([join(dir, file), label]);
      }
    }
    if (this.synsets.length === 0) {
      throw new Error(`webgluon: ImageFolderDataset root ${this.root} has no sub-folders; expected root/<class>/<image>.png`);
    }
    if (this.items.length === 0) {
      throw new Error(
        `webgluon: ImageFolderDataset root ${this.root} has no images (.png, .jpg, .jpeg) in its ${this.synsets.length} sub-folders (${this.synsets.slice(0, 3).join(', ')}${this.synsets.length > 3 ? ', ...' : ''})`,
      );
    }
  }
}
