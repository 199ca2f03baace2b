// Dataset, transform/transformFirst, ArrayDataset and ImageFolderDataset (listing, decoding, errors,
// and the Siamese tutorial's subclass that overrides get and calls super.get).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Dataset } from '../src/data/dataset.js';
import { HostArray } from '../src/data/host_array.js';
import { ImageFolderDataset } from '../src/data/image_folder.js';
import { encodePng } from '../src/data/png.js';
import { hashInt, makeTempDir } from './data_fixtures.js';

class Squares extends Dataset<[number, number]> {
  get length(): number {
    return 5;
  }
  async get(i: number): Promise<[number, number]> {
    this.checkIndex(i);
    return [i, i * i];
  }
}

describe('Dataset.transform', () => {
  it('spreads tuple items into separate arguments', () => {
    const ds = new ArrayDataset([1, 2, 3], ['a', 'b', 'c'], [10, 20, 30]);
    const seen: unknown[][] = [];
    const t = ds.transform((x, s, y) => {
      seen.push([x, s, y]);
      return [s.repeat(x), x + y] as [string, number];
    });
    expect(t.get(1)).toEqual(['bb', 22]); // synchronous for a synchronous base
    expect(seen).toEqual([[2, 'b', 20]]);
    expect(t.length).toBe(3);
  });

  it('passes a non-tuple item as the single argument', () => {
    const t = new ArrayDataset([1, 2, 3]).transform((x) => x * 10);
    expect([0, 1, 2].map((i) => t.get(i))).toEqual([10, 20, 30]);
  });

  it('awaits async bases and async transforms', async () => {
    const t = new Squares().transform(async (i, sq) => i + sq);
    expect(await t.get(3)).toBe(12);
    await expect(Promise.resolve(t.get(7))).rejects.toThrow('index 7 is out of range for Squares of length 5');
  });

  it('transformFirst maps the first element only', async () => {
    const t = new Squares().transformFirst((i) => `#${i}`);
    expect(await t.get(4)).toEqual(['#4', 16]);
    const single = new ArrayDataset([2, 3]).transformFirst((x) => x + 1);
    expect(single.get(1)).toBe(4);
  });
});

describe('ArrayDataset', () => {
  const images = HostArray.from(Array.from({ length: 4 * 2 * 2 }, (_, i) => i), { shape: [4, 2, 2] });

  it('zips a HostArray split by rows with a label list', () => {
    const ds = new ArrayDataset(images, [7, 8, 9, 10]);
    expect(ds.length).toBe(4);
    const [image, label] = ds.get(2);
    expect(image.shape).toEqual([2, 2]);
    expect(Array.from(image.data)).toEqual([8, 9, 10, 11]);
    expect(label).toBe(9);
  });

  it('returns the sample itself for one array, 0-d rows for a 1-D HostArray', () => {
    expect(new ArrayDataset([5, 6]).get(1)).toBe(6);
    const row = new ArrayDataset(HostArray.from([4, 5, 6])).get(2);
    expect(row.shape).toEqual([]);
    expect(row.data[0]).toBe(6);
  });

  it('names the lengths when arrays differ and the length when the index is out of range', () => {
    expect(() => new ArrayDataset(images, [1, 2, 3])).toThrow('array 0 has a HostArray of shape (4, 2, 2), array 1 has 3 items');
    const ds = new ArrayDataset([1, 2, 3]);
    expect(() => ds.get(3)).toThrow('index 3 is out of range for ArrayDataset of length 3');
    expect(() => ds.get(-1)).toThrow(RangeError);
  });
});

/** root/<class>/<n>.png with known pixel values: image (label, k) has pixels hashInt(label * 100 + k, i). */
function buildImageFolder(root: string, classes: string[], perClass: number, size = 6): void {
  classes.forEach((name) => {
    mkdirSync(join(root, name), { recursive: true });
    // Written in reverse so the listing's sort is what puts them in order.
    for (let k = perClass - 1; k >= 0; k--) {
      const pixels = Uint8Array.from({ length: size * size }, (_, i) => hashInt(sortedLabel(classes, name) * 100 + k, i, 256));
      writeFileSync(join(root, name, `img${k}.png`), encodePng(new HostArray(pixels, [size, size, 1])));
    }
  });
}

function sortedLabel(classes: string[], name: string): number {
  return [...classes].sort().indexOf(name);
}

describe('ImageFolderDataset', () => {
  const temp = makeTempDir('folder');
  afterAll(temp.remove);
  const root = join(temp.dir, 'root');
  buildImageFolder(root, ['gamma', 'alpha', 'beta'], 3);
  writeFileSync(join(root, 'README.txt'), 'not a class folder');
  writeFileSync(join(root, 'beta', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'beta', 'photo.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));

  it('lists sorted synsets and sorted image files, like MXNet', () => {
    const ds = new ImageFolderDataset(root);
    expect(ds.synsets).toEqual(['alpha', 'beta', 'gamma']);
    expect(ds.items.map(([p, l]) => [p.slice(root.length + 1), l])).toEqual([
      ['alpha/img0.png', 0], ['alpha/img1.png', 0], ['alpha/img2.png', 0],
      ['beta/img0.png', 1], ['beta/img1.png', 1], ['beta/img2.png', 1], ['beta/photo.jpg', 1],
      ['gamma/img0.png', 2], ['gamma/img1.png', 2], ['gamma/img2.png', 2],
    ]);
    expect(ds.length).toBe(10);
  });

  it('decodes images with their label: flag 0 gives HxWx1, flag 1 HxWx3', async () => {
    const [gray, label] = await new ImageFolderDataset(root, { flag: 0 }).get(8);
    expect(label).toBe(2);
    expect(gray.shape).toEqual([6, 6, 1]);
    expect(Array.from(gray.data)).toEqual(Array.from({ length: 36 }, (_, i) => hashInt(2 * 100 + 1, i, 256)));
    const [color] = await new ImageFolderDataset(root).get(8);
    expect(color.shape).toEqual([6, 6, 3]);
    expect(Array.from(color.data.filter((_, i) => i % 3 === 0))).toEqual(Array.from(gray.data));
  });

  it('applies the transform option to (image, label)', async () => {
    const ds = new ImageFolderDataset(root, { flag: 0, transform: (img, label) => [img.astype('float32').div(255), label + 100] });
    const [img, label] = await ds.get(0);
    expect(label).toBe(100);
    expect(img.data[0]).toBeCloseTo(hashInt(0, 0, 256) / 255, 6);
  });

  it('reads a .jpg as an error saying only PNG is supported, with the path', async () => {
    const ds = new ImageFolderDataset(root);
    await expect(ds.get(6)).rejects.toThrow(/beta\/photo\.jpg: only PNG is supported/);
    await expect(ds.get(10)).rejects.toThrow(/index 10 is out of range for the 10 images/);
  });

  it('says when the root is missing, has no sub-folders, or no images', () => {
    expect(() => new ImageFolderDataset(join(temp.dir, 'nope'))).toThrow(`root ${join(temp.dir, 'nope')} does not exist`);
    const empty = join(temp.dir, 'empty');
    mkdirSync(empty);
    expect(() => new ImageFolderDataset(empty)).toThrow(`root ${empty} has no sub-folders`);
    mkdirSync(join(empty, 'cls'));
    writeFileSync(join(empty, 'cls', 'a.txt'), '');
    expect(() => new ImageFolderDataset(empty)).toThrow(`root ${empty} has no images (.png, .jpg, .jpeg) in its 1 sub-folders (cls)`);
  });

  it('supports a subclass that overrides get and length and calls super.get (the Siamese pairs)', async () => {
    const pngRoot = join(temp.dir, 'pngs');
    buildImageFolder(pngRoot, ['a', 'b'], 2);
    class Pairs extends ImageFolderDataset<[HostArray, HostArray, number]> {
      constructor(dir: string) {
        super(dir, { flag: 0 });
      }
      override get length(): number {
        return super.length * 2;
      }
      override async get(i: number): Promise<[HostArray, HostArray, number]> {
        const j = (i + 1) % super.length;
        const [image0] = await super.get(i % super.length);
        const [image1] = await super.get(j);
        return [image0, image1, Number(this.items[i % super.length][1] !== this.items[j][1])];
      }
    }
    const pairs = new Pairs(pngRoot);
    expect(pairs.length).toBe(8);
    const [a, b, different] = await pairs.get(5); // items 1 (a/img1) and 2 (b/img0)
    expect(different).toBe(1);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 36 }, (_, i) => hashInt(1, i, 256)));
    expect(Array.from(b.data)).toEqual(Array.from({ length: 36 }, (_, i) => hashInt(100, i, 256)));
    const chw = pairs.transform((x0, x1, label) => [x0.astype('float32').transpose([2, 0, 1]).div(255), x1, label] as const);
    const [x0] = await chw.get(0);
    expect(x0.shape).toEqual([1, 6, 6]);
  });
});
